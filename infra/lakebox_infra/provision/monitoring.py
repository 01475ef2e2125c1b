"""The quality alarms, the SNS topic they notify and the pipeline's dashboard; skipped with a warning where the
endpoint has no SNS or CloudWatch alarms or dashboards.

The topic is not encrypted: CloudWatch can publish to a topic encrypted with a customer-managed key only (not the
AWS-managed `aws/sns` key), and an alert carries an alarm's name and state, not data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from lakebox_infra.provision.base import Context, absent, ensure
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list
from lakebox_layer.adapters.errors import error_code, unavailable

# GetDashboard and DeleteDashboards answer a missing dashboard with these codes (AWS: ResourceNotFound; MiniStack
# answers DeleteDashboards with the exception's name), which no other service uses.
DASHBOARD_MISSING = frozenset({"ResourceNotFound", "DashboardNotFoundError"})


def _available(ctx: Context, what: str, step: Callable[[], None]) -> None:
    """Run one step; an endpoint without the service skips it with a warning saying what is missing."""
    try:
        step()
    except ClientError as error:
        if not unavailable(error):
            raise
        ctx.report.warn(f"{ctx.capabilities.emulator} does not offer {what} ({error_code(error)}): it is skipped; "
                        "everything else is provisioned")


def apply_monitoring(ctx: Context) -> None:
    """The alerts topic, then the alarms that notify it, then the dashboard."""
    _available(ctx, f"the SNS topic {ctx.topology.alerts_topic}", lambda: apply_topic(ctx))
    for alarm in ctx.topology.alarms:
        _available(ctx, f"the CloudWatch alarm {alarm['AlarmName']}", partial(apply_alarm, ctx, alarm))
    _available(ctx, f"the CloudWatch dashboard {ctx.topology.dashboard}", lambda: apply_dashboard(ctx))


def teardown_monitoring(ctx: Context) -> None:
    """Delete the alarms first (they name the topic), then the dashboard and the topic."""
    _available(ctx, "CloudWatch alarms", lambda: teardown_alarms(ctx))
    _available(ctx, "CloudWatch dashboards", lambda: teardown_dashboard(ctx))
    _available(ctx, "SNS topics", lambda: teardown_topic(ctx))


# -- the topic ----------------------------------------------------------------------------------------------------

def apply_topic(ctx: Context) -> None:
    """Create the topic when missing (with the topology's tags), then make sure it carries them."""
    sns = ctx.client("sns")
    name, arn = ctx.topology.alerts_topic, ctx.topology.alerts_topic_arn

    def read() -> str:
        return str(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"])

    ensure(ctx, f"sns topic {name}", read, arn,
           lambda _: sns.create_topic(Name=name, Tags=to_list(ctx.topology.resource_tags)), "created")
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


def apply_alarm(ctx: Context, wanted: dict[str, Any]) -> None:
    """Put the alarm when it is missing or any declared setting differs (CloudWatch adds state and defaults, which
    are not compared); then its tags."""
    cloudwatch = ctx.client("cloudwatch")
    name = wanted["AlarmName"]

    def read() -> dict[str, Any] | None:
        alarm = _described(ctx, [name]).get(name)
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


def teardown_alarms(ctx: Context) -> None:
    """Delete the alarms that exist (DeleteAlarms may refuse names that do not)."""
    names = [alarm["AlarmName"] for alarm in ctx.topology.alarms]
    existing = _described(ctx, names)
    cloudwatch = ctx.client("cloudwatch")

    def delete(name: str) -> object:
        return name in existing and cloudwatch.delete_alarms(AlarmNames=[name])

    for name in names:
        absent(ctx, f"alarm {name}", partial(delete, name))


# -- the dashboard ------------------------------------------------------------------------------------------------

def _dashboard_body(ctx: Context) -> dict[str, Any] | None:
    """The dashboard's body as a document, or None when there is no dashboard of that name."""
    try:
        found = ctx.client("cloudwatch").get_dashboard(DashboardName=ctx.topology.dashboard)
    except ClientError as error:
        if error_code(error) in DASHBOARD_MISSING:
            return None
        raise
    body: dict[str, Any] = json.loads(found["DashboardBody"])
    return body


def apply_dashboard(ctx: Context) -> None:
    """Put the dashboard when it is missing or its body differs as a document (not as text). Dashboards take no
    tags."""
    name = ctx.topology.dashboard
    wanted = ctx.topology.dashboard_body

    def write(_: object) -> None:
        answer = ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=json.dumps(wanted))
        for message in answer.get("DashboardValidationMessages", []):
            ctx.report.warn(f"dashboard {name}: {message.get('DataPath', '')} {message.get('Message', '')}".strip())

    ensure(ctx, f"dashboard {name}", lambda: _dashboard_body(ctx), wanted, write,
           lambda found: "created" if found is None else "updated")


def teardown_dashboard(ctx: Context) -> None:
    name = ctx.topology.dashboard

    def delete() -> object:
        if _dashboard_body(ctx) is None:
            return False
        return ctx.client("cloudwatch").delete_dashboards(DashboardNames=[name])

    absent(ctx, f"dashboard {name}", delete)
