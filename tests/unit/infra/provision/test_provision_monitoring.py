"""Monitoring: the alerts topic, the quality alarms and the dashboard are written only where they differ, and removed
by teardown whether or not they exist."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from lakebox_infra.observability import SCORE_THRESHOLD, SUCCESS_RATE_THRESHOLD
from lakebox_infra.provision import monitoring
from lakebox_layer.adapters.metrics import AVERAGE_SCORE, NAMESPACE, SUCCESS_RATE, dimensions
from lakebox_layer.registry import MAPPED_STAGES
from tests.fakes.provision import NAMES, TAG_LIST, TOPOLOGY, Stubs, missing

TOPIC = TOPOLOGY.alerts_topic
TOPIC_ARN = f"arn:aws:sns:us-east-1:000000000000:{TOPIC}"
ALARMS = TOPOLOGY.alarms
ALARM_NAMES = [alarm["AlarmName"] for alarm in ALARMS]
DASHBOARD = TOPOLOGY.dashboard


def alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"


def described(alarm: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """An alarm as DescribeAlarms returns it: the declared settings plus state and defaults CloudWatch adds."""
    return {**alarm, "AlarmArn": alarm_arn(alarm["AlarmName"]), "StateValue": "OK", "StateReason": "fine",
            "InsufficientDataActions": [], **overrides}


def expect_topic(sns: Stubber, exists: bool, tags: list[dict[str, str]] = TAG_LIST) -> None:
    sns.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC_ARN}] if exists else []}, {})
    policy = json.dumps(TOPOLOGY.alerts_topic_policy)
    if exists:
        sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC_ARN}}, {"TopicArn": TOPIC_ARN})
        sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC_ARN, "Policy": policy}},
                         {"TopicArn": TOPIC_ARN})
    else:
        missing(sns, "get_topic_attributes", "NotFound", {"TopicArn": TOPIC_ARN})
        sns.add_response("create_topic", {"TopicArn": TOPIC_ARN}, {"Name": TOPIC, "Tags": TAG_LIST})
        # A new topic has SNS's default policy, which does not let EventBridge publish.
        sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC_ARN, "Policy": "{}"}},
                         {"TopicArn": TOPIC_ARN})
        sns.add_response("set_topic_attributes", {}, {"TopicArn": TOPIC_ARN, "AttributeName": "Policy",
                                                      "AttributeValue": policy})
    sns.add_response("list_tags_for_resource", {"Tags": tags}, {"ResourceArn": TOPIC_ARN})


def expect_alarms(cloudwatch: Stubber, found: list[dict[str, Any]]) -> None:
    """DescribeAlarms of the topology's alarms, once for all of them."""
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": found},
                            {"AlarmNames": ALARM_NAMES, "AlarmTypes": ["MetricAlarm"]})


def expect_alarm(cloudwatch: Stubber, alarm: dict[str, Any], found: dict[str, Any] | None) -> None:
    """The alarm put when missing or different, then its tags read."""
    name = alarm["AlarmName"]
    if found is None:
        cloudwatch.add_response("put_metric_alarm", {}, {**alarm, "Tags": TAG_LIST})
    elif any(found[key] != value for key, value in alarm.items()):
        cloudwatch.add_response("put_metric_alarm", {}, alarm)
    cloudwatch.add_response("list_tags_for_resource", {"Tags": TAG_LIST}, {"ResourceARN": alarm_arn(name)})


def expect_listed(cloudwatch: Stubber, *names: str) -> None:
    """ListDashboards by the dashboard's name as prefix; a longer name sharing the prefix is not the dashboard."""
    entries = [{"DashboardName": name, "DashboardArn": f"arn:aws:cloudwatch::000000000000:dashboard/{name}"}
               for name in names]
    cloudwatch.add_response("list_dashboards", {"DashboardEntries": entries}, {"DashboardNamePrefix": DASHBOARD})


def expect_dashboard(cloudwatch: Stubber, body: dict[str, Any] | None, put: bool) -> None:
    if body is None:
        expect_listed(cloudwatch, f"{DASHBOARD}-old")
    else:
        expect_listed(cloudwatch, DASHBOARD)
        # Read back re-serialised: compared as a document, not as text.
        found = {"DashboardName": DASHBOARD, "DashboardBody": json.dumps(body, indent=2)}
        cloudwatch.add_response("get_dashboard", found, {"DashboardName": DASHBOARD})
    if put:
        cloudwatch.add_response("put_dashboard", {"DashboardValidationMessages": []},
                                {"DashboardName": DASHBOARD, "DashboardBody": json.dumps(TOPOLOGY.dashboard_body)})


def test_the_alarms_watch_the_quality_metrics_as_the_quality_stage_publishes_them() -> None:
    by_metric = {alarm["MetricName"]: alarm for alarm in ALARMS}

    assert set(by_metric) == {SUCCESS_RATE, AVERAGE_SCORE}
    assert by_metric[SUCCESS_RATE]["Threshold"] == SUCCESS_RATE_THRESHOLD == 90.0
    assert by_metric[AVERAGE_SCORE]["Threshold"] == SCORE_THRESHOLD
    for alarm in ALARMS:
        assert alarm["Namespace"] == NAMESPACE
        assert alarm["Dimensions"] == dimensions(NAMES.project)
        assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["TreatMissingData"]) == (300, 3, "notBreaching")
        assert alarm["AlarmActions"] == alarm["OKActions"] == [TOPIC_ARN]
    assert TOPIC == "lakebox-quality-alerts"


def test_the_dashboard_shows_the_quality_metrics_and_every_stages_errors_and_durations() -> None:
    metrics = [line for widget in TOPOLOGY.dashboard_body["widgets"] for line in widget["properties"]["metrics"]]

    assert [line[1] for line in metrics if line[0] == NAMESPACE] == \
        [SUCCESS_RATE, AVERAGE_SCORE, "ProcessedRecords"]
    for function in TOPOLOGY.functions:
        assert ["AWS/Lambda", "Errors", "FunctionName", function.name] in metrics
        assert ["AWS/Lambda", "Duration", "FunctionName", function.name] in metrics


def test_the_dashboard_shows_the_circuit_of_every_stage_the_healer_keeps_one_for() -> None:
    [circuits] = [w for w in TOPOLOGY.dashboard_body["widgets"] if w["properties"]["title"].startswith("Circuits")]

    assert circuits["properties"]["stat"] == "Maximum"  # a period that saw it open shows it open
    assert circuits["properties"]["metrics"] == [
        ["DataLake/Health", "CircuitState", "Pipeline", NAMES.project, "Stage", spec.name] for spec in MAPPED_STAGES]


def test_missing_monitoring_is_created_with_its_tags() -> None:
    stubs = Stubs()
    expect_topic(stubs("sns"), exists=False)
    cloudwatch = stubs("cloudwatch")
    expect_alarms(cloudwatch, [])
    for alarm in ALARMS:
        expect_alarm(cloudwatch, alarm, None)
    expect_dashboard(cloudwatch, None, put=True)

    monitoring.apply_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"sns topic {TOPIC}"), ("set", f"policy of sns topic {TOPIC}"),
                             *[("created", f"alarm {n}") for n in ALARM_NAMES], ("created", f"dashboard {DASHBOARD}")]


def test_monitoring_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    expect_topic(stubs("sns"), exists=True, tags=[*TAG_LIST, {"Key": "owner", "Value": "data"}])
    cloudwatch = stubs("cloudwatch")
    expect_alarms(cloudwatch, [described(alarm) for alarm in ALARMS])
    for alarm in ALARMS:
        expect_alarm(cloudwatch, alarm, described(alarm))
    expect_dashboard(cloudwatch, TOPOLOGY.dashboard_body, put=False)

    monitoring.apply_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert f"dashboard {DASHBOARD}" in stubs.unchanged


def test_a_different_threshold_puts_the_alarm_again_and_a_different_body_the_dashboard() -> None:
    stubs = Stubs()
    expect_topic(stubs("sns"), exists=True)
    cloudwatch = stubs("cloudwatch")
    first, second = ALARMS
    expect_alarms(cloudwatch, [described(first, Threshold=95.0), described(second)])
    expect_alarm(cloudwatch, first, described(first, Threshold=95.0))
    expect_alarm(cloudwatch, second, described(second))
    expect_dashboard(cloudwatch, {"widgets": []}, put=True)

    monitoring.apply_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated Threshold of", f"alarm {first['AlarmName']}"),
                             ("updated", f"dashboard {DASHBOARD}")]


def test_teardown_deletes_the_alarms_the_dashboard_and_the_topic() -> None:
    stubs = Stubs()
    cloudwatch = stubs("cloudwatch")
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": [described(alarm) for alarm in ALARMS]},
                            {"AlarmNames": ALARM_NAMES, "AlarmTypes": ["MetricAlarm"]})
    for name in ALARM_NAMES:
        cloudwatch.add_response("delete_alarms", {}, {"AlarmNames": [name]})
    expect_listed(cloudwatch, DASHBOARD)
    cloudwatch.add_response("delete_dashboards", {}, {"DashboardNames": [DASHBOARD]})
    sns = stubs("sns")
    sns.add_response("list_topics", {"Topics": [{"TopicArn": TOPIC_ARN}]}, {})
    sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC_ARN}}, {"TopicArn": TOPIC_ARN})
    sns.add_response("delete_topic", {}, {"TopicArn": TOPIC_ARN})

    monitoring.teardown_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == [*[("deleted", f"alarm {n}") for n in ALARM_NAMES], ("deleted", f"dashboard {DASHBOARD}"),
                             ("deleted", f"sns topic {TOPIC}")]


def test_teardown_counts_missing_monitoring_as_absent() -> None:
    stubs = Stubs()
    cloudwatch = stubs("cloudwatch")
    cloudwatch.add_response("describe_alarms", {"MetricAlarms": []},
                            {"AlarmNames": ALARM_NAMES, "AlarmTypes": ["MetricAlarm"]})
    expect_listed(cloudwatch)
    sns = stubs("sns")
    sns.add_response("list_topics", {"Topics": []}, {})
    missing(sns, "get_topic_attributes", "NotFound", {"TopicArn": TOPIC_ARN})

    monitoring.teardown_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [*[f"alarm {n} (absent)" for n in ALARM_NAMES], f"dashboard {DASHBOARD} (absent)",
                               f"sns topic {TOPIC} (absent)"]


@pytest.mark.parametrize(("code", "status"), [("InternalFailure", 501), ("404", 404)])
def test_an_endpoint_that_cannot_list_topics_skips_the_topic_with_one_warning(code: str, status: int) -> None:
    stubs = Stubs()
    stubs("sns").add_client_error("list_topics", service_error_code=code, http_status_code=status,
                                  expected_params={})
    cloudwatch = stubs("cloudwatch")
    expect_alarms(cloudwatch, [described(alarm) for alarm in ALARMS])
    for alarm in ALARMS:
        expect_alarm(cloudwatch, alarm, described(alarm))
    expect_dashboard(cloudwatch, TOPOLOGY.dashboard_body, put=False)

    monitoring.apply_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == []
    [warning] = stubs.context.report.warnings
    assert warning.startswith(f"AWS does not offer SNS ({code}): the alerts topic {TOPIC} is skipped")


def test_an_endpoint_that_cannot_list_alarms_or_dashboards_skips_them_with_one_warning_each() -> None:
    stubs = Stubs()
    expect_topic(stubs("sns"), exists=True)
    cloudwatch = stubs("cloudwatch")
    cloudwatch.add_client_error("describe_alarms", service_error_code="404", http_status_code=404,
                                expected_params={"AlarmNames": ALARM_NAMES, "AlarmTypes": ["MetricAlarm"]})
    cloudwatch.add_client_error("list_dashboards", service_error_code="UnknownOperationException",
                                http_status_code=400, expected_params={"DashboardNamePrefix": DASHBOARD})

    monitoring.apply_monitoring(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.context.report.warnings == [
        f"AWS does not offer CloudWatch alarms (404): the alarms {', '.join(ALARM_NAMES)} are skipped",
        f"AWS does not offer CloudWatch dashboards (UnknownOperationException): the dashboard {DASHBOARD} is skipped",
    ]


def test_the_topic_lets_the_alarms_and_the_notice_rules_publish_and_no_one_else_from_outside() -> None:
    account, alarms, notices = TOPOLOGY.alerts_topic_policy["Statement"]

    assert account["Principal"] == {"AWS": "arn:aws:iam::000000000000:root"}
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and alarms["Action"] == "sns:Publish"
    assert alarms["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:lakebox-*"}}
    assert notices["Principal"] == {"Service": "events.amazonaws.com"} and notices["Action"] == "sns:Publish"
    assert notices["Condition"] == {"ArnEquals": {"aws:SourceArn": [
        "arn:aws:events:us-east-1:000000000000:rule/lakebox-bus/lakebox-sensitive-data-detected-rule"]}}
    [rule] = TOPOLOGY.notice_rules
    assert (rule.pattern, rule.target_arn) == (
        {"source": ["datalake.validation"], "detail-type": ["Sensitive Data Detected"]}, TOPOLOGY.alerts_topic_arn)
