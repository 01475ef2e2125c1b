"""What the healer's e2e tests share: one run of the deployed healer as its schedule invokes it, a stage's mapping,
the healer's alerts received on a queue subscribed to the alerts topic, and a stage's messages worn out into the
dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from lakebox.polling import wait_until
from lakebox_infra.specs import MAX_RECEIVES
from tests.e2e.lake import Lake


def healer_run(lake: Lake) -> dict[str, str]:
    """One run of the deployed healer, as its schedule invokes it: each stage's circuit after."""
    answer = lake.client("lambda").invoke(FunctionName=lake.names.function("healer"), Payload=b"{}")
    payload = json.loads(answer["Payload"].read() or b"null")
    assert "FunctionError" not in answer, payload
    assert payload["failed"] == {}, payload
    return dict(payload["circuits"])


def mapping(lake: Lake, stage: str) -> dict[str, Any]:
    """The stage's one event source mapping."""
    [found] = lake.client("lambda").list_event_source_mappings(
        FunctionName=lake.names.function(stage))["EventSourceMappings"]
    return dict(found)


def alerts(sqs: Any, url: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The healer's alerts received so far (kept in `seen`, since receiving takes them off the queue); the topic
    carries other notices too."""
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
        body = json.loads(message["Body"])
        if isinstance(body, dict) and body.get("source") == "lakebox.healer":
            seen.append(body)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return seen


def wear_out(lake: Lake, stage: str, count: int, deadline_s: float = 120.0) -> None:
    """Receive the paused stage's visible messages until `count` of them moved to the dead-letter queue (SQS moves a
    message received MAX_RECEIVES times), as an outage's files did before its circuit opened."""
    sqs = lake.client("sqs")
    url = sqs.get_queue_url(QueueName=lake.names.stage_queue(stage))["QueueUrl"]
    moved: set[str] = set()

    def worn_out() -> bool:
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                       AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])
        moved.update(m["MessageId"] for m in received
                     if int(m["Attributes"]["ApproximateReceiveCount"]) >= MAX_RECEIVES)
        return len(moved) >= count and not {m["MessageId"] for m in received} & moved

    wait_until(worn_out, deadline_s=deadline_s, interval_s=0.2,
               what=f"{count} of {stage}'s messages to be received {MAX_RECEIVES} times and moved away",
               on_timeout=lambda: f"; worn out so far: {len(moved)}")
