"""Bootstrap provisions the quality alarms, their alerts topic and the dashboard; a second run leaves them alone and
teardown removes them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lakebox_infra.capabilities import detect
from lakebox_infra.observability import SCORE_THRESHOLD, SUCCESS_RATE_THRESHOLD
from lakebox_infra.provision import monitoring
from lakebox_infra.provision.base import Context, Report
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.metrics import AVERAGE_SCORE, NAMESPACE, PROCESSED_RECORDS, SUCCESS_RATE, dimensions
from lakebox_layer.settings import ResourceNames
from tests.e2e.lake import Lake


def run(lake: Lake, topology: Topology, step: Any) -> Report:
    """One monitoring step for `topology` on the session's emulator, with a fresh report."""
    context = Context(topology, lake.target.session, lake.target.endpoint, detect(lake.target.endpoint))
    step(context)
    return context.report


def alarms_of(lake: Lake, topology: Topology) -> dict[str, dict[str, Any]]:
    names = [alarm["AlarmName"] for alarm in topology.alarms]
    found = lake.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return {alarm["MetricName"]: alarm for alarm in found}


def test_bootstrap_provisions_the_quality_alarms_notifying_the_alerts_topic(lake: Lake) -> None:
    topology = Topology(lake.names)
    topic = lake.client("sns").get_topic_attributes(TopicArn=topology.alerts_topic_arn)["Attributes"]
    assert topic["TopicArn"].endswith(":lakebox-quality-alerts")

    alarms = alarms_of(lake, topology)

    assert {name: alarm["Threshold"] for name, alarm in alarms.items()} == \
        {SUCCESS_RATE: SUCCESS_RATE_THRESHOLD, AVERAGE_SCORE: SCORE_THRESHOLD}
    for alarm in alarms.values():
        assert alarm["Namespace"] == NAMESPACE
        assert alarm["Dimensions"] == dimensions(lake.names.project)
        assert (alarm["Statistic"], alarm["ComparisonOperator"]) == ("Average", "LessThanThreshold")
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["TreatMissingData"]) == (300, 3, "notBreaching")
        assert alarm["AlarmActions"] == alarm["OKActions"] == [topic["TopicArn"]]
        tags = lake.client("cloudwatch").list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        assert {"Key": "managed-by", "Value": "lakebox"} in tags


def test_bootstrap_provisions_the_dashboard_with_the_quality_and_stage_metrics(lake: Lake) -> None:
    topology = Topology(lake.names)

    found = lake.client("cloudwatch").get_dashboard(DashboardName=topology.dashboard)

    body = json.loads(found["DashboardBody"])
    assert body == topology.dashboard_body
    metrics = [line for widget in body["widgets"] for line in widget["properties"]["metrics"]]
    for metric in (SUCCESS_RATE, AVERAGE_SCORE, PROCESSED_RECORDS):
        assert [NAMESPACE, metric, "Pipeline", lake.names.project] in metrics
    for function in topology.functions:
        assert ["AWS/Lambda", "Errors", "FunctionName", function.name] in metrics
        assert ["AWS/Lambda", "Duration", "FunctionName", function.name] in metrics


def test_a_second_run_leaves_the_monitoring_alone(lake: Lake) -> None:
    topology = Topology(lake.names)

    report = run(lake, topology, monitoring.apply_monitoring)

    assert report.changes == []
    assert report.warnings == []
    assert {f"alarm {alarm['AlarmName']}" for alarm in topology.alarms} <= set(report.unchanged)
    assert f"dashboard {topology.dashboard}" in report.unchanged


def test_teardown_removes_the_alarms_the_dashboard_and_the_topic(lake: Lake) -> None:
    """On a second project in the same emulator, so the session's own monitoring stays."""
    topology = Topology(ResourceNames("lakebox-alarms", lake.names.account, lake.names.region))
    # The topic, its policy (the alarms and the notice rules may publish), two alarms and the dashboard.
    assert len(run(lake, topology, monitoring.apply_monitoring).changes) == 5
    assert len(alarms_of(lake, topology)) == 2

    removed = run(lake, topology, monitoring.teardown_monitoring)
    again = run(lake, topology, monitoring.teardown_monitoring)

    assert [action for action, _ in removed.changes] == ["deleted"] * 4
    assert again.changes == []
    assert alarms_of(lake, topology) == {}
    with pytest.raises(ClientError) as no_dashboard:
        lake.client("cloudwatch").get_dashboard(DashboardName=topology.dashboard)
    assert no_dashboard.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ClientError) as no_topic:
        lake.client("sns").get_topic_attributes(TopicArn=topology.alerts_topic_arn)
    assert no_topic.value.response["Error"]["Code"] == "NotFound"
    assert len(alarms_of(lake, Topology(lake.names))) == 2, "the session's own alarms are untouched"
