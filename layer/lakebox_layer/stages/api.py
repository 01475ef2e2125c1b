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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from lakebox_layer.exceptions import RecordTooLarge
from lakebox_layer.ingest_api import (
    PRESIGNED_URL_S,
    Refusal,
    authorizer_answer,
    bearer_key,
    body_bytes,
    caller,
    file_key,
    json_response,
    records_of,
    writable_dataset,
)
from lakebox_layer.producers import Producer
from lakebox_layer.stream_puts import KinesisPutRecords, SendAborted, checked_size, envelopes, send_all

RECORDS_ROUTE = "POST /datasets/{dataset}/records"
FILES_ROUTE = "POST /datasets/{dataset}/files"
# The stream's retries of a request's failed entries end well within API Gateway's 30 s integration timeout.
SEND_DEADLINE_S = 10.0


class ProducerLookup(Protocol):
    def by_key(self, key: str) -> Producer | None: ...


class UploadUrls(Protocol):
    def put_url(self, bucket: str, key: str, size: int, expires_s: int) -> str: ...


class Logger(Protocol):
    def info(self, msg: object, *args: object, **kwargs: Any) -> None: ...

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None: ...


@dataclass
class Authorizer:
    """The API's authorizer: the producer a bearer key belongs to, as the context the API's function reads (see
    :func:`authorizer_answer`). The key is never logged; the producer's name is."""

    producers: ProducerLookup
    logger: Logger

    def answer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        key = bearer_key(event.get("headers"))
        producer = self.producers.by_key(key) if key else None
        answer = authorizer_answer(producer)
        self.logger.info("authorized", extra={"producer": producer.name if producer else None,
                                              "refused": answer["context"].get("refused")})
        return answer


@dataclass
class IngestApi:
    """The API's routes over a stream, the raw bucket and a logger."""

    kinesis: KinesisPutRecords
    stream: str
    uploads: UploadUrls
    raw_bucket: str
    logger: Logger

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """One request's response: every refusal is its status and reason, never an error of the function."""
        route = str(event.get("routeKey") or "")
        try:
            producer = caller(event)
            if route == RECORDS_ROUTE:
                return self._records(event, producer)
            if route == FILES_ROUTE:
                return self._file_url(event, producer)
            raise Refusal(404, f"no route {route!r}")
        except Refusal as refused:
            # The reason goes to the caller only: a bad body's reason quotes the body, which may hold personal data.
            self.logger.info("refused", extra={"route": route, "status": refused.status})
            return refused.response()

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
        url = self.uploads.put_url(self.raw_bucket, key, size, PRESIGNED_URL_S)
        self.logger.info("upload url", extra={"producer": producer, "dataset": dataset, "key": key, "size": size})
        return json_response(200, {"url": url, "method": "PUT", "key": key, "size": size,
                                   "expires_in": PRESIGNED_URL_S,
                                   "headers": {"Content-Length": str(size)}})
