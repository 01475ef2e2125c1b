"""QueueRetries: failed messages' next tries after their backoff (doubling per receive, capped), as SQS's API model
checks the requests (botocore Stubber); refusals are errors, never silence."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.adapters.retries import BACKOFF_MAX_S, QueueRetries, RetryError, backoff_s

ARN = "arn:aws:sqs:us-east-1:000000000000:lakebox-curation-queue"
URL = "http://127.0.0.1:4566/000000000000/lakebox-curation-queue"


@pytest.mark.parametrize(("receives", "seconds"), [(1, 30), (2, 60), (3, 120), (4, 240), (5, 480), (6, 900),
                                                   (40, BACKOFF_MAX_S), (0, 30)])
def test_the_backoff_doubles_per_receive_up_to_its_cap(receives: int, seconds: int) -> None:
    assert backoff_s(receives) == seconds


def sqs() -> tuple[object, Stubber]:
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return client, Stubber(client)


def test_each_failed_message_gets_its_backoff() -> None:
    client, stubber = sqs()
    stubber.add_response("get_queue_url", {"QueueUrl": URL},
                         {"QueueName": "lakebox-curation-queue", "QueueOwnerAWSAccountId": "000000000000"})
    failed = [(ARN, f"receipt-{n}", 1 + n % 3) for n in range(4)]
    for _, receipt, receives in failed:
        stubber.add_response("change_message_visibility", {},
                             {"QueueUrl": URL, "ReceiptHandle": receipt, "VisibilityTimeout": backoff_s(receives)})
    with stubber:
        QueueRetries(client).later(failed)  # type: ignore[arg-type]
        stubber.assert_no_pending_responses()


def test_a_refused_change_is_an_error() -> None:
    client, stubber = sqs()
    stubber.add_response("get_queue_url", {"QueueUrl": URL},
                         {"QueueName": "lakebox-curation-queue", "QueueOwnerAWSAccountId": "000000000000"})
    stubber.add_client_error("change_message_visibility", service_error_code="ReceiptHandleIsInvalid",
                             http_status_code=400)
    with stubber, pytest.raises(RetryError, match=r"ReceiptHandleIsInvalid"):
        QueueRetries(client).later([(ARN, "stale", 1)])  # type: ignore[arg-type]
