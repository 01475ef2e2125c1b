"""The stream batcher: a batch of one shard's Kinesis records in, JSON Lines raw objects (and a quarantine object of
poison records) out, each record in exactly one object however often the batch is delivered.

Per invocation, with the shard's ledger (:mod:`lakebox_layer.adapters.stream_ledger`):

1. Read the ledger: `committed` (records up to it are written) and `pending` (the plan of an attempt that failed).
2. A pending plan is finished first: the batch is planned again up to the pending plan's last record, with the
   bounds it was cut with, which gives that attempt's objects byte for byte; if it does not (the batch lacks some of
   those records), nothing is written and :class:`StreamPlanMismatch` is raised. Its objects are written and it is
   committed.
3. The rest of the batch is planned, claimed as pending (a conditional write: no plan pending, `committed` as read),
   its objects written, and committed.

Where the mapping ignores its batching window (MiniStack invokes as soon as records arrive), the batcher applies it
itself with `hold_s`: a batch below the bounds whose oldest record is younger than `hold_s`, and whose newest is
younger than IDLE_FLUSH_S (the shard is still being written), raises :class:`BatchHeld` before anything is read or
written, and comes back larger. On AWS `hold_s` is 0 and the mapping waits.

Every object is written create-once, so an object an earlier attempt wrote is left as it is (a versioned bucket would
otherwise notify, and process, it again). Poison records never raise; any failure of S3 or DynamoDB does, so the
whole batch comes back and the steps above finish what the failed attempt began.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.adapters.stream_ledger import PendingPlan, StreamLedger, ledger_id, plan_digest
from lakebox_layer.exceptions import BatchHeld, StreamPlanMismatch
from lakebox_layer.settings import Settings
from lakebox_layer.stream_batches import JSON_LINES_CONTENT_TYPE, BatchPlan, Bounds, StreamObject, plan_batch

# A shard whose newest record is older than this has stopped being written, for now: its batch is not held. A quarter
# second: a burst's records are milliseconds apart, and MiniStack starts the batcher's worker again after each held
# batch (about half a second), so a burst's batch looked at by a new worker counts as idle and a burst is held once.
IDLE_FLUSH_S = 0.25


def batch_source(records: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The stream name and shard id of a batch, from its first record (a batch holds one shard's records)."""
    first = records[0]
    try:
        arn, event_id = str(first["eventSourceARN"]), str(first["eventID"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"not a Kinesis event record: {error!r}") from error
    resource = arn.split(":", 5)[-1]
    stream, shard = resource.removeprefix("stream/").split("/")[0], event_id.rpartition(":")[0]
    if not resource.startswith("stream/") or not stream or not shard:
        raise ValueError(f"not a Kinesis event record: eventSourceARN {arn!r}, eventID {event_id!r}")
    return stream, shard


@dataclass
class StreamOutcome:
    """What one invocation did for its shard."""

    stream: str
    shard: str
    written: list[str] = field(default_factory=list)  # keys created now
    found: list[str] = field(default_factory=list)  # keys an earlier attempt had created
    records: int = 0  # records in the raw objects of the plans carried out
    poison: int = 0
    committed: str | None = None  # the shard's ledger after this invocation
    resumed: bool = False  # whether a failed attempt's pending plan was finished


class StreamBatcher:
    """The batcher stage: Lambda events from Kinesis in, raw and quarantine objects out, the ledger kept."""

    def __init__(self, settings: Settings, *, ledger: ports.StreamLedger,
                 objects: ports.CreateOnceStore, logger: Logger, bounds: Bounds | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.raw_bucket = settings.raw_bucket
        self.quarantine_bucket = settings.quarantine_bucket
        self.ledger = ledger
        self.objects = objects
        self.logger = logger
        self.bounds = bounds or Bounds(settings.stream_max_records, settings.stream_max_bytes)
        self.hold_s = settings.stream_hold_s
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> StreamBatcher:
        """The stage on the AWS clients the settings name, with their bounds; a function builds one per cold
        start."""
        clients = clients or AwsClients(settings)
        return cls(settings, ledger=StreamLedger(clients.dynamodb, settings.metadata_table),
                   objects=ObjectStore(clients.s3), logger=logger)

    def hold(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Raise BatchHeld when the batch should wait for more records (see the module's docstring)."""
        if self.hold_s <= 0 or len(records) >= self.bounds.max_records:
            return
        arrivals = [float(r["kinesis"]["approximateArrivalTimestamp"]) for r in records]
        size = sum(len(str(r["kinesis"].get("data") or "")) * 3 // 4 for r in records)
        now = self.clock()
        oldest, newest = now - min(arrivals), now - max(arrivals)
        if size < self.bounds.max_bytes and oldest < self.hold_s and newest < IDLE_FLUSH_S:
            self.logger.info("stream batch held for more records", extra={
                "records": len(records), "oldest_s": round(oldest, 3), "window_s": self.hold_s})
            raise BatchHeld(f"{len(records)} records, the oldest {oldest:.1f} s old: held for up to "
                            f"{self.hold_s} s while the shard is still being written")

    def batch(self, event: Mapping[str, Any]) -> StreamOutcome:
        """Write one delivered batch (a Lambda event from Kinesis) as raw objects, finishing first what a failed
        delivery of it began. Raises on any S3 or DynamoDB failure, never for a bad record."""
        records: Sequence[Mapping[str, Any]] = event.get("Records") or []
        if not records:
            return StreamOutcome("", "")
        stream, shard = batch_source(records)
        self.logger.set_correlation_id(ledger_id(stream, shard))
        self.hold(records)
        state = self.ledger.read(stream, shard)
        outcome = StreamOutcome(stream, shard, committed=state.committed)
        if state.pending is not None:
            plan = self._replan(records, state.committed, state.pending)
            self._write(plan, outcome)
            self.ledger.commit(stream, shard, state.pending.through)
            outcome.committed, outcome.resumed = state.pending.through, True
        plan = plan_batch(records, self.bounds, committed_through=outcome.committed)
        if plan.through is None:
            if not outcome.resumed:
                self.logger.info("stream batch already written", extra={"committed": outcome.committed})
            return outcome
        self.ledger.claim(stream, shard, outcome.committed, PendingPlan.of(plan, self.bounds))
        self._write(plan, outcome)
        self.ledger.commit(stream, shard, plan.through)
        outcome.committed = plan.through
        return outcome

    def _replan(self, records: Sequence[Mapping[str, Any]], committed: str | None,
                pending: PendingPlan) -> BatchPlan:
        """The pending plan again, from the redelivered records; StreamPlanMismatch unless it is the same."""
        plan = plan_batch(records, pending.bounds, committed_through=committed, up_to=pending.through)
        again = (plan.through, len(plan.objects), plan.records + len(plan.poison), plan_digest(plan))
        if again != (pending.through, pending.objects, pending.records, pending.digest):
            raise StreamPlanMismatch(
                f"the batch does not give the pending plan again: pending through {pending.through} "
                f"({pending.records} records, {pending.objects} objects), planned through {plan.through} "
                f"({again[2]} records, {again[1]} objects); committed {committed}")
        return plan

    def _write(self, plan: BatchPlan, outcome: StreamOutcome) -> None:
        """Every object of a plan, create-once: raw objects in order, then the quarantine object."""
        for stored in plan.objects:
            self._put(self.raw_bucket, stored, outcome)
            outcome.records += stored.count
        if plan.quarantine is not None:
            written = self._put(self.quarantine_bucket, plan.quarantine, outcome)
            for poison in plan.poison:
                self.logger.warning("poison record set aside", extra={
                    "reason": poison.reason, "sequence_number": poison.sequence_number,
                    "partition_key": poison.partition_key, "key": plan.quarantine.key, "written": written})
            outcome.poison += len(plan.poison)

    def _put(self, bucket: str, stored: StreamObject, outcome: StreamOutcome) -> bool:
        written = self.objects.put_once(bucket, stored.key, stored.body, JSON_LINES_CONTENT_TYPE)
        (outcome.written if written else outcome.found).append(stored.key)
        self.logger.info("stream object written" if written else "stream object already written", extra={
            "bucket": bucket, "key": stored.key, "records": stored.count, "dataset": stored.dataset,
            "first_sequence": stored.first_sequence, "last_sequence": stored.last_sequence})
        return written
