"""The shared provisioning steps: read-compare-write, the report, retries with a deadline, teardown, tags."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.provision import Provisioner, Report, retry
from lakebox_infra.provision.base import Context, absent, ensure
from lakebox_infra.provision.tags import ensure_tags
from tests.fakes.provision import AWS, PLAIN_HTTP, TAGS, TOPOLOGY, Stubs


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


class Clock:
    """time.monotonic and time.sleep for `retry`: sleeping moves the clock instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("lakebox_infra.provision.base.time", fake)
    return fake


@pytest.fixture
def context() -> Context:
    return Stubs().context


def test_retry_retries_a_propagation_error_and_returns_the_result(clock: Clock) -> None:
    answers: list[Any] = [client_error("InvalidParameterValueException"),
                          client_error("InvalidParameterValueException"), "created"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, ClientError):
            raise answer
        return str(answer)

    assert retry(call, retry_on={"InvalidParameterValueException"}, what="creating f") == "created"
    assert clock.slept == [1.0, 2.0]


def test_retry_gives_up_at_the_deadline_with_a_provisioning_error(clock: Clock) -> None:
    def call() -> None:
        raise client_error("InvalidParameterValueException")

    with pytest.raises(ProvisioningError, match="creating f: InvalidParameterValueException"):
        retry(call, retry_on={"InvalidParameterValueException"}, what="creating f", deadline_s=90)
    assert clock.slept[:5] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert sum(clock.slept) <= 90 < sum(clock.slept) + 10


def test_retry_does_not_retry_other_errors(clock: Clock) -> None:
    def call() -> None:
        raise client_error("AccessDenied")

    with pytest.raises(ProvisioningError, match="AccessDenied"):
        retry(call, retry_on={"InvalidParameterValueException"}, what="creating f")
    assert clock.slept == []


def test_ensure_reports_same_and_writes_nothing_when_equal(context: Context) -> None:
    written: list[object] = []

    assert not ensure(context, "policy p", lambda: '{"b": 1, "a": [2]}', {"a": [2], "b": 1}, written.append)
    assert written == []
    assert context.report.unchanged == ["policy p"]


def test_ensure_writes_what_differs_and_creates_what_is_missing(context: Context) -> None:
    written: list[object] = []

    def gone() -> str:
        raise client_error("NoSuchEntity")

    assert ensure(context, "setting s", lambda: "Suspended", "Enabled", written.append)
    assert ensure(context, "thing t", gone, "Enabled", written.append,
                  lambda found: "created" if found is None else "updated")
    assert written == ["Suspended", None]
    assert context.report.changes == [("set", "setting s"), ("created", "thing t")]


def test_ensure_lets_other_errors_through(context: Context) -> None:
    def denied() -> str:
        raise client_error("AccessDenied")

    with pytest.raises(ClientError):
        ensure(context, "setting s", denied, "Enabled", lambda _: None)


def test_absent_counts_a_missing_resource_as_done(context: Context) -> None:
    def gone() -> None:
        raise client_error("ResourceNotFoundException")

    absent(context, "function f", gone)
    absent(context, "layer l", lambda: False)
    absent(context, "queue q", lambda: None)
    assert context.report.unchanged == ["function f (absent)", "layer l (absent)"]
    assert context.report.changes == [("deleted", "queue q")]


def test_report_summary() -> None:
    report = Report()
    report.same("bucket b")
    assert report.summary() == "no changes: all 1 resources already as declared"
    report.changed("created", "queue q")
    assert report.summary() == "1 changed, 1 unchanged"


def test_tags_are_merged_over_the_resources_own_and_written_only_when_they_differ(context: Context) -> None:
    written: list[dict[str, str]] = []

    ensure_tags(context, "queues", "queue q", lambda: {**TAGS, "owner": "data"}, written.append)
    ensure_tags(context, "queues", "queue r", lambda: {"managed-by": "someone", "owner": "data"}, written.append)

    assert written == [{"owner": "data", **TAGS}]
    assert context.report.changes == [("set", "tags of queue r")]
    assert context.report.unchanged == ["tags of queue q"]


def test_an_endpoint_that_cannot_tag_a_kind_is_warned_about_once() -> None:
    context = Stubs(PLAIN_HTTP).context
    reads: list[str] = []

    def unsupported() -> dict[str, str]:
        reads.append("read")
        raise client_error("NotImplemented")

    ensure_tags(context, "event buses", "event bus b", unsupported, lambda _: None)
    ensure_tags(context, "event buses", "event bus c", unsupported, lambda _: None)

    assert reads == ["read"]
    assert context.report.warnings == [
        "MiniStack 1.5.33 cannot tag event buses (NotImplemented): they are provisioned untagged"]
    assert context.report.changes == []


def test_the_provisioner_keeps_its_public_api_without_issuing_operator_keys() -> None:
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    provisioner = Provisioner(TOPOLOGY, session, None, capabilities=AWS)

    assert provisioner.report is provisioner.context.report
    assert provisioner.names == TOPOLOGY.names
    assert provisioner.capabilities is AWS
    assert provisioner.client("sqs") is provisioner.client("sqs")
    assert not hasattr(provisioner, "operator_credentials")
