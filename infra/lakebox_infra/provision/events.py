"""The event bus and the rules that chain the stages, each with its one target."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from lakebox_infra.provision.base import Context, absent, current, ensure
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list
from lakebox_infra.topology import RuleSpec


def _ensure_tags(ctx: Context, kind: str, resource: str, arn: str) -> None:
    events = ctx.client("events")
    ensure_tags(ctx, kind, resource, lambda: from_list(events.list_tags_for_resource(ResourceARN=arn)["Tags"]),
                lambda tags: events.tag_resource(ResourceARN=arn, Tags=to_list(tags)))


def apply_bus(ctx: Context) -> None:
    """Create the pipeline's bus if missing, and tag it."""
    events = ctx.client("events")
    bus = ctx.names.event_bus
    if current(lambda: events.describe_event_bus(Name=bus)) is None:
        events.create_event_bus(Name=bus)
        ctx.report.changed("created", f"event bus {bus}")
    else:
        ctx.report.same(f"event bus {bus}")
    _ensure_tags(ctx, "event buses", f"event bus {bus}", ctx.topology.bus_arn)


def apply_rule(ctx: Context, rule: RuleSpec) -> None:
    """Put the rule where its pattern or state differs, and its one target where the targets differ."""
    events = ctx.client("events")
    bus = ctx.names.event_bus

    def read_rule() -> dict[str, Any]:
        found = events.describe_rule(Name=rule.name, EventBusName=bus)
        return {"pattern": json.loads(found.get("EventPattern", "{}")), "state": found.get("State")}

    ensure(ctx, f"rule {rule.name}", read_rule, {"pattern": rule.pattern, "state": "ENABLED"},
           lambda _: events.put_rule(Name=rule.name, EventBusName=bus, EventPattern=json.dumps(rule.pattern),
                                     State="ENABLED"),
           "put")
    targets: list[dict[str, Any]] = []

    def read_targets() -> list[dict[str, Any]]:
        targets.extend(events.list_targets_by_rule(Rule=rule.name, EventBusName=bus).get("Targets", []))
        return targets

    def write_targets(_: object) -> None:
        stale = [t["Id"] for t in targets if t["Id"] != rule.target_id]
        if stale:
            events.remove_targets(Rule=rule.name, EventBusName=bus, Ids=stale)
        events.put_targets(Rule=rule.name, EventBusName=bus, Targets=[rule.target])

    ensure(ctx, f"targets of rule {rule.name}", read_targets, [rule.target], write_targets,
           f"targeted {rule.target_arn.rsplit(':', 1)[-1]} by")
    _ensure_tags(ctx, "rules", f"rule {rule.name}", ctx.topology.rule_arn(rule.name))


def teardown_rules(ctx: Context) -> None:
    """Delete each rule, its targets first."""
    for rule in ctx.topology.rules:
        absent(ctx, f"rule {rule.name}", partial(_delete_rule, ctx, rule.name))


def teardown_bus(ctx: Context) -> None:
    """Delete the pipeline's bus."""
    absent(ctx, f"event bus {ctx.names.event_bus}", partial(_delete_bus, ctx))


# DeleteRule and DeleteEventBus succeed for names that do not exist: describe first, so a second teardown reports
# nothing deleted.
def _delete_rule(ctx: Context, rule: str) -> None:
    events = ctx.client("events")
    bus = ctx.names.event_bus
    events.describe_rule(Name=rule, EventBusName=bus)
    targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus).get("Targets", [])
    if targets:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
    events.delete_rule(Name=rule, EventBusName=bus)


def _delete_bus(ctx: Context) -> None:
    events = ctx.client("events")
    events.describe_event_bus(Name=ctx.names.event_bus)
    events.delete_event_bus(Name=ctx.names.event_bus)
