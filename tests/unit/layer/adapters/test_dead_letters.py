"""A stage's dead letters on moto's SQS: those from the stage's queue go back to it with their count of redrives,
one redriven too often is parked with the reason, and the other stages' (and parked ones) stay in the dead-letter
queue, visible again. moto does not set `DeadLetterQueueSourceArn`; the source is given as the attribute a parked
dead letter carries, which the adapter reads the same way (the e2e self-healing test takes the real one)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lakebox_layer.adapters.dead_letters import MAX_REDRIVES, PARKED, REDRIVES, SOURCE, DeadLetters, Redriven

DLQ, CURATION, QUALITY = "lake-dlq", "lake-curation", "lake-quality"


@pytest.fixture
def sqs() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sqs", region_name="us-east-1")
        for name in (DLQ, CURATION, QUALITY):
            client.create_queue(QueueName=name)
        yield client


def dead_letters(sqs: Any) -> DeadLetters:
    return DeadLetters(sqs, DLQ, lambda queue: str(sqs.get_queue_url(QueueName=queue)["QueueUrl"]))


def arn(sqs: Any, name: str) -> str:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def dead_letter(sqs: Any, body: str, source: str, **attributes: str) -> None:
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=DLQ)["QueueUrl"], MessageBody=body, MessageAttributes={
        SOURCE: {"DataType": "String", "StringValue": arn(sqs, source)},
        **{name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}})


def drain(sqs: Any, name: str) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                          VisibilityTimeout=0).get("Messages", []):
        for message in messages:
            found.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def attribute(message: dict[str, Any], name: str) -> str | None:
    value = message.get("MessageAttributes", {}).get(name)
    return None if value is None else str(value["StringValue"])


def test_a_stages_dead_letters_go_back_to_its_queue_counted_and_the_others_stay(sqs: Any) -> None:
    dead_letter(sqs, "first", CURATION)
    dead_letter(sqs, "again", CURATION, **{REDRIVES: "1"})
    dead_letter(sqs, "quality's", QUALITY)

    assert dead_letters(sqs).redrive(CURATION) == Redriven(sent=2, parked=0)

    back = {m["Body"]: attribute(m, REDRIVES) for m in drain(sqs, CURATION)}
    assert back == {"first": "1", "again": "2"}
    assert [m["Body"] for m in drain(sqs, DLQ)] == ["quality's"]  # visible again at once


def test_a_dead_letter_redriven_too_often_is_parked_with_the_reason_and_left_alone(sqs: Any) -> None:
    dead_letter(sqs, "hopeless", CURATION, **{REDRIVES: str(MAX_REDRIVES)})

    assert dead_letters(sqs).redrive(CURATION) == Redriven(sent=0, parked=1)
    assert dead_letters(sqs).redrive(CURATION) == Redriven()  # parked: not sent back again

    [parked] = drain(sqs, DLQ)
    assert parked["Body"] == "hopeless"
    assert f"{MAX_REDRIVES} times" in (attribute(parked, PARKED) or "")
    assert attribute(parked, SOURCE) == arn(sqs, CURATION)
    assert drain(sqs, CURATION) == []


def test_nothing_to_redrive_is_nothing_done(sqs: Any) -> None:
    assert dead_letters(sqs).redrive(CURATION) == Redriven()
