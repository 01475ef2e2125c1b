"""The healer's place in the topology: a schedule that runs it each minute with a role that may only invoke it, and
a role that touches only the circuits and counters of the table and publishes only to the alerts topic."""

from __future__ import annotations

from typing import Any

from lakebox_infra.topology import Topology
from lakebox_layer.registry import Stage
from tests.fakes.provision import NAMES, TOPOLOGY


def healer_statements() -> list[dict[str, Any]]:
    [healer] = [f for f in TOPOLOGY.functions if f.stage is Stage.HEALER]
    return list(healer.policy["Statement"])


def test_the_healer_runs_each_minute_with_a_role_that_may_only_invoke_it() -> None:
    schedule = TOPOLOGY.healer_schedule
    assert (schedule["ScheduleExpression"], schedule["State"]) == ("rate(1 minute)", "ENABLED")
    healer = f"arn:aws:lambda:us-east-1:000000000000:function:{NAMES.function('healer')}"
    assert schedule["Target"]["Arn"] == healer
    assert schedule["Target"]["RoleArn"].endswith(f":role/{NAMES.healer_schedule_role}")
    assert TOPOLOGY.healer_schedule_policy["Statement"] == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": [healer]}]
    assert Topology(NAMES, settings_overrides={"healer": False}).healer_schedule["State"] == "DISABLED"


def test_the_healer_touches_only_the_circuits_and_counters_of_the_table() -> None:
    [items] = [s for s in healer_statements() if "dynamodb:PutItem" in s["Action"]]
    assert items["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["health#*", "circuit#*"]}}
    [publish] = [s for s in healer_statements() if "sns:Publish" in s["Action"]]
    assert (publish["Action"], publish["Resource"]) == (["sns:Publish"], [TOPOLOGY.alerts_topic_arn])
    assert TOPOLOGY.function_environment("healer")["ALERTS_TOPIC_ARN"] == TOPOLOGY.alerts_topic_arn
    assert "ALERTS_TOPIC_ARN" not in TOPOLOGY.function_environment("curation")
