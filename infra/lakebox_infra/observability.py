"""The alarms on the quality metrics, the topic they notify and the pipeline's dashboard, as data. No AWS calls here.

The alarms watch the metrics the quality stage publishes (:mod:`lakebox_layer.adapters.metrics`), with the very
namespace, names and dimension it uses, so an alarm can never watch a metric nobody writes.
"""

from __future__ import annotations

from typing import Any

from lakebox_infra.arns import Arns
from lakebox_infra.specs import policy
from lakebox_layer.adapters.metrics import (
    AVERAGE_SCORE,
    CIRCUIT_STATE,
    DIMENSION,
    HEALTH_NAMESPACE,
    NAMESPACE,
    PROCESSED_RECORDS,
    STAGE_DIMENSION,
    SUCCESS_RATE,
)
from lakebox_layer.registry import MAPPED_STAGES, STAGES

# Below 90 % of judged files passing, sustained over three 5-minute periods, is no longer the odd bad upload.
SUCCESS_RATE_THRESHOLD = 90.0
# Scores run 0-100 (completeness x validity); an average below 80 over the same window means many files are
# missing fields or failing rules, even if most still pass their contracts' thresholds.
SCORE_THRESHOLD = 80.0
ALARM_PERIOD_S = 300
ALARM_PERIODS = 3
# Widgets aggregate per 5 minutes, the alarms' period, so a graph shows what the alarm evaluates.
DASHBOARD_PERIOD_S = 300
LAMBDA_NAMESPACE = "AWS/Lambda"


def alerts_topic_policy(arns: Arns, notice_rules: list[str]) -> dict[str, Any]:
    """Who may use the alerts topic: the account, as SNS allows by default; the alarms, to notify; and the rules
    that carry notices for people (undeclared personal data), which EventBridge may publish only with a grant."""
    topic, account = arns.alerts_topic_arn, arns.arn("iam", "root", region=False)
    return policy(
        {"Sid": "TheAccountUsesTheTopic", "Effect": "Allow", "Principal": {"AWS": account},
         "Action": sorted(["sns:Publish", "sns:Subscribe", "sns:Receive", "sns:GetTopicAttributes",
                           "sns:SetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:DeleteTopic",
                           "sns:AddPermission", "sns:RemovePermission"]), "Resource": topic},
        {"Sid": "TheAlarmsNotify", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic,
         "Condition": {"ArnLike": {"aws:SourceArn": arns.arn("cloudwatch", f"alarm:{arns.names.project}-*")}}},
        {"Sid": "TheNoticesArrive", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
         "Action": "sns:Publish", "Resource": topic,
         "Condition": {"ArnEquals": {"aws:SourceArn": [arns.rule_arn(rule) for rule in notice_rules]}}},
    )


def dashboard(arns: Arns) -> str:
    return f"{arns.names.project}-pipeline"


def _alarm(arns: Arns, name: str, metric: str, threshold: float, what: str) -> dict[str, Any]:
    topic = arns.alerts_topic_arn
    return {
        "AlarmName": f"{arns.names.project}-{name}",
        "AlarmDescription": f"lakebox {arns.names.project}: {what} below {threshold:g} over "
                            f"{ALARM_PERIODS} periods of {ALARM_PERIOD_S // 60} minutes",
        "Namespace": NAMESPACE,
        "MetricName": metric,
        "Dimensions": [{"Name": DIMENSION, "Value": arns.names.project}],
        "Statistic": "Average",
        "Period": ALARM_PERIOD_S,
        "EvaluationPeriods": ALARM_PERIODS,
        "Threshold": threshold,
        "ComparisonOperator": "LessThanThreshold",
        # No files judged is no evidence of bad files: a quiet pipeline stays OK.
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": True,
        "AlarmActions": [topic],
        "OKActions": [topic],
    }


def alarms(arns: Arns) -> list[dict[str, Any]]:
    """put_metric_alarm arguments (tags aside) of each alarm: the success rate and the average score."""
    return [
        _alarm(arns, "quality-success-rate", SUCCESS_RATE, SUCCESS_RATE_THRESHOLD,
               "share of judged files that passed (%)"),
        _alarm(arns, "quality-score", AVERAGE_SCORE, SCORE_THRESHOLD, "average quality score"),
    ]


def _widget(arns: Arns, title: str, metrics: list[list[Any]], stat: str, position: int,
            threshold: float | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {"title": title, "region": arns.names.region, "view": "timeSeries",
                                  "stat": stat, "period": DASHBOARD_PERIOD_S, "metrics": metrics}
    if threshold is not None:
        properties["annotations"] = {"horizontal": [{"label": "alarm threshold", "value": threshold}]}
    return {"type": "metric", "x": (position % 3) * 8, "y": (position // 3) * 6, "width": 8, "height": 6,
            "properties": properties}


def dashboard_body(arns: Arns) -> dict[str, Any]:
    """The dashboard: the three quality metrics, then every stage's Lambda errors and durations, then the circuit
    state of every stage the healer keeps one for (0 closed, 1 half-open, 2 open; the worst of each period)."""
    def quality(metric: str) -> list[list[Any]]:
        return [[NAMESPACE, metric, DIMENSION, arns.names.project]]

    functions = [arns.names.function(stage.value) for stage in STAGES]
    return {"widgets": [
        _widget(arns, "Validation success rate (%)", quality(SUCCESS_RATE), "Average", 0, SUCCESS_RATE_THRESHOLD),
        _widget(arns, "Average quality score", quality(AVERAGE_SCORE), "Average", 1, SCORE_THRESHOLD),
        _widget(arns, "Processed records", quality(PROCESSED_RECORDS), "Sum", 2),
        _widget(arns, "Stage errors", [[LAMBDA_NAMESPACE, "Errors", "FunctionName", f] for f in functions],
                "Sum", 3),
        _widget(arns, "Stage duration (ms)",
                [[LAMBDA_NAMESPACE, "Duration", "FunctionName", f] for f in functions], "Average", 4),
        _widget(arns, "Circuits (0 closed, 1 half-open, 2 open)",
                [[HEALTH_NAMESPACE, CIRCUIT_STATE, DIMENSION, arns.names.project, STAGE_DIMENSION, spec.name]
                 for spec in MAPPED_STAGES], "Maximum", 5),
    ]}
