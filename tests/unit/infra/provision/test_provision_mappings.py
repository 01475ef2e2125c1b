"""The functions' queue mappings: created enabled when missing, left alone when as declared, updated in place when
they differ; a stage whose circuit is open keeps its mapping paused (only `lakebox resume` enables it)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lakebox_infra.provision import functions
from tests.fakes.provision import NAMES, TOPOLOGY, Stubs

[SPEC, *_] = TOPOLOGY.functions
MAPPING = TOPOLOGY.event_source_mapping(SPEC)
UUID = "00000000-0000-4000-8000-000000000000"


def mappings(*found: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return ("list_event_source_mappings", {"EventSourceMappings": list(found)},
            {"FunctionName": SPEC.name, "EventSourceArn": MAPPING["EventSourceArn"]})


def mapping(**overrides: Any) -> dict[str, Any]:
    declared = {k: v for k, v in MAPPING.items() if k not in functions.MAPPING_IDENTITY}
    return {"UUID": UUID, "State": "Enabled", **declared,
            **overrides}


def circuit(stubs: Stubs, state: str | None) -> None:
    """The stage's circuit as the metadata table holds it (None: it has none)."""
    item = {} if state is None else {"Item": {
        "ProcessId": {"S": f"circuit#{SPEC.stage.value}"}, "Timestamp": {"S": "current"},
        "Stage": {"S": SPEC.stage.value}, "State": {"S": state}, "Version": {"N": "3"}}}
    stubs("dynamodb").add_response("get_item", item, {
        "TableName": NAMES.metadata_table, "ConsistentRead": True,
        "Key": {"ProcessId": {"S": f"circuit#{SPEC.stage.value}"}, "Timestamp": {"S": "current"}}})


def test_a_missing_mapping_is_created_enabled() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings())
    lam.add_response("create_event_source_mapping", {}, {**MAPPING, "Enabled": True})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("mapped", f"mapping {SPEC.queue} -> {SPEC.name}")]


@pytest.mark.parametrize("refusal", ["ResourceConflictException", "InvalidParameterValueException"])
def test_a_mapping_to_a_function_not_yet_active_is_created_once_it_can_be(
        monkeypatch: pytest.MonkeyPatch, refusal: str) -> None:
    """The functions are wired before they are waited for: on AWS a Pending function, or a role not yet assumable,
    refuses the mapping for a moment."""
    monkeypatch.setattr("lakebox_infra.provision.base.time", SimpleNamespace(monotonic=lambda: 0.0,
                                                                             sleep=lambda seconds: None))
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings())
    lam.add_client_error("create_event_source_mapping", service_error_code=refusal, http_status_code=409,
                         expected_params={**MAPPING, "Enabled": True})
    lam.add_response("create_event_source_mapping", {}, {**MAPPING, "Enabled": True})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("mapped", f"mapping {SPEC.queue} -> {SPEC.name}")]


def test_a_mapping_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    stubs("lambda").add_response(*mappings(mapping()))
    circuit(stubs, None)

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == []


def test_the_mapping_of_a_stage_whose_circuit_is_open_stays_paused() -> None:
    """Enabling it would close the circuit behind the healer's back: only `lakebox resume` does."""
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings(mapping(State="Disabled")))
    circuit(stubs, "open")

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"mapping {SPEC.queue} -> {SPEC.name} (paused: its circuit is open)"]


def test_an_enabled_mapping_whose_circuit_is_open_is_paused() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings(mapping()))
    circuit(stubs, "open")
    lam.add_response("update_event_source_mapping", {}, {
        "UUID": UUID, "Enabled": False, "BatchSize": MAPPING["BatchSize"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": MAPPING["ScalingConfig"]})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("updated", f"mapping {SPEC.queue} -> {SPEC.name} (paused: its circuit is open)")]


@pytest.mark.parametrize("found", [mapping(BatchSize=1), mapping(State="Disabled")], ids=["batch size", "disabled"])
def test_a_mapping_that_differs_is_updated_in_place(found: dict[str, Any]) -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings(found))
    circuit(stubs, "closed" if found["State"] == "Disabled" else None)
    lam.add_response("update_event_source_mapping", {}, {
        "UUID": UUID, "Enabled": True, "BatchSize": MAPPING["BatchSize"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": MAPPING["ScalingConfig"]})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("updated", f"mapping {SPEC.queue} -> {SPEC.name}")]
