"""The demo's ingestion API part: a producer outside the lake gets a key, sends a few records over HTTP as a partner
system would, and the demo shows where they landed. Skipped, with one line saying why, where the endpoint has no
HTTP APIs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lakebox.lake.target import Target
from lakebox.send.entries import Sent
from lakebox.send.landing import Landed, wait_for_landing
from lakebox_infra.provision.ingest_api import find_url
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.producers import new_producer
from lakebox_layer.records import FileStatus
from lakebox_layer.stream_puts import SendReport

API_PRODUCER = "demo-partner"
API_DATASET = "webhook_events"
API_RECORDS = [{"event_id": n, "kind": kind, "plan": plan}
               for n, (kind, plan) in enumerate([("signup", "free"), ("upgrade", "pro"), ("signup", "pro")], 1)]
REQUEST_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ApiDemo:
    """What the API part did: where it sent, what the API answered, and where the records landed."""

    url: str
    status: int
    answer: dict[str, Any]
    landed: Landed | None

    @property
    def unexpected(self) -> list[str]:
        if self.status != 202 or self.landed is None:
            return [f"the ingestion API answered {self.status}: {self.answer.get('error', self.answer)}"]
        rows = [row for _, row in self.landed.files]
        problems = [f"{row.key} is {row.status.value}" for row in rows if row.status is not FileStatus.PROCESSED]
        if sum(row.records_total or 0 for row in rows) != len(API_RECORDS):
            problems.append(f"{sum(row.records_total or 0 for row in rows)} records landed, sent {len(API_RECORDS)}")
        return problems

    def lines(self) -> list[str]:
        shown = f"$ curl -X POST {self.url}/datasets/{API_DATASET}/records -H 'Authorization: Bearer lbk_...' " \
                f"-d '{json.dumps(API_RECORDS[0])} ...'"
        said = f"{self.status} {json.dumps(self.answer, separators=(',', ':'))}"
        return [shown, said]


def api_demo(target: Target, deadline_s: float) -> ApiDemo | str:
    """Add the demo's producer (again, with a new key, when a run before added it), send its records through the
    API and wait for the raw files they became; or why the demo cannot (no ingestion API here)."""
    url = find_url(target.clients.client("apigatewayv2"), target.names, target.endpoint)
    if url is None:
        return f"no ingestion API on {target.where}: the demo sends nothing through it"
    store = ProducerStore(target.clients.dynamodb, target.settings.metadata_table)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    known = store.get(API_PRODUCER)
    if known is not None and not known.revoked:
        store.revoke(API_PRODUCER, now)  # its key was shown once, by the run that added it
    producer, key = new_producer(API_PRODUCER, [API_DATASET], now)
    store.add(producer)
    started = datetime.now(UTC)
    body = "\n".join(json.dumps(record) for record in API_RECORDS).encode()
    status, answer = _post(f"{url}/datasets/{API_DATASET}/records", key, body)
    if status != 202:
        return ApiDemo(url, status, answer, None)
    shards = {str(shard): (span["first"], span["last"]) for shard, span in answer["shards"].items()}
    report = SendReport(target.names.ingest_stream, int(answer["accepted"]), [], shards)
    return ApiDemo(url, status, answer, wait_for_landing(target, Sent(API_DATASET, report, started),
                                                         deadline_s=deadline_s))


def _post(url: str, key: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """The API's status and JSON answer; status 0 with the reason when it could not be reached. The URL is the
    API's, http(s) as `find_url` builds it."""
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310
                                     headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:  # noqa: S310
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), json.loads(error.read() or b"{}")
    except (urllib.error.URLError, TimeoutError) as error:
        return 0, {"error": f"not reached: {getattr(error, 'reason', error)}"}
