"""The quality alarms, the SNS topic they notify and the pipeline's dashboard; each skipped with one warning where
the endpoint cannot list topics, alarms or dashboards (it has no SNS, or no CloudWatch).

The topic is not encrypted: CloudWatch can publish to a topic encrypted with a customer-managed key only (not the
AWS-managed `aws/sns` key), and an alert carries an alarm's name and state, not data.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from lakebox_infra.provision.base import Context, absent, ensure, offered
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list


def apply_monitoring(ctx: Context) -> None:
    """The alerts topic, then the alarms that notify it, then the dashboard; each service the endpoint cannot list
    is skipped with one warning."""
    if topics_listed(ctx):
        apply_topic(ctx)
    alarms = existing_alarms(ctx)
    if alarms is not None:
        for alarm in ctx.topology.alarms:
            apply_alarm(ctx, alarm, alarms)
    dashboard = dashboard_listed(ctx)
    if dashboard is not None:
        apply_dashboard(ctx, dashboard)


def teardown_monitoring(ctx: Context) -> None:
    """Delete the alarms first (they name the topic), then the dashboard and the topic."""
    alarms = existing_alarms(ctx)
    if alarms is not None:
        teardown_alarms(ctx, alarms)
    dashboard = dashboard_listed(ctx)
    if dashboard is not None:
        teardown_dashboard(ctx, dashboard)
    if topics_listed(ctx):
        teardown_topic(ctx)


# -- the topic ----------------------------------------------------------------------------------------------------

def topics_listed(ctx: Context) -> bool:
    """Whether the endpoint lists SNS topics (the first page tells); a warning says what is skipped when not."""
    skipped = f"the alerts topic {ctx.topology.alerts_topic} is skipped, and the alarms notify no one"
    return offered(ctx, "SNS", lambda: ctx.client("sns").list_topics(), skipped) is not None


def apply_topic(ctx: Context) -> None:
    """Create the topic when missing (with the topology's tags), then make sure it carries its policy and them."""
    sns = ctx.client("sns")
    name, arn = ctx.topology.alerts_topic, ctx.topology.alerts_topic_arn

    def read() -> str:
        return str(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"])

    ensure(ctx, f"sns topic {name}", read, arn,
           lambda _: sns.create_topic(Name=name, Tags=to_list(ctx.topology.resource_tags)), "created")
    wanted = ctx.topology.alerts_topic_policy
    ensure(ctx, f"policy of sns topic {name}",
           lambda: json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("Policy") or "null"), wanted,
           lambda _: sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(wanted)))
    ensure_tags(ctx, "sns topics", f"sns topic {name}",
                lambda: from_list(sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])),
                lambda tags: sns.tag_resource(ResourceArn=arn, Tags=to_list(tags)))


def teardown_topic(ctx: Context) -> None:
    sns = ctx.client("sns")
    arn = ctx.topology.alerts_topic_arn

    def delete() -> object:
        # DeleteTopic succeeds on a missing topic: read first, so the report says whether anything went.
        sns.get_topic_attributes(TopicArn=arn)
        return sns.delete_topic(TopicArn=arn)

    absent(ctx, f"sns topic {ctx.topology.alerts_topic}", delete)


# -- the alarms ---------------------------------------------------------------------------------------------------

def _described(ctx: Context, names: list[str]) -> dict[str, dict[str, Any]]:
    found = ctx.client("cloudwatch").describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm"])
    return {alarm["AlarmName"]: alarm for alarm in found.get("MetricAlarms", [])}


def existing_alarms(ctx: Context) -> dict[str, dict[str, Any]] | None:
    """The topology's alarms as the endpoint describes them, by name (those missing left out); None, with a
    warning saying what is skipped, when the endpoint cannot list alarms."""
    names = [alarm["AlarmName"] for alarm in ctx.topology.alarms]
    return offered(ctx, "CloudWatch alarms", lambda: _described(ctx, names),
                   f"the alarms {', '.join(names)} are skipped")


def apply_alarm(ctx: Context, wanted: dict[str, Any], existing: dict[str, dict[str, Any]]) -> None:
    """Put the alarm when it is missing from `existing` or any declared setting differs (CloudWatch adds state and
    defaults, which are not compared); then its tags."""
    cloudwatch = ctx.client("cloudwatch")
    name = wanted["AlarmName"]

    def read() -> dict[str, Any] | None:
        alarm = existing.get(name)
        return None if alarm is None else {key: alarm.get(key) for key in wanted}

    def write(found: dict[str, Any] | None) -> None:
        # Tags given to PutMetricAlarm apply on create only; an existing alarm's are set by ensure_tags below.
        tags = {"Tags": to_list(ctx.topology.resource_tags)} if found is None else {}
        cloudwatch.put_metric_alarm(**wanted, **tags)

    def action(found: dict[str, Any] | None) -> str:
        if found is None:
            return "created"
        return f"updated {', '.join(key for key, value in wanted.items() if found[key] != value)} of"

    ensure(ctx, f"alarm {name}", read, wanted, write, action)
    arn = ctx.topology.arn("cloudwatch", f"alarm:{name}")
    ensure_tags(ctx, "alarms", f"alarm {name}",
                lambda: from_list(cloudwatch.list_tags_for_resource(ResourceARN=arn).get("Tags", [])),
                lambda tags: cloudwatch.tag_resource(ResourceARN=arn, Tags=to_list(tags)))


def teardown_alarms(ctx: Context, existing: dict[str, dict[str, Any]]) -> None:
    """Delete the alarms that exist (DeleteAlarms may refuse names that do not)."""
    names = [alarm["AlarmName"] for alarm in ctx.topology.alarms]
    cloudwatch = ctx.client("cloudwatch")

    def delete(name: str) -> object:
        return name in existing and cloudwatch.delete_alarms(AlarmNames=[name])

    for name in names:
        absent(ctx, f"alarm {name}", partial(delete, name))


# -- the dashboard ------------------------------------------------------------------------------------------------

def dashboard_listed(ctx: Context) -> bool | None:
    """Whether the endpoint lists the dashboard; None, with a warning saying what is skipped, when it cannot list
    dashboards. (GetDashboard's answer for a missing dashboard differs between endpoints; the listing's does not.)"""
    name = ctx.topology.dashboard

    def listing() -> bool:
        pages = ctx.client("cloudwatch").get_paginator("list_dashboards").paginate(DashboardNamePrefix=name)
        return any(entry["DashboardName"] == name for page in pages for entry in page.get("DashboardEntries", []))

    return offered(ctx, "CloudWatch dashboards", listing, f"the dashboard {name} is skipped")


def _dashboard_body(ctx: Context) -> dict[str, Any]:
    """The body of the dashboard, which exists, as a document."""
    found = ctx.client("cloudwatch").get_dashboard(DashboardName=ctx.topology.dashboard)
    body: dict[str, Any] = json.loads(found["DashboardBody"])
    return body


def apply_dashboard(ctx: Context, listed: bool) -> None:
    """Put the dashboard when it is not `listed` or its body differs as a document (not as text). Dashboards take
    no tags."""
    name = ctx.topology.dashboard
    wanted = ctx.topology.dashboard_body

    def write(_: object) -> None:
        answer = ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=json.dumps(wanted))
        for message in answer.get("DashboardValidationMessages", []):
            ctx.report.warn(f"dashboard {name}: {message.get('DataPath', '')} {message.get('Message', '')}".strip())

    ensure(ctx, f"dashboard {name}", lambda: _dashboard_body(ctx) if listed else None, wanted, write,
           lambda found: "created" if found is None else "updated")


def teardown_dashboard(ctx: Context, listed: bool) -> None:
    """Delete the dashboard when it is `listed`."""
    name = ctx.topology.dashboard
    absent(ctx, f"dashboard {name}",
           lambda: listed and ctx.client("cloudwatch").delete_dashboards(DashboardNames=[name]))
