"""The stage registry walked stage by stage: every stage it declares has its stage module and its handler, and the
topology, `lakebox trace`, `lakebox reconcile` and `lakebox logs` all give it what its declaration says: its queue
(or the stream's mapping), the rule that feeds it, its role, the dashboard's error metric of its function, its trace
row and what reconcile says while a file waits for it. A new stage is covered without editing this file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakebox.trace.logs import STAGES as LOGGED
from lakebox.trace.story import timeline
from lakebox_infra import PROJECT_ROOT, ingest_api
from lakebox_infra.topology import Topology
from lakebox_layer.records import FileStatus
from lakebox_layer.registry import FILE_STAGES, STAGES, Event, Feed, Stage, StageSpec, producer
from lakebox_layer.settings import ResourceNames
from lakebox_layer.status import FileRow, missing

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
TOPOLOGY = Topology(NAMES)
ARRIVAL = "2026-01-15T10:30:00+00:00"
# Actions every role has that are not a dependency of the stage's own work: logs, traces, dead letters, and what the
# mapping reads the stage's input with.
PLUMBING = {"logs", "xray", "sqs", "kinesis"}


def declared(stage: Stage) -> StageSpec:
    return STAGES[stage]


def function_of(stage: Stage) -> Any:
    [function] = [f for f in TOPOLOGY.functions if f.stage is stage]
    return function


def test_every_stage_is_declared_once_in_pipeline_order() -> None:
    assert list(STAGES) == list(Stage)
    assert all(spec.stage is stage for stage, spec in STAGES.items())
    assert [stage.order for stage in Stage] == list(range(1, len(Stage) + 1))
    # The stages that record files come first, in the order a file goes through them.
    assert [spec.stage for spec in FILE_STAGES] == list(Stage)[:len(FILE_STAGES)]


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_its_stage_module_and_a_thin_handler(stage: Stage) -> None:
    assert (PROJECT_ROOT / "layer" / "lakebox_layer" / "stages" / f"{stage.value}.py").is_file()
    handler = PROJECT_ROOT / "lambdas" / stage.value / "handler.py"
    assert handler.is_file()
    assert len(handler.read_text().splitlines()) <= 30


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_its_function_and_its_own_role(stage: Stage) -> None:
    function = function_of(stage)
    spec = declared(stage)

    assert (function.name, function.role) == (f"lakebox-{stage.value}", f"lakebox-{stage.value}-role")
    assert (function.memory, function.timeout, function.tmp, function.native_layers) == (
        spec.memory_mb, spec.timeout_s, spec.tmp_mb, spec.native_layers)
    assert 512 <= spec.tmp_mb <= 10_240  # Lambda's range of ephemeral storage
    assert [f.role for f in TOPOLOGY.functions].count(function.role) == 1


@pytest.mark.parametrize("stage", list(Stage))
def test_a_stage_may_call_the_services_it_depends_on_and_only_its_optional_ones_besides(stage: Stage) -> None:
    """What the healer reads (the services a stage depends on, and those it goes on without) is what its role lets
    it call."""
    actions = {action for statement in function_of(stage).policy["Statement"] for action in statement["Action"]}
    spec = declared(stage)

    # Reading the stream is plumbing (the mapping's); putting records on it, as the API does, is a dependency.
    plumbing = PLUMBING if spec.consumes is Feed.INGEST_STREAM else PLUMBING - {"kinesis"}
    called = {action.split(":")[0] for action in actions} - plumbing
    assert spec.depends_on <= called <= spec.depends_on | spec.optional  # Lake Formation's only when it is on
    assert not spec.depends_on & spec.optional


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_reads_what_it_consumes_as_declared(stage: Stage) -> None:
    spec = declared(stage)
    function = function_of(stage)

    if spec.consumes is Feed.SCHEDULE:
        assert function.queue is None and not spec.mapped
        assert TOPOLOGY.healer_schedule["Target"]["Arn"] == TOPOLOGY.function_arn(function.name)
        return
    if spec.consumes is Feed.API_REQUESTS:
        assert function.queue is None and not spec.mapped
        api = ingest_api.spec(TOPOLOGY, {})
        assert function.name in api.invoked
        invoked = {api.integration["IntegrationUri"], api.authorizer["AuthorizerUri"]}
        assert any(TOPOLOGY.function_arn(function.name) in uri for uri in invoked)
        return
    mapping = TOPOLOGY.event_source_mapping(function)
    if spec.consumes is Feed.INGEST_STREAM:
        assert function.queue is None
        assert mapping["EventSourceArn"] == TOPOLOGY.stream_arn
        assert mapping["ParallelizationFactor"] == spec.concurrency
        return
    queue = TOPOLOGY.queues[NAMES.stage_queue(stage.value)]
    assert function.queue == queue.name
    assert json.loads(queue.attributes["RedrivePolicy"])["deadLetterTargetArn"] == TOPOLOGY.dead_letter_arn
    assert mapping["EventSourceArn"] == TOPOLOGY.stage_queue_arn(stage)
    assert (mapping["BatchSize"], mapping["ScalingConfig"]["MaximumConcurrency"]) == (
        spec.batch_size, spec.concurrency)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize("stage", [stage for stage in Stage if isinstance(STAGES[stage].consumes, Event)])
def test_a_stage_consuming_an_event_has_the_one_rule_that_feeds_its_queue(stage: Stage) -> None:
    spec = declared(stage)
    assert isinstance(spec.consumes, Event)
    [rule] = [rule for rule in TOPOLOGY.rules if rule.target_arn == TOPOLOGY.stage_queue_arn(stage)]

    assert rule.pattern["source"] == [spec.consumes.source]
    assert rule.pattern["detail-type"] == [spec.consumes.detail_type]
    assert rule.pattern.get("detail") == ({"status": [spec.only.value]} if spec.only else None)
    # Only that rule may send to the queue, and the stage whose event it carries emits that event.
    queue_policy = TOPOLOGY.queues[NAMES.stage_queue(stage.value)].policy
    assert queue_policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"] == [TOPOLOGY.rule_arn(rule.name)]
    source = producer(spec)
    assert source is not None and source.emits == spec.consumes


def test_the_stage_reading_raw_notifications_gets_the_raw_buckets_notifications() -> None:
    [reader] = [spec for spec in STAGES.values() if spec.consumes is Feed.RAW_NOTIFICATIONS]
    [config] = TOPOLOGY.raw_notification["QueueConfigurations"]

    assert config["QueueArn"] == TOPOLOGY.stage_queue_arn(reader.stage)
    assert reader.rule is None


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_emits_only_its_declared_event(stage: Stage) -> None:
    actions = {action for statement in function_of(stage).policy["Statement"] for action in statement["Action"]}

    assert ("events:PutEvents" in actions) is (declared(stage).emits is not None)


@pytest.mark.parametrize("stage", list(Stage))
def test_every_stage_has_its_error_metric_on_the_dashboard_and_its_logs(stage: Stage) -> None:
    [errors] = [w for w in TOPOLOGY.dashboard_body["widgets"] if w["properties"]["title"] == "Stage errors"]

    assert ["AWS/Lambda", "Errors", "FunctionName", f"lakebox-{stage.value}"] in errors["properties"]["metrics"]
    assert stage.value in LOGGED


@pytest.mark.parametrize("spec", FILE_STAGES, ids=lambda spec: spec.name)
def test_every_file_stage_has_its_trace_row_and_what_reconcile_waits_for(spec: StageSpec) -> None:
    assert spec.trace is not None and spec.awaiting
    # Nothing recorded yet: the stage has its row, pending.
    [row] = [step for step in timeline([], ARRIVAL) if step.stage == spec.name]
    assert (row.recorded, row.status) == (False, "pending")
    # Its own record: the row shows its status and the details its declaration names.
    record = {"ProcessId": "p", "Timestamp": f"{ARRIVAL}#{spec.stage.order}-{spec.name}", "RawKey": "input/a.json",
              "RecordedAt": "2026-01-15T10:30:01+00:00", **{attribute: 7 for attribute in spec.trace.details},
              **({spec.trace.status_field: "processed"} if spec.trace.status_field else {})}
    [row] = [step for step in timeline([record], ARRIVAL) if step.stage == spec.name]
    assert row.recorded and row.status == ("processed" if spec.trace.status_field else "recorded")
    assert row.details == {name: record[attribute] for attribute, name in spec.trace.details.items()}
    assert row.event == (spec.emits.detail_type if spec.emits else None)


@pytest.mark.parametrize("spec", FILE_STAGES[1:], ids=lambda spec: spec.name)
@pytest.mark.parametrize("status", [FileStatus.PROCESSED, FileStatus.QUARANTINED, FileStatus.FAILED])
def test_reconcile_waits_for_each_stage_a_file_of_its_status_reaches(spec: StageSpec, status: FileStatus) -> None:
    """A file every stage before `spec` recorded waits for `spec` if its status reaches it, else for the next stage
    that it does reach, or for nothing."""
    later = [other for other in FILE_STAGES[1:] if other.stage.order >= spec.stage.order]
    row = FileRow("input/a.json", status, None, [], None, "p",
                  stages=tuple(other.name for other in FILE_STAGES if other.stage.order < spec.stage.order))

    assert missing(row) == next((other.awaiting for other in later if other.takes(status)), None)
    assert (missing(row) == spec.awaiting) is spec.takes(status)


def test_the_stream_batcher_records_no_file_and_has_no_trace_row() -> None:
    batcher = declared(Stage.BATCHER)

    assert (batcher.trace, batcher.awaiting, batcher.emits, batcher.rule) == (None, None, None, None)
    assert Stage.BATCHER.value not in [step.stage for step in timeline([], ARRIVAL)]
