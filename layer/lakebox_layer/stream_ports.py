"""What the stream batcher needs of the outside world, as protocols (beside :mod:`lakebox_layer.ports`, which the
file stages use): the adapters `adapters/stream_ledger.py` and `adapters/stream_objects.py` are one implementation,
the unit tests' in-memory fakes another."""

from __future__ import annotations

from typing import Protocol

from lakebox_layer.adapters.stream_ledger import LedgerState, PendingPlan


class StreamLedger(Protocol):
    """Each shard's progress: what is written for good, and the plan of the attempt in flight (DynamoDB)."""

    def read(self, stream: str, shard: str) -> LedgerState: ...
    def claim(self, stream: str, shard: str, committed: str | None, plan: PendingPlan) -> None: ...
    def commit(self, stream: str, shard: str, through: str) -> None: ...


class CreateOnceStore(Protocol):
    """Objects written only where their key is free (S3 `If-None-Match: *`): True when written, False when the key
    exists already."""

    def put_once(self, bucket: str, key: str, body: bytes, content_type: str) -> bool: ...
