"""DynamoDB: the stream batcher's ledger, one item per shard in the metadata table.

The item (`ProcessId = stream#<stream>#<shard>`, `Timestamp = ledger`, no `Pipeline`, so the status index never
sees it) holds `committed`, the last sequence number of the shard whose records are all written, and `pending`, the
plan of the attempt in flight. A retried batch finishes the pending plan before it plans anything new, so records are
never cut into objects twice in two different ways (see docs in :mod:`lakebox_layer.stages.batcher`).

Sequence numbers are decimal strings here: they exceed 64 bits (AWS's have 56 digits), and DynamoDB numbers keep 38.
They are compared as integers in Python, never as text, and the conditions below only test them for equality.

`pending` holds the plan's digest (its keys, their bodies' SHA-256 and counts), not its key list: a batch of 10,000
records with as many datasets would be 10,000 objects, past DynamoDB's 400 KB item limit, while the digest is a
fixed size and checks the same thing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import LedgerConflict, MetadataError
from lakebox_layer.stream_batches import BatchPlan, Bounds

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEDGER_SORT_KEY = "ledger"
# Every ledger item's `ProcessId` starts so: the batcher's role may touch these items and no others.
LEDGER_PREFIX = "stream#"
_NAMES = {"#committed": "committed", "#pending": "pending"}


def ledger_id(stream: str, shard: str) -> str:
    """The ledger item's `ProcessId` for one shard of a stream."""
    return f"{LEDGER_PREFIX}{stream}#{shard}"


def plan_digest(plan: BatchPlan) -> str:
    """One SHA-256 over every object of a plan, quarantine object included: its key, its body's digest and its
    record count, in write order. Two plans with the same digest write the same objects with the same bytes."""
    digest = hashlib.sha256()
    written = [*plan.objects, *([plan.quarantine] if plan.quarantine else [])]
    for stored in written:
        digest.update(f"{stored.key}\t{stored.sha256}\t{stored.count}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class PendingPlan:
    """An attempt's plan as the ledger keeps it: where it ends, the bounds it was cut with, what it writes."""

    through: str
    bounds: Bounds
    objects: int  # raw objects, the quarantine object not counted
    records: int  # records planned: in raw objects and poison
    digest: str

    @classmethod
    def of(cls, plan: BatchPlan, bounds: Bounds) -> PendingPlan:
        """The pending form of a plan that covers records (`plan.through` set)."""
        if plan.through is None:
            raise ValueError("a plan that covers no record is never pending")
        return cls(plan.through, bounds, len(plan.objects), plan.records + len(plan.poison), plan_digest(plan))

    def to_attribute(self) -> dict[str, Any]:
        return {"M": {
            "through": {"S": self.through},
            "max_records": {"N": str(self.bounds.max_records)},
            "max_bytes": {"N": str(self.bounds.max_bytes)},
            "objects": {"N": str(self.objects)},
            "records": {"N": str(self.records)},
            "digest": {"S": self.digest},
        }}

    @classmethod
    def from_attribute(cls, attribute: dict[str, Any]) -> PendingPlan:
        value = attribute["M"]
        return cls(
            through=value["through"]["S"],
            bounds=Bounds(int(value["max_records"]["N"]), int(value["max_bytes"]["N"])),
            objects=int(value["objects"]["N"]),
            records=int(value["records"]["N"]),
            digest=value["digest"]["S"],
        )


@dataclass(frozen=True)
class LedgerState:
    """A shard's ledger as read: the last sequence number fully written (None before the first commit) and the plan
    of an attempt that claimed and has not committed (None when there is none)."""

    committed: str | None
    pending: PendingPlan | None


class StreamLedger:
    """Reads and conditional writes of the per-shard ledger items."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def _key(self, stream: str, shard: str) -> dict[str, Any]:
        return {"ProcessId": {"S": ledger_id(stream, shard)}, "Timestamp": {"S": LEDGER_SORT_KEY}}

    def read(self, stream: str, shard: str) -> LedgerState:
        """The shard's ledger (a consistent read); an empty state for a shard never written."""
        try:
            response = self._db.get_item(TableName=self.table, Key=self._key(stream, shard), ConsistentRead=True,
                                         ProjectionExpression="#committed, #pending", ExpressionAttributeNames=_NAMES)
        except ClientError as error:
            raise MetadataError(f"reading the ledger of {stream}/{shard}: {error_code(error)}") from error
        item: dict[str, Any] = dict(response.get("Item") or {})
        committed = item["committed"]["S"] if "committed" in item else None
        pending = PendingPlan.from_attribute(item["pending"]) if "pending" in item else None
        return LedgerState(committed, pending)

    def claim(self, stream: str, shard: str, committed: str | None, plan: PendingPlan) -> None:
        """Record `plan` as the shard's pending plan, if the ledger is still as read: no plan pending and `committed`
        unchanged. Otherwise :class:`LedgerConflict`: another invocation got there first."""
        values: dict[str, Any] = {":pending": plan.to_attribute()}
        if committed is None:
            condition = "attribute_not_exists(#pending) AND attribute_not_exists(#committed)"
        else:
            condition = "attribute_not_exists(#pending) AND #committed = :committed"
            values[":committed"] = {"S": committed}
        self._update(stream, shard, "claiming", UpdateExpression="SET #pending = :pending",
                     ConditionExpression=condition, ExpressionAttributeNames=_NAMES,
                     ExpressionAttributeValues=values)

    def commit(self, stream: str, shard: str, through: str) -> None:
        """Mark the shard written up to `through` and clear its pending plan, if that plan is the one ending at
        `through`; otherwise :class:`LedgerConflict`."""
        self._update(stream, shard, "committing", UpdateExpression="SET #committed = :through REMOVE #pending",
                     ConditionExpression="#pending.#through = :through",
                     ExpressionAttributeNames={**_NAMES, "#through": "through"},
                     ExpressionAttributeValues={":through": {"S": through}})

    def _update(self, stream: str, shard: str, what: str, **request: Any) -> None:
        try:
            self._db.update_item(TableName=self.table, Key=self._key(stream, shard), **request)
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise LedgerConflict(f"{what} the ledger of {stream}/{shard}: it changed since it was read") from error
            raise MetadataError(f"{what} the ledger of {stream}/{shard}: {error_code(error)}") from error
