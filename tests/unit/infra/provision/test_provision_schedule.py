"""The healer's schedule: created with its role when missing, left alone when as declared, updated in place when
it differs (disabled by LAKEBOX_HEALER=0), skipped with one warning where the endpoint has no Scheduler, and deleted
with its role on teardown."""

from __future__ import annotations

from typing import Any

import pytest

from lakebox_infra.provision import iam, schedule
from lakebox_infra.topology import Topology
from tests.fakes.provision import NAMES, TOPOLOGY, Stubs, missing

WANTED = TOPOLOGY.healer_schedule
NAME = NAMES.healer_schedule


@pytest.fixture
def roles(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The role calls, kept (the IAM module has tests of its own)."""
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(iam, "apply_role", lambda ctx, role, service, policy: calls.append(("apply", role, service)))
    monkeypatch.setattr(iam, "remove_role", lambda ctx, role: calls.append(("remove", role)))
    return calls


def listed(stubs: Stubs, *names: str) -> None:
    stubs("scheduler").add_response("list_schedules", {"Schedules": [
        {"Name": name, "Arn": f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{name}"}
        for name in names]}, {})


def found(**overrides: Any) -> dict[str, Any]:
    """The schedule as GetSchedule answers."""
    return {**{key: value for key, value in WANTED.items()}, "Arn": "arn:aws:scheduler:x", **overrides}


def test_a_missing_schedule_is_created_with_its_role(roles: list[tuple[str, ...]]) -> None:
    stubs = Stubs()
    listed(stubs)
    missing(stubs("scheduler"), "get_schedule", "ResourceNotFoundException", {"Name": NAME})
    stubs("scheduler").add_response("create_schedule", {"ScheduleArn": "arn:aws:scheduler:x"}, WANTED)

    schedule.apply_schedule(stubs.context)

    stubs.done()
    assert roles == [("apply", NAMES.healer_schedule_role, "scheduler.amazonaws.com")]
    assert stubs.changes == [("created", f"schedule {NAME} (rate(1 minute), enabled)")]


def test_a_schedule_as_declared_is_left_alone(roles: list[tuple[str, ...]]) -> None:
    stubs = Stubs()
    listed(stubs, NAME)
    stubs("scheduler").add_response("get_schedule", found(), {"Name": NAME})

    schedule.apply_schedule(stubs.context)

    stubs.done()
    assert stubs.changes == []


def test_healer_off_disables_the_schedule_in_place(roles: list[tuple[str, ...]]) -> None:
    off = Topology(NAMES, settings_overrides={"healer": False})
    stubs = Stubs(topology=off)
    listed(stubs, NAME)
    stubs("scheduler").add_response("get_schedule", found(), {"Name": NAME})
    stubs("scheduler").add_response("update_schedule", {"ScheduleArn": "arn:aws:scheduler:x"},
                                    {**WANTED, "State": "DISABLED"})

    schedule.apply_schedule(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", f"schedule {NAME} (rate(1 minute), disabled)")]


def test_without_scheduler_it_is_skipped_with_one_warning(roles: list[tuple[str, ...]]) -> None:
    stubs = Stubs()
    stubs("scheduler").add_client_error("list_schedules", service_error_code="NotImplemented",
                                        http_status_code=501, expected_params={})

    schedule.apply_schedule(stubs.context)

    stubs.done()
    assert roles == [] and stubs.changes == []
    [warning] = stubs.context.report.warnings
    assert "does not offer EventBridge Scheduler" in warning and "lakebox pause" in warning


def test_teardown_deletes_the_schedule_and_its_role(roles: list[tuple[str, ...]]) -> None:
    stubs = Stubs()
    listed(stubs, NAME)
    stubs("scheduler").add_response("delete_schedule", {}, {"Name": NAME})

    schedule.teardown_schedule(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"schedule {NAME}")]
    assert roles == [("remove", NAMES.healer_schedule_role)]
