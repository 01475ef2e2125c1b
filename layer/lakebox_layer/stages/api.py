"""The ingestion API's function: a producer's request, vouched for by the authorizer, to records on the ingest stream
or a presigned URL for one file. The decisions are :mod:`lakebox_layer.ingest_api`'s; this module does what they
allow, through ports, and answers. No request ever logs the key or the body.

- `POST /datasets/{dataset}/records`: the body's records, each in the stream's envelope, through `PutRecords` as
  `lakebox send` puts them (only failed entries retried, within SEND_DEADLINE_S). 202 with how many were taken and
  each shard's sequence range, which the batcher's raw file keys name (`lakebox trace` finds them). When the stream
  keeps refusing some, 503 with the positions (from 0) of the records not taken, so the producer sends those again
  and only those: the others are on the stream.
- `POST /datasets/{dataset}/files?name=...&size=...`: 200 with a presigned `PUT` URL for
  `input/<dataset>/<producer>/<name>`, valid PRESIGNED_URL_S seconds, for exactly `size` bytes.
- `GET /files/{process_id}`: the status row of one version of a file the producer sent, as `lakebox status` shows
  it; `GET /datasets/{dataset}/files/{name}`: the same for the latest version of a file by its name (which tells
  the producer its process id). Another producer's file is 404, like a file that does not exist.

Every request counts against its producer's REQUESTS_PER_S (429 with `retry-after` past it). A table that does not
answer is 503: the producer sends again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.metadata import FileRecords
from lakebox_layer.adapters.objects import PresignedUploads
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.exceptions import MetadataError, RecordTooLarge
from lakebox_layer.ingest_api import (
    PRESIGNED_URL_S,
    Refusal,
    body_bytes,
    caller,
    file_key,
    file_name,
    file_status,
    header,
    json_response,
    process_id,
    producer_file,
    records_of,
    writable_dataset,
)
from lakebox_layer.producers import REQUESTS_PER_S
from lakebox_layer.settings import Settings, ingest_stream_name
from lakebox_layer.stream_puts import KinesisPutRecords, SendAborted, checked_size, envelopes, send_all

RECORDS_ROUTE = "POST /datasets/{dataset}/records"
FILES_ROUTE = "POST /datasets/{dataset}/files"
STATUS_ROUTE = "GET /files/{process_id}"
NAMED_STATUS_ROUTE = "GET /datasets/{dataset}/files/{name}"
ROUTES = (RECORDS_ROUTE, FILES_ROUTE, STATUS_ROUTE, NAMED_STATUS_ROUTE)
# The stream's retries of a request's failed entries end well within API Gateway's 30 s integration timeout.
SEND_DEADLINE_S = 10.0


@dataclass
class IngestApi:
    """The API's routes over a stream, the raw bucket and a logger."""

    kinesis: KinesisPutRecords
    stream: str
    uploads: ports.UploadUrls
    raw_bucket: str
    statuses: ports.StatusRecords
    rates: ports.RequestCounter
    logger: ports.Logger
    clock: Callable[[], float] = time.time
    # On an emulator, the scheme of its endpoint: an upload URL is then signed for the host the producer reached the
    # API at (the emulator serves S3 there too), not the address the function reaches it at (inside a container,
    # another one). None on AWS, where S3 has its own address.
    emulator_scheme: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings, logger: ports.Logger, clients: AwsClients | None = None) -> IngestApi:
        """The API over the AWS clients the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        statuses = FileRecords(clients.dynamodb, settings.metadata_table, settings.project)
        return cls(cast(KinesisPutRecords, clients.kinesis), ingest_stream_name(settings.project),
                   PresignedUploads(clients.presigning_s3), settings.raw_bucket, statuses,
                   ProducerStore(clients.dynamodb, settings.metadata_table), logger,
                   emulator_scheme=urlsplit(clients.endpoint_url).scheme if clients.endpoint_url else None)

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One request's response: every refusal is its status and reason, never an error of the function."""
        route = str(event.get("routeKey") or "")
        try:
            producer = caller(event)
            self._admit(producer)
            if route == RECORDS_ROUTE:
                return self._records(event, producer)
            if route == FILES_ROUTE:
                return self._file_url(event, producer)
            if route == STATUS_ROUTE:
                pid = process_id(event)
                return json_response(200, file_status(self.statuses.of_process(pid), producer, pid))
            if route == NAMED_STATUS_ROUTE:
                dataset = writable_dataset(event)
                name = file_name(str((event.get("pathParameters") or {}).get("name") or ""), "the path's last part")
                key = producer_file(dataset, producer, name)
                return json_response(200, file_status(self.statuses.of_key(key), producer, key))
            raise Refusal(404, f"no route {route!r}")
        except MetadataError as error:
            self.logger.warning("table unavailable", extra={"route": route, "reason": str(error)})
            return Refusal(503, f"the lake's metadata table did not answer ({error}): try again").response()
        except Refusal as refused:
            # The reason goes to the caller only: a bad body's reason quotes the body, which may hold personal data.
            self.logger.info("refused", extra={"route": route, "status": refused.status})
            return refused.response()

    def _admit(self, producer: str) -> None:
        """Count the request against the producer's REQUESTS_PER_S: 429 past it."""
        second = int(self.clock())
        if self.rates.count_request(producer, second) > REQUESTS_PER_S:
            raise Refusal(429, f"producer {producer} sent more than {REQUESTS_PER_S} requests in one second: "
                               "wait a second and send again", retry_after_s=1)

    def _records(self, event: Mapping[str, Any], producer: str) -> dict[str, Any]:
        dataset = writable_dataset(event)
        records = records_of(body_bytes(event))
        try:
            entries = [checked_size(entry) for entry in envelopes(records, dataset)]
        except RecordTooLarge as too_large:
            raise Refusal(413, str(too_large)) from too_large
        try:
            report = send_all(self.kinesis, self.stream, entries, deadline_s=SEND_DEADLINE_S)
        except SendAborted as aborted:
            self.logger.warning("stream refused", extra={"producer": producer, "dataset": dataset,
                                                         "reason": str(aborted), "taken": aborted.report.sent})
            raise Refusal(503, f"the ingest stream refused the records ({aborted}); "
                               f"{aborted.report.sent} were taken before it did") from aborted
        shards = {shard: {"first": first, "last": last} for shard, (first, last) in sorted(report.shards.items())}
        summary = {"dataset": dataset, "accepted": report.sent, "shards": shards}
        self.logger.info("records sent", extra={"producer": producer, **summary, "failed": len(report.failed)})
        if report.failed:
            return json_response(503, {**summary, "error": "the stream did not take every record: send the "
                                                           "records at `not_taken` (positions from 0) again",
                                       "not_taken": [failed.entry.position for failed in report.failed]})
        return json_response(202, summary)

    def _file_url(self, event: Mapping[str, Any], producer: str) -> dict[str, Any]:
        dataset = writable_dataset(event)
        key, size = file_key(event, dataset, producer)
        host = header(event.get("headers"), "host")
        endpoint = f"{self.emulator_scheme}://{host}" if self.emulator_scheme and host else None
        url = self.uploads.put_url(self.raw_bucket, key, size, PRESIGNED_URL_S, endpoint)
        self.logger.info("upload url", extra={"producer": producer, "dataset": dataset, "key": key, "size": size})
        return json_response(200, {"url": url, "method": "PUT", "key": key, "size": size,
                                   "expires_in": PRESIGNED_URL_S,
                                   "headers": {"Content-Length": str(size)}})
