"""EventPublisher's PutEvents request as EventBridge's API model checks it (botocore Stubber), and every refusal
mapped to PublishError."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.exceptions import PublishError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

BUS = "lakebox-bus"
DETAIL = {"process_id": "0f3b1c2d4e5f60718293a4b5c6d7e8f9", "key": "input/a.json", "quality_score": 87.5}


@pytest.fixture
def client() -> EventBridgeClient:
    return boto3.client("events", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: EventBridgeClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def publisher(client: EventBridgeClient) -> EventPublisher:
    return EventPublisher(client, BUS)


def entry(detail: str) -> dict[str, object]:
    return {"Source": "datalake.validation", "DetailType": "Data Validated", "Detail": detail, "EventBusName": BUS}


def test_one_entry_on_the_bus_with_the_detail_as_json(publisher: EventPublisher, stubber: Stubber) -> None:
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]},
                         {"Entries": [entry(json.dumps(DETAIL))]})
    publisher.publish("datalake.validation", "Data Validated", DETAIL)


def test_values_json_cannot_hold_are_sent_as_text(publisher: EventPublisher, stubber: Stubber) -> None:
    at = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    stubber.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]},
                         {"Entries": [entry(json.dumps({"arrived_at": "2026-01-15 10:30:00+00:00"}))]})
    publisher.publish("datalake.validation", "Data Validated", {"arrived_at": at})


def test_an_entry_the_bus_refuses_is_a_publish_error(publisher: EventPublisher, stubber: Stubber) -> None:
    stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
        {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"},
    ]})
    with pytest.raises(PublishError, match=f"Data Validated not accepted by {BUS}: InternalFailure try again"):
        publisher.publish("datalake.validation", "Data Validated", DETAIL)


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException", "ThrottlingException"])
def test_a_refused_call_is_a_publish_error_naming_the_code(publisher: EventPublisher, stubber: Stubber,
                                                           code: str) -> None:
    stubber.add_client_error("put_events", service_error_code=code)
    with pytest.raises(PublishError, match=f"Data Validated not sent to {BUS}: {code}"):
        publisher.publish("datalake.validation", "Data Validated", DETAIL)


def test_many_events_go_ten_to_a_call_and_a_refused_entry_fails_only_itself(publisher: EventPublisher,
                                                                            stubber: Stubber) -> None:
    details = [{"key": f"input/{n}.json"} for n in range(12)]
    stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [
        {"EventId": f"e-{n}"} if n != 3 else {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}
        for n in range(10)]}, {"Entries": [entry(json.dumps(d)) for d in details[:10]]})
    stubber.add_client_error("put_events", service_error_code="ThrottlingException")

    refused = publisher.publish_all([("datalake.validation", "Data Validated", d) for d in details])

    assert [n for n, error in enumerate(refused) if error is None] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert "InternalFailure try again" in str(refused[3])
    assert all("not sent" in str(error) and "ThrottlingException" in str(error) for error in refused[10:])
