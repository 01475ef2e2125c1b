"""The event bus and the rules: created and tagged when missing, a rule's pattern and target put again when they
differ, nothing written when they are as declared."""

from __future__ import annotations

import json
from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import events
from tests.fakes.provision import NAMES, TAG_LIST, TOPOLOGY, Stubs, missing

BUS = NAMES.event_bus
[RULE, *_] = TOPOLOGY.rules
IN_BUS = {"Name": RULE.name, "EventBusName": BUS}
TARGETS_OF = {"Rule": RULE.name, "EventBusName": BUS}


def expect_tags(stub: Stubber, arn: str, found: list[dict[str, str]]) -> None:
    stub.add_response("list_tags_for_resource", {"Tags": found}, {"ResourceARN": arn})
    if found != TAG_LIST:
        stub.add_response("tag_resource", {}, {"ResourceARN": arn, "Tags": TAG_LIST})


def test_a_missing_bus_is_created_and_tagged() -> None:
    stubs = Stubs()
    stub = stubs("events")
    missing(stub, "describe_event_bus", "ResourceNotFoundException", {"Name": BUS}, 400)
    stub.add_response("create_event_bus", {}, {"Name": BUS})
    expect_tags(stub, TOPOLOGY.bus_arn, [])

    events.apply_bus(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"event bus {BUS}"), ("set", f"tags of event bus {BUS}")]


def test_a_bus_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    stub = stubs("events")
    stub.add_response("describe_event_bus", {"Name": BUS}, {"Name": BUS})
    expect_tags(stub, TOPOLOGY.bus_arn, TAG_LIST)

    events.apply_bus(stubs.context)

    stubs.done()
    assert stubs.changes == []


def put_rule(stub: Stubber) -> None:
    stub.add_response("put_rule", {}, {**IN_BUS, "EventPattern": json.dumps(RULE.pattern), "State": "ENABLED"})


def described(pattern: dict[str, Any]) -> dict[str, Any]:
    return {"Name": RULE.name, "EventPattern": json.dumps(pattern, indent=1, sort_keys=True), "State": "ENABLED"}


def test_a_missing_rule_is_put_with_its_target_and_tags() -> None:
    stubs = Stubs()
    stub = stubs("events")
    missing(stub, "describe_rule", "ResourceNotFoundException", IN_BUS, 400)
    put_rule(stub)
    stub.add_response("list_targets_by_rule", {}, TARGETS_OF)
    stub.add_response("put_targets", {}, {**TARGETS_OF, "Targets": [RULE.target]})
    expect_tags(stub, TOPOLOGY.rule_arn(RULE.name), [])

    events.apply_rule(stubs.context, RULE)

    stubs.done()
    assert RULE.target["DeadLetterConfig"] == {"Arn": TOPOLOGY.dead_letter_arn}
    assert [action for action, _ in stubs.changes] == ["put", "targeted lakebox-validation-queue by", "set"]


def test_a_rule_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    stub = stubs("events")
    stub.add_response("describe_rule", described(RULE.pattern), IN_BUS)
    stub.add_response("list_targets_by_rule", {"Targets": [RULE.target]}, TARGETS_OF)
    expect_tags(stub, TOPOLOGY.rule_arn(RULE.name), TAG_LIST)

    events.apply_rule(stubs.context, RULE)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"rule {RULE.name}", f"targets of rule {RULE.name}", f"tags of rule {RULE.name}"]


def test_a_different_pattern_is_put_again_and_a_stale_target_replaced() -> None:
    stubs = Stubs()
    stub = stubs("events")
    stub.add_response("describe_rule", described({**RULE.pattern, "detail-type": ["Something Else"]}), IN_BUS)
    put_rule(stub)
    stale = {"Id": "old", "Arn": TOPOLOGY.queue_arn}
    stub.add_response("list_targets_by_rule", {"Targets": [stale]}, TARGETS_OF)
    stub.add_response("remove_targets", {}, {**TARGETS_OF, "Ids": ["old"]})
    stub.add_response("put_targets", {}, {**TARGETS_OF, "Targets": [RULE.target]})
    expect_tags(stub, TOPOLOGY.rule_arn(RULE.name), TAG_LIST)

    events.apply_rule(stubs.context, RULE)

    stubs.done()
    assert [action for action, _ in stubs.changes] == ["put", "targeted lakebox-validation-queue by"]


def test_teardown_removes_targets_before_rules_and_counts_a_missing_bus_as_absent() -> None:
    stubs = Stubs()
    stub = stubs("events")
    rule, *others = TOPOLOGY.rules
    stub.add_response("describe_rule", described(rule.pattern), {"Name": rule.name, "EventBusName": BUS})
    stub.add_response("list_targets_by_rule", {"Targets": [rule.target]}, {"Rule": rule.name, "EventBusName": BUS})
    stub.add_response("remove_targets", {}, {"Rule": rule.name, "EventBusName": BUS, "Ids": [rule.target_id]})
    stub.add_response("delete_rule", {}, {"Name": rule.name, "EventBusName": BUS})
    for other in others:
        missing(stub, "describe_rule", "ResourceNotFoundException", {"Name": other.name, "EventBusName": BUS}, 400)
    missing(stub, "describe_event_bus", "ResourceNotFoundException", {"Name": BUS}, 400)

    events.teardown_rules(stubs.context)
    events.teardown_bus(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"rule {rule.name}")]
    assert stubs.unchanged[-1] == f"event bus {BUS} (absent)"
