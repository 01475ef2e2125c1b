"""The healer's schedule: EventBridge Scheduler runs the healer each minute with a role that may invoke it and
nothing else; disabled where `LAKEBOX_HEALER=0`; skipped with one warning where the endpoint has no Scheduler."""

from __future__ import annotations

from typing import Any

from lakebox_infra.provision import iam
from lakebox_infra.provision.base import Context, absent, ensure, offered

_COMPARED = ("ScheduleExpression", "FlexibleTimeWindow", "State", "Description")


def _schedule_names(ctx: Context) -> set[str] | None:
    scheduler = ctx.client("scheduler")
    return offered(ctx, "EventBridge Scheduler",
                   lambda: {s["Name"] for page in scheduler.get_paginator("list_schedules").paginate()
                            for s in page.get("Schedules", [])},
                   "the healer does not run by itself: circuits move only by `lakebox pause` and `resume`")


def apply_schedule(ctx: Context) -> None:
    """The schedule's role, then the schedule, each written only where it differs."""
    if _schedule_names(ctx) is None:
        return
    names = ctx.names
    iam.apply_role(ctx, names.healer_schedule_role, "scheduler.amazonaws.com", ctx.topology.healer_schedule_policy)
    scheduler = ctx.client("scheduler")
    wanted = ctx.topology.healer_schedule

    def read() -> dict[str, Any]:
        found = scheduler.get_schedule(Name=wanted["Name"])
        target = found.get("Target", {})
        return {**{key: found.get(key) for key in _COMPARED},
                "Target": {"Arn": target.get("Arn"), "RoleArn": target.get("RoleArn"),
                           "RetryPolicy": {"MaximumRetryAttempts":
                                           target.get("RetryPolicy", {}).get("MaximumRetryAttempts")}}}

    def write(found: dict[str, Any] | None) -> None:
        if found is None:
            scheduler.create_schedule(**wanted)
        else:
            scheduler.update_schedule(**wanted)

    ensure(ctx, f"schedule {wanted['Name']} ({wanted['ScheduleExpression']}, {wanted['State'].lower()})", read,
           {key: wanted[key] for key in (*_COMPARED, "Target")}, write,
           lambda found: "created" if found is None else "updated")


def teardown_schedule(ctx: Context) -> None:
    """Delete the schedule and its role, where the endpoint has Scheduler."""
    if _schedule_names(ctx) is None:
        return
    names = ctx.names
    absent(ctx, f"schedule {names.healer_schedule}",
           lambda: ctx.client("scheduler").delete_schedule(Name=names.healer_schedule))
    iam.remove_role(ctx, names.healer_schedule_role)
