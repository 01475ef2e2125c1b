"""In-memory stand-ins for the stream batcher's ledger and create-once store, each able to fail once at a chosen
step, as a function that dies there would (the batch then comes back)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lakebox_layer.adapters.stream_ledger import LedgerState, PendingPlan
from lakebox_layer.exceptions import LedgerConflict


class Crash(Exception):
    """The function dies here (a timeout, a killed worker): nothing after this step happens."""


@dataclass
class FakeLedger:
    """Ledger items by (stream, shard), with the adapter's conditions; `crash_on` fails one call of that name
    ("claim" after it succeeded, "commit" before it happens)."""

    states: dict[tuple[str, str], LedgerState] = field(default_factory=dict)
    crash_on: str | None = None
    calls: list[str] = field(default_factory=list)

    def read(self, stream: str, shard: str) -> LedgerState:
        self.calls.append("read")
        return self.state(stream, shard)

    def state(self, stream: str, shard: str) -> LedgerState:
        """The item as it stands, without counting a read."""
        return self.states.get((stream, shard), LedgerState(None, None))

    def claim(self, stream: str, shard: str, committed: str | None, plan: PendingPlan) -> None:
        self.calls.append("claim")
        state = self.state(stream, shard)
        if state.pending is not None or state.committed != committed:
            raise LedgerConflict(f"claiming the ledger of {stream}/{shard}")
        self.states[(stream, shard)] = LedgerState(committed, plan)
        self._maybe_crash("claim")

    def commit(self, stream: str, shard: str, through: str) -> None:
        self._maybe_crash("commit")
        self.calls.append("commit")
        state = self.state(stream, shard)
        if state.pending is None or state.pending.through != through:
            raise LedgerConflict(f"committing the ledger of {stream}/{shard}")
        self.states[(stream, shard)] = LedgerState(through, None)

    def _maybe_crash(self, step: str) -> None:
        if self.crash_on == step:
            self.crash_on = None
            raise Crash(step)


@dataclass
class FakeCreateOnceStore:
    """Objects by (bucket, key); `crash_after` successful writes, the next write attempt dies (once)."""

    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    writes: Counter[tuple[str, str]] = field(default_factory=Counter)
    attempts: int = 0
    crash_after: int | None = None

    def put_once(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        assert content_type == "application/x-ndjson"
        if self.crash_after is not None and sum(self.writes.values()) >= self.crash_after:
            self.crash_after = None
            raise Crash(f"before writing {key}")
        self.attempts += 1
        if (bucket, key) in self.objects:
            return False
        self.objects[(bucket, key)] = body
        self.writes[(bucket, key)] += 1
        return True

    def lines(self, bucket: str) -> list[dict[str, Any]]:
        """Every line of every object of a bucket, in key order."""
        return [json.loads(line) for (b, _), body in sorted(self.objects.items()) if b == bucket
                for line in body.decode().splitlines()]


STREAM = "lakebox-ingest"
SHARD = "shardId-000000000001"
# 2026-11-28 10:30:00 UTC: every record of these batches arrives within one hour.
ARRIVAL = 1_795_861_800.0
# AWS sequence numbers have 56 digits, past 64 bits.
FIRST_SEQUENCE = 49_590_338_271_490_256_608_559_692_538_361_571_095_921_575_989_136_588_898


def kinesis_record(data: bytes | dict[str, Any], sequence: int, partition_key: str = "sensors") -> dict[str, Any]:
    """One record of a Lambda event from Kinesis, as Lambda (and MiniStack's poller) delivers it."""
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": partition_key, "sequenceNumber": str(sequence),
                    "data": base64.b64encode(raw).decode("ascii"), "approximateArrivalTimestamp": ARRIVAL},
        "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": f"{SHARD}:{sequence}",
        "eventName": "aws:kinesis:record", "awsRegion": "us-east-1",
        "eventSourceARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}",
    }


def readings(count: int, *, poison_at: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    """`count` sensor readings in sequence order, enveloped; those at `poison_at` are not JSON."""
    return [kinesis_record(b"{not json" if n in poison_at else
                           {"dataset": "sensors", "record": {"id": f"r-{n}", "celsius": 20 + n % 7}},
                           FIRST_SEQUENCE + n) for n in range(count)]


def event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}
