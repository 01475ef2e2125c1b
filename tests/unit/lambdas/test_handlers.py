"""Every stage's handler, walked from the registry: each builds its stage at import (cold start) and hands it the
batch; a stage reading a queue reports exactly the message that failed (so only it comes back) and logs its failure
naming the file's key; the stream batcher, whose mapping takes no partial answers, sets a poison record aside and
goes on, and fails the whole batch when a write fails (so the batch comes back whole).

Each handler module is imported fresh from `lambdas/<stage>/handler.py` with the function's environment, then its
stage is swapped for a stub that fails on one message, or built on in-memory fakes; no network is involved (sockets
are blocked).
"""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.exceptions import CurationRejected, IngestionFailed, PublishError
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.records import DataReceived, DataValidated, QualityTotals
from lakebox_layer.registry import MAPPED_STAGES, Stage
from lakebox_layer.stages.batch import StageHealth
from lakebox_layer.stages.batcher import StreamBatcher
from lakebox_layer.stages.curation import Curated, Curation
from lakebox_layer.stages.ingestion import Ingestion
from lakebox_layer.stages.quality import Quality
from lakebox_layer.stages.validation import Validation
from tests.fakes.functions import FUNCTION_ENV
from tests.fakes.stages import QUARANTINE, RAW, SETTINGS
from tests.fakes.stream import FIRST_SEQUENCE, Crash, FakeCreateOnceStore, FakeLedger, event, readings

LoadEvent = Callable[[str], dict[str, Any]]


def import_handler(stage: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh copy of the stage's handler module, imported as Lambda would with the function's environment."""
    for name, value in FUNCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    spec = importlib.util.spec_from_file_location(f"lakebox_{stage}_handler", PROJECT_ROOT / "lambdas" / stage /
                                                  "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordedCounts:
    """The health counters a handler writes, kept instead of written."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, dict[Any, int], dict[Any, set[str]]]] = []

    def count(self, stage: str, at: float, successes: int, failures: Any, failed_files: Any) -> None:
        self.calls.append((stage, successes, dict(failures), {k: set(v) for k, v in failed_files.items()}))


def recorded_health(handler: ModuleType, stage: str, monkeypatch: pytest.MonkeyPatch) -> RecordedCounts:
    """The handler's health counter, built at import for its stage, made to keep what it would write."""
    assert isinstance(handler.health, StageHealth) and handler.health.stage == stage
    counts = RecordedCounts()
    monkeypatch.setattr(handler, "health", StageHealth(counts, stage))
    return counts


def sqs_batch(queue: str, bodies: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An SQS event as Lambda's event source mapping delivers it: one record per message id, the body as sent."""
    return {"Records": [
        {
            "messageId": message_id,
            "receiptHandle": f"receipt-{message_id}",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1768473000000",
                           "SenderId": "AIDAEXAMPLE", "ApproximateFirstReceiveTimestamp": "1768473000001"},
            "messageAttributes": {},
            "md5OfBody": "0" * 32,
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{queue}",
            "awsRegion": "us-east-1",
        }
        for message_id, body in bodies.items()
    ]}


def lambda_context() -> LambdaContext:
    context = LambdaContext()
    context._function_name = "lakebox-test"
    context._function_version = "$LATEST"
    context._invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:lakebox-test"
    context._memory_limit_in_mb = 256
    context._aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    return context


def with_detail(envelope: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An EventBridge envelope whose detail differs from the fixture's by `changes`."""
    changed = copy.deepcopy(envelope)
    changed["detail"].update(changes)
    return changed


# -- stubs standing in for the stages -----------------------------------------------------------------------------


@dataclass
class StubIngestion:
    """Sees each notification's raw keys; fails the notification that names `fail_on`."""

    fail_on: str
    seen: list[list[str]] = field(default_factory=list)

    def ingest_batch(self, notifications: list[list[ObjectCreated]]) -> list[list[str] | BaseException]:
        outcomes: list[list[str] | BaseException] = []
        for created in notifications:
            keys = [item.raw.key for item in created]
            self.seen.append(keys)
            outcomes.append(IngestionFailed(f"ingestion failed for 1 of {len(keys)} objects: [{self.fail_on!r}]")
                            if self.fail_on in keys else [item.raw.process_id for item in created])
        return outcomes


@dataclass
class StubValidation:
    """Sees each "Data Received"; fails the one of process `fail_on`."""

    fail_on: str
    seen: list[DataReceived] = field(default_factory=list)

    def within(self, context: LambdaContext) -> Callable[[list[DataReceived]], list[Any]]:
        assert context.get_remaining_time_in_millis() >= 0  # the invocation's context
        return self.validate_all

    def validate_all(self, batch: list[DataReceived]) -> list[DataValidated | BaseException | None]:
        self.seen.extend(batch)
        return [ConnectionResetError("connection reset while reading the raw object")
                if received.process_id == self.fail_on else None for received in batch]


@dataclass
class StubQuality:
    """Sees each "Data Validated"; fails the one of process `fail_on`."""

    fail_on: str
    seen: list[DataValidated] = field(default_factory=list)

    def assess_all(self, batch: list[DataValidated]) -> list[QualityTotals | BaseException | None]:
        outcomes: list[QualityTotals | BaseException | None] = []
        for validated in batch:
            self.seen.append(validated)
            outcomes.append(PublishError("Quality Check Complete not sent to lakebox-bus: ThrottlingException")
                            if validated.process_id == self.fail_on
                            else QualityTotals(files=len(self.seen), files_passed=0, score_sum=0.0, records=0))
        return outcomes




@dataclass
class StubCuration:
    """Sees each processed file's "Data Validated"; fails the one of process `fail_on`."""

    fail_on: str
    seen: list[DataValidated] = field(default_factory=list)

    def within(self, context: LambdaContext) -> Callable[[list[DataValidated]], list[Any]]:
        assert context.get_remaining_time_in_millis() >= 0  # the invocation's context
        return self.curate_all

    def curate_all(self, batch: list[DataValidated]) -> list[Curated | BaseException | None]:
        self.seen.extend(batch)
        return [CurationRejected("column amount: 1 value does not cast to double, the first 'n/a'")
                if validated.process_id == self.fail_on else None for validated in batch]


# -- the handlers, one check per stage of the registry -------------------------------------------------------------

Check = Callable[[pytest.MonkeyPatch, LoadEvent, pytest.CaptureFixture[str]], None]


def failure_lines(captured: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The handler's JSON log lines (Powertools writes them to stdout) that report a failed message."""
    lines = [json.loads(line) for line in captured.readouterr().out.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("level") == "ERROR"]


def check_ingestion(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
                    captured: pytest.CaptureFixture[str]) -> None:
    handler = import_handler("ingestion", monkeypatch)
    assert isinstance(handler.ingestion, Ingestion)  # built at import, once per cold start
    stub = StubIngestion(fail_on="input/sales/a b.json")
    monkeypatch.setattr(handler, "ingestion", stub)
    counts = recorded_health(handler, "ingestion", monkeypatch)
    event = sqs_batch("lakebox-ingestion", {
        "m-one": load_event("s3_object_created.json"),
        "m-two": load_event("s3_put_two_objects.json"),
        "m-test": load_event("s3_test_event.json"),
    })

    response = handler.handler(event, lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-two"}]}
    # Counted for the stage's health: the failure (with no AWS error in it: code) names the message's two files.
    [(stage, successes, failures, files)] = counts.calls
    assert (stage, successes, failures) == ("ingestion", 2, {("code", None): 1})
    assert len(files[("code", None)]) == 2
    assert stub.seen == [["input/example.json"], ["input/my file+1.csv", "input/sales/a b.json"], []]
    [line] = failure_lines(captured)
    assert (line["message_id"], line["key"]) == ("m-two", "input/my file+1.csv, input/sales/a b.json")


def check_validation(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
                     captured: pytest.CaptureFixture[str]) -> None:
    handler = import_handler("validation", monkeypatch)
    assert isinstance(handler.validation, Validation)
    received = load_event("eventbridge_data_received.json")
    gzip = load_event("eventbridge_data_received_gzip.json")
    stub = StubValidation(fail_on=gzip["detail"]["process_id"])
    monkeypatch.setattr(handler, "validation", stub)
    counts = recorded_health(handler, "validation", monkeypatch)
    event = sqs_batch("lakebox-validation", {
        "m-first": received,
        "m-gzip": gzip,
        "m-other": with_detail(received, process_id="1" * 32, key="input/sales/2026/more.jsonl"),
    })

    response = handler.handler(event, lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-gzip"}]}
    assert counts.calls == [("validation", 2, {("transient", None): 1},
                             {("transient", None): {gzip["detail"]["process_id"]}})]
    assert [(r.process_id, r.key, r.compression) for r in stub.seen] == [
        ("0f3b1c2d4e5f60718293a4b5c6d7e8f9", "input/sales/2026/orders.jsonl", None),
        ("5e1d2c3b4a59687766554433221100ff", "input/orders/2026/orders.csv.gz", "gzip"),
        ("1" * 32, "input/sales/2026/more.jsonl", None),
    ]
    [line] = failure_lines(captured)
    assert (line["key"], line["correlation_id"]) == ("input/orders/2026/orders.csv.gz", gzip["detail"]["process_id"])


def check_quality(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
                  captured: pytest.CaptureFixture[str]) -> None:
    handler = import_handler("quality", monkeypatch)
    assert isinstance(handler.quality, Quality)
    validated = load_event("eventbridge_data_validated.json")
    stub = StubQuality(fail_on="2" * 32)
    monkeypatch.setattr(handler, "quality", stub)
    counts = recorded_health(handler, "quality", monkeypatch)
    event = sqs_batch("lakebox-quality", {
        "m-first": validated,
        "m-failing": with_detail(validated, process_id="2" * 32, status="processed", quality_score=100.0),
        "m-last": with_detail(validated, process_id="3" * 32),
    })

    response = handler.handler(event, lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-failing"}]}
    assert counts.calls == [("quality", 2, {("code", "events"): 1}, {("code", "events"): {"2" * 32}})]
    assert [(v.process_id, v.status.value, v.quality_score) for v in stub.seen] == [
        ("0f3b1c2d4e5f60718293a4b5c6d7e8f9", "quarantined", 75.0),
        ("2" * 32, "processed", 100.0),
        ("3" * 32, "quarantined", 75.0),
    ]
    [line] = failure_lines(captured)
    assert (line["key"], line["correlation_id"]) == ("input/sales/2026/orders.jsonl", "2" * 32)


def check_curation(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
                   captured: pytest.CaptureFixture[str]) -> None:
    handler = import_handler("curation", monkeypatch)
    assert isinstance(handler.curation, Curation)
    validated = with_detail(load_event("eventbridge_data_validated.json"), status="processed")
    stub = StubCuration(fail_on="4" * 32)
    monkeypatch.setattr(handler, "curation", stub)
    counts = recorded_health(handler, "curation", monkeypatch)
    event = sqs_batch("lakebox-curation", {
        "m-first": validated,
        "m-failing": with_detail(validated, process_id="4" * 32, key="input/sales/2026/bad amounts.jsonl"),
    })

    response = handler.handler(event, lambda_context())

    assert response == {"batchItemFailures": [{"itemIdentifier": "m-failing"}]}
    assert counts.calls == [("curation", 1, {("file", None): 1}, {("file", None): {"4" * 32}})]
    assert [v.process_id for v in stub.seen] == ["0f3b1c2d4e5f60718293a4b5c6d7e8f9", "4" * 32]
    [line] = failure_lines(captured)
    assert (line["key"], line["correlation_id"]) == ("input/sales/2026/bad amounts.jsonl", "4" * 32)
    assert "does not cast to double" in line["exception"]


def check_batcher(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
                  captured: pytest.CaptureFixture[str]) -> None:
    handler = import_handler("batcher", monkeypatch)
    assert isinstance(handler.batcher, StreamBatcher)
    store = FakeCreateOnceStore()
    monkeypatch.setattr(handler, "batcher", StreamBatcher(SETTINGS, ledger=FakeLedger(), objects=store,
                                                          logger=handler.logger))
    counts = recorded_health(handler, "batcher", monkeypatch)

    assert handler.handler(event(readings(5, poison_at=frozenset({2}))), lambda_context()) is None
    [(stage, successes, failures, _)] = counts.calls
    assert (stage, successes, failures) == ("batcher", 1, {})

    # The one poison record is set aside, named by its sequence number; the other four are written.
    assert [int(line["sequenceNumber"]) - FIRST_SEQUENCE for line in store.lines(QUARANTINE)] == [2]
    assert [line["id"] for line in store.lines(RAW)] == ["r-0", "r-1", "r-3", "r-4"]
    # A write that fails fails the whole batch: the mapping gives it back whole, and the ledger finishes it then.
    failing = StreamBatcher(SETTINGS, ledger=FakeLedger(), objects=FakeCreateOnceStore(crash_after=0),
                            logger=handler.logger)
    monkeypatch.setattr(handler, "batcher", failing)
    with pytest.raises(Crash):
        handler.handler(event(readings(3)), lambda_context())
    # Counted for the stream's health, the batch standing for a file (it names none yet).
    (_, successes, failures, files) = counts.calls[-1]
    assert (successes, sum(failures.values())) == (0, 1)
    assert [len(ids) for ids in files.values()] == [1]


CHECKS: dict[Stage, Check] = {
    Stage.INGESTION: check_ingestion,
    Stage.VALIDATION: check_validation,
    Stage.QUALITY: check_quality,
    Stage.CURATION: check_curation,
    Stage.BATCHER: check_batcher,
}


@pytest.mark.parametrize("stage", [spec.stage for spec in MAPPED_STAGES])
def test_every_stages_handler_answers_a_batch_with_one_failing_message(
        stage: Stage, monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent,
        capsys: pytest.CaptureFixture[str]) -> None:
    CHECKS[stage](monkeypatch, load_event, capsys)


def test_a_batch_without_failures_reports_none(monkeypatch: pytest.MonkeyPatch, load_event: LoadEvent) -> None:
    handler = import_handler("quality", monkeypatch)
    stub = StubQuality(fail_on="no such process")
    monkeypatch.setattr(handler, "quality", stub)
    counts = recorded_health(handler, "quality", monkeypatch)
    event = sqs_batch("lakebox-quality", {"m-only": load_event("eventbridge_data_validated.json")})

    assert handler.handler(event, lambda_context()) == {"batchItemFailures": []}
    assert len(stub.seen) == 1
    assert counts.calls == [("quality", 1, {}, {})]


def test_a_failed_message_is_tried_again_after_its_backoff(monkeypatch: pytest.MonkeyPatch,
                                                            load_event: LoadEvent) -> None:
    handler = import_handler("quality", monkeypatch)
    monkeypatch.setattr(handler, "quality", StubQuality(fail_on="2" * 32))
    later: list[list[tuple[str, str, int]]] = []

    class Retries:
        def later(self, failed: Sequence[tuple[str, str, int]]) -> None:
            later.append(list(failed))

    monkeypatch.setattr(handler, "health", StageHealth(RecordedCounts(), "quality", Retries()))
    validated = load_event("eventbridge_data_validated.json")
    event = sqs_batch("lakebox-quality", {"m-ok": validated,
                                           "m-failing": with_detail(validated, process_id="2" * 32)})
    event["Records"][1]["attributes"]["ApproximateReceiveCount"] = "3"

    assert handler.handler(event, lambda_context()) == {"batchItemFailures": [{"itemIdentifier": "m-failing"}]}
    assert later == [[("arn:aws:sqs:us-east-1:000000000000:lakebox-quality", "receipt-m-failing", 3)]]


def test_health_counters_that_cannot_be_written_cost_the_batch_nothing(monkeypatch: pytest.MonkeyPatch,
                                                                       load_event: LoadEvent) -> None:
    handler = import_handler("quality", monkeypatch)
    monkeypatch.setattr(handler, "quality", StubQuality(fail_on="no such process"))

    class Down:
        def count(self, *args: Any) -> None:
            raise ConnectionResetError("the metadata table is unreachable")

    monkeypatch.setattr(handler, "health", StageHealth(Down(), "quality"))
    event = sqs_batch("lakebox-quality", {"m-only": load_event("eventbridge_data_validated.json")})

    assert handler.handler(event, lambda_context()) == {"batchItemFailures": []}
