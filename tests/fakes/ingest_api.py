"""What the ingestion API's function is built on, faked: a stream that takes or refuses records, a presigner, no
file records, and a logger whose lines a test reads."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError


@dataclass
class FakeStream:
    """Takes every entry but those whose record's id is in `refuse` (each refused `times` times)."""

    refuse: set[int] = field(default_factory=set)
    times: int = 1
    taken: list[dict[str, Any]] = field(default_factory=list)
    refusals: dict[int, int] = field(default_factory=dict)
    fail_call: ClientError | None = None

    def put_records(self, *, StreamName: str, Records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
        if self.fail_call is not None:
            raise self.fail_call
        results: list[dict[str, Any]] = []
        failed = 0
        for entry in Records:
            envelope = json.loads(entry["Data"])
            record_id = envelope["record"].get("id")
            if record_id in self.refuse and self.refusals.get(record_id, 0) < self.times:
                self.refusals[record_id] = self.refusals.get(record_id, 0) + 1
                results.append({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow"})
                failed += 1
                continue
            self.taken.append(envelope)
            results.append({"ShardId": "shardId-000000000000", "SequenceNumber": str(1000 + len(self.taken))})
        return {"FailedRecordCount": failed, "Records": results}


@dataclass
class FakeUploads:
    asked: list[tuple[str, str, int, int]] = field(default_factory=list)
    endpoints: list[str | None] = field(default_factory=list)

    def put_url(self, bucket: str, key: str, size: int, expires_s: int, endpoint_url: str | None = None) -> str:
        self.asked.append((bucket, key, size, expires_s))
        self.endpoints.append(endpoint_url)
        return f"{endpoint_url or 'http://127.0.0.1:4566'}/{bucket}/{key}?X-Amz-Signature=abc"


class NoFiles:
    def of_process(self, process_id: str) -> list[dict[str, Any]]:
        return []

    def of_key(self, raw_key: str) -> list[dict[str, Any]]:
        return []


@dataclass
class Lines:
    lines: list[str] = field(default_factory=list)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.lines.append(json.dumps([msg, kwargs], default=str))

    warning = info


@dataclass
class FakeRates:
    """Counts requests per producer and second, as the table does."""

    counts: dict[tuple[str, int], int] = field(default_factory=dict)

    def count_request(self, name: str, second: int) -> int:
        self.counts[name, second] = self.counts.get((name, second), 0) + 1
        return self.counts[name, second]
