"""The operator's grants for `lakebox health`, `pause` and `resume`: the circuits' items read and written and no
other item written, the stages' mappings found and updated, their queues counted, the alerts topic published to;
"*" only where AWS has no resource-level permission, and the steward's policy the same."""

from __future__ import annotations

from typing import Any

from lakebox_layer.registry import MAPPED_STAGES
from tests.fakes.provision import NAMES, TOPOLOGY

ACCOUNT = "us-east-1:000000000000"
TABLE = f"arn:aws:dynamodb:{ACCOUNT}:table/{NAMES.metadata_table}"


def statements() -> list[dict[str, Any]]:
    return list(TOPOLOGY.operator_policy["Statement"])


def granting(action: str) -> list[dict[str, Any]]:
    return [s for s in statements() if action in s["Action"]]


def test_the_operator_writes_only_circuits_and_producers_and_circuits_only_over_the_version_read() -> None:
    writes = granting("dynamodb:PutItem")
    assert len(writes) == 2
    assert {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": [TABLE],
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["circuit#*"]}}} in writes
    # `lakebox producer add` and `revoke`: the producer's item and its key's.
    assert {"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem"], "Resource": [TABLE],
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["producers", "producer-key#*"]}}} in (
        writes)
    writing = {a for s in statements() for a in s["Action"]
               if a.startswith("dynamodb:") and a not in ("dynamodb:GetItem", "dynamodb:Query")}
    assert writing == {"dynamodb:PutItem", "dynamodb:UpdateItem"}, "no DeleteItem or batch write anywhere"


def test_the_operator_pauses_and_resumes_mappings_and_nothing_else_of_lambda() -> None:
    lambda_statements = [s for s in statements() if any(a.startswith("lambda:") for a in s["Action"])]
    assert lambda_statements == [
        {"Effect": "Allow", "Action": ["lambda:ListEventSourceMappings"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["lambda:UpdateEventSourceMapping"],
         "Resource": [f"arn:aws:lambda:{ACCOUNT}:event-source-mapping:*"]},
    ]


def test_the_operator_counts_every_stage_queue_and_the_dead_letters() -> None:
    queues = {r for s in granting("sqs:GetQueueAttributes") if "sqs:GetQueueUrl" in s["Action"]
              for r in s["Resource"]}
    stage_queues = {f"arn:aws:sqs:{ACCOUNT}:{NAMES.stage_queue(spec.name)}" for spec in MAPPED_STAGES
                    if spec.reads_queue}
    assert len(stage_queues) == 4
    assert stage_queues | {f"arn:aws:sqs:{ACCOUNT}:{NAMES.dead_letter_queue}"} <= queues


def test_the_operator_publishes_only_to_the_alerts_topic() -> None:
    assert granting("sns:Publish") == [
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": [TOPOLOGY.alerts_topic_arn]}]
    assert not [a for s in statements() for a in s["Action"] if a.startswith("sns:") and a != "sns:Publish"]


def test_the_operator_has_star_only_where_aws_has_no_resource_level_permission() -> None:
    anywhere = {a for s in statements() if s["Resource"] == ["*"] and "Condition" not in s for a in s["Action"]}
    assert anywhere == {"cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics", "lambda:ListEventSourceMappings"}
    assert all(s["Resource"] == ["*"] for s in statements() if "*" in s["Resource"])


def test_the_steward_may_pause_and_resume_too() -> None:
    steward = TOPOLOGY.steward_policy["Statement"]
    assert all(statement in steward for statement in granting("dynamodb:PutItem") + granting("sns:Publish"))
