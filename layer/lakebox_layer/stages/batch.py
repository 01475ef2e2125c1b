"""One SQS batch through a stage with as few round trips as the guarantees allow, and its outcomes counted for the
stage's health.

Each file's side effects come first, one file after another; then the events of every file of the batch go to the
bus together (PutEvents takes ten entries a call, and answers for each entry); then each file whose event was
accepted gets its stage record, written once and last. A file whose side effects fail, or whose event entry is
refused, fails alone: its record is not written and its message returns to the queue, as when it was sent alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.adapters.retries import QueueRetries
from lakebox_layer.circuits import FailureKey
from lakebox_layer.failures import classify
from lakebox_layer.registry import Event, Stage
from lakebox_layer.settings import Settings

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(frozen=True)
class Announcement(Generic[Result]):
    """What one file's stage still owes once its side effects are done: its event (and any notice for people about
    the file), then, once the bus accepted every one of them, `finish` (which writes the stage record and returns the
    stage's result)."""

    event: Event
    detail: dict[str, Any]
    finish: Callable[[], Result]
    notices: tuple[tuple[Event, dict[str, Any]], ...] = ()

    @property
    def entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The bus entries it owes: its event first, then its notices."""
        return [(event.source, event.detail_type, detail)
                for event, detail in ((self.event, self.detail), *self.notices)]


# What a message was about, for its failure's log line: the raw key and process id of each file it names.
Files: TypeAlias = Sequence[tuple[str, str]]


class NamesAFile(Protocol):
    """An event between stages: it names one file."""

    @property
    def key(self) -> str: ...

    @property
    def process_id(self) -> str: ...


def one_file(item: NamesAFile) -> Files:
    """The file an event between stages names."""
    return [(item.key, item.process_id)]


# What the batch gives back per item: its result, None when it needed no event (a duplicate delivery, say), or the
# error that failed it.
Outcome: TypeAlias = Result | BaseException | None


def announce(events: ports.EventPublisher, items: Sequence[Item],
             prepare: Callable[[Item], Announcement[Result] | None],
             key: Callable[[Item], object] = id, size: Callable[[Item], int] | None = None) -> list[Outcome[Result]]:
    """Prepare every item, publish all their events at once, then finish each item whose event was accepted. An
    item whose `key` an earlier item of the batch has (the same file delivered twice) waits for a later round, after
    that item's record, so it finds the record and is a duplicate, as it would be in a batch of its own. With `size`,
    the largest items are prepared first (the one most likely to need the invocation's whole time gets it); the
    outcomes are in the items' order either way."""
    outcomes: list[Outcome[Result]] = [None] * len(items)
    rounds: list[list[int]] = []
    seen: dict[object, int] = {}
    order = sorted(range(len(items)), key=lambda index: -size(items[index])) if size else range(len(items))
    for index in order:
        item = items[index]
        copies = seen[key(item)] = seen.get(key(item), -1) + 1
        if copies == len(rounds):
            rounds.append([])
        rounds[copies].append(index)
    for indices in rounds:
        _announce_round(events, [(index, items[index]) for index in indices], prepare, outcomes)
    return outcomes


def _announce_round(events: ports.EventPublisher, items: list[tuple[int, Item]],
                    prepare: Callable[[Item], Announcement[Result] | None], outcomes: list[Outcome[Result]]) -> None:
    pending: list[tuple[int, Announcement[Result]]] = []
    for index, item in items:
        try:
            prepared = prepare(item)
        except Exception as error:  # fails this item alone
            outcomes[index] = error
            continue
        if prepared is not None:
            pending.append((index, prepared))
    if not pending:
        return
    refused = iter(events.publish_all([entry for _, a in pending for entry in a.entries]))
    for index, announcement in pending:
        refusal = next((r for r in [next(refused) for _ in announcement.entries] if r is not None), None)
        if refusal is not None:
            # A refused notice fails its file too: retried, the file announces both again (the stages after it
            # drop the duplicate event), so the notice is never lost.
            outcomes[index] = refusal
            continue
        try:
            outcomes[index] = announcement.finish()
        except Exception as failure:
            outcomes[index] = failure


def single(outcome: Outcome[Result]) -> Result | None:
    """The one item's result, or its error raised: the single-file form of a stage's batch method."""
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


@dataclass(frozen=True)
class StageHealth:
    """What a stage's function does with each invocation's outcomes besides reporting the failed messages: adds
    them to the stage's health counters (successes, failed attempts by failure class and dependency, see
    :mod:`lakebox_layer.failures`) for the healer, and sets each failed message's next try after its backoff
    (`retries`; see :mod:`lakebox_layer.adapters.retries`)."""

    counts: ports.HealthCounts
    stage: str
    retries: ports.Retries | None = None

    @classmethod
    def from_settings(cls, settings: Settings, stage: Stage, clients: AwsClients | None = None) -> StageHealth:
        """The stage's counters in the metadata table the settings name, and its queue's retries."""
        clients = clients or AwsClients(settings)
        return cls(HealthStore(clients.dynamodb, settings.metadata_table), stage.value,
                   QueueRetries(clients.client("sqs")))

    def add(self, outcomes: Sequence[tuple[Files, BaseException | None]], logger: Logger) -> None:
        """Count one invocation's outcomes (each with the files it names) in one write. A failed write is logged and
        costs the batch nothing: health is an observation, never a reason to retry files."""
        failures: dict[FailureKey, int] = {}
        failed_files: dict[FailureKey, set[str]] = {}
        for named, error in outcomes:
            if error is None:
                continue
            failure = classify(error)
            key = (failure.kind.value, failure.dependency)
            failures[key] = failures.get(key, 0) + 1
            failed_files.setdefault(key, set()).update(process_id for _, process_id in named)
        successes = sum(error is None for _, error in outcomes)
        try:
            self.counts.count(self.stage, time.time(), successes, failures, failed_files)
        except Exception as error:  # the batch's outcome stands whatever happens here
            logger.warning("health counters not written", exc_info=error)

    def stream_batch(self, event: dict[str, Any], run: Callable[[dict[str, Any]], Result], logger: Logger) -> Result:
        """Run one stream batch and count its outcome (its error raised again: the stream retries the batch). A
        stream batch names no file yet: the batch (its shard and first record) stands for one."""
        records = event.get("Records") or [{}]
        named = [("", str(records[0].get("eventID") or "stream batch"))]
        try:
            outcome = run(event)
        except Exception as error:
            self.add([(named, error)], logger)
            raise
        self.add([(named, None)], logger)
        return outcome

    def retry_later(self, records: Sequence[dict[str, Any]], logger: Logger) -> None:
        """The failed messages tried again after their backoff; where that fails, after the queue's visibility
        timeout (logged)."""
        if self.retries is None or not records:
            return
        try:
            self.retries.later([(r["eventSourceARN"], r["receiptHandle"],
                                 int(r.get("attributes", {}).get("ApproximateReceiveCount", 1))) for r in records])
        except Exception as error:  # the message comes back all the same, later
            logger.warning("failed messages' next try not brought forward", exc_info=error)


def sqs_batch_response(event: dict[str, Any], parse: Callable[[str], Item],
                       run: Callable[[list[Item]], Sequence[BaseException | object | None]],
                       logger: Logger, files: Callable[[Item], Files],
                       health: StageHealth | None = None) -> PartialItemFailureResponse:
    """A stage queue's batch: each message parsed, all of them run as one batch, and exactly the messages that
    failed (unreadable, or failed by the stage) reported, each logged with its error and the files it names (`files`),
    so only they come back, after their backoff; the outcomes counted in `health`."""
    records: list[dict[str, Any]] = event.get("Records", [])
    failed: set[str] = set()
    parsed: list[tuple[str, Item]] = []
    counted: list[tuple[Files, BaseException | None]] = []
    for record in records:
        try:
            parsed.append((record["messageId"], parse(record["body"])))
        except Exception as error:
            _log_failure(logger, record.get("messageId"), error, [])
            failed.add(record.get("messageId", ""))
            counted.append(([], error))
    outcomes = run([item for _, item in parsed]) if parsed else []
    for (message_id, item), outcome in zip(parsed, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            _log_failure(logger, message_id, outcome, files(item))
            failed.add(message_id)
        counted.append((files(item), outcome if isinstance(outcome, BaseException) else None))
    if health is not None and counted:
        health.add(counted, logger)
        health.retry_later([r for r in records if r.get("messageId") in failed], logger)
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["messageId"] in failed]}


def _log_failure(logger: Logger, message_id: str | None, error: BaseException, files: Files) -> None:
    # The line names its file, as every stage's lines do, and has the file's process id as correlation id, so
    # `lakebox trace` shows it; a message that names several files (an S3 notification) names them all.
    logger.set_correlation_id(files[0][1] if len(files) == 1 else None)
    key = ", ".join(key for key, _ in files) or None
    logger.error("processing failed; the message returns to its queue", exc_info=error,
                 extra={"message_id": message_id, "key": key})
