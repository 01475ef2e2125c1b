"""Queues: created encrypted, their attributes (policy, visibility, redrive) and tags set only where they differ."""

from __future__ import annotations

import json

from botocore.stub import Stubber

from lakebox_infra.provision import queues
from tests.fakes.provision import NAMES, TAGS, TOPOLOGY, Stubs, missing

QUEUE = TOPOLOGY.queues[NAMES.stage_queue("validation")]
URL = f"https://sqs.us-east-1.amazonaws.com/000000000000/{QUEUE.name}"
NOT_THERE = "AWS.SimpleQueueService.NonExistentQueue"


def expect_url(sqs: Stubber) -> None:
    sqs.add_response("get_queue_url", {"QueueUrl": URL}, {"QueueName": QUEUE.name})


def expect_attributes(sqs: Stubber, **overrides: str) -> None:
    # Documents come back re-serialised: compared as documents, not as text.
    found = {**QUEUE.attributes, "Policy": json.dumps(QUEUE.policy, indent=2), **overrides}
    sqs.add_response("get_queue_attributes", {"Attributes": found},
                     {"QueueUrl": URL, "AttributeNames": list(QUEUE.attributes)})


def expect_tags(sqs: Stubber, found: dict[str, str]) -> None:
    # The URL the attributes were read (or the queue created) with: looked up once per queue.
    sqs.add_response("list_queue_tags", {"Tags": found}, {"QueueUrl": URL})


def test_a_missing_queue_is_created_encrypted_with_its_attributes_and_tags() -> None:
    stubs = Stubs()
    sqs = stubs("sqs")
    missing(sqs, "get_queue_url", NOT_THERE, {"QueueName": QUEUE.name}, 400)
    sqs.add_response("create_queue", {"QueueUrl": URL},
                     {"QueueName": QUEUE.name, "Attributes": {"SqsManagedSseEnabled": "true"}})
    sqs.add_response("set_queue_attributes", {}, {"QueueUrl": URL, "Attributes": QUEUE.attributes})
    expect_tags(sqs, {})
    sqs.add_response("tag_queue", {}, {"QueueUrl": URL, "Tags": TAGS})

    queues.apply_queue(stubs.context, QUEUE)

    stubs.done()
    assert stubs.changes == [("created", f"queue {QUEUE.name}"), ("set", f"tags of queue {QUEUE.name}")]


def test_a_queue_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    sqs = stubs("sqs")
    expect_url(sqs)
    expect_attributes(sqs)
    expect_tags(sqs, {**TAGS, "owner": "data"})

    queues.apply_queue(stubs.context, QUEUE)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"queue {QUEUE.name}", f"tags of queue {QUEUE.name}"]


def test_a_different_visibility_timeout_is_set_again() -> None:
    stubs = Stubs()
    sqs = stubs("sqs")
    expect_url(sqs)
    expect_attributes(sqs, VisibilityTimeout="30")
    sqs.add_response("set_queue_attributes", {}, {"QueueUrl": URL, "Attributes": QUEUE.attributes})
    expect_tags(sqs, {"project": "other"})
    sqs.add_response("tag_queue", {}, {"QueueUrl": URL, "Tags": TAGS})

    queues.apply_queue(stubs.context, QUEUE)

    stubs.done()
    assert QUEUE.attributes["VisibilityTimeout"] == "1800"
    assert stubs.changes == [("updated VisibilityTimeout of", f"queue {QUEUE.name}"),
                             ("set", f"tags of queue {QUEUE.name}")]


def test_teardown_deletes_each_queue_and_counts_missing_ones_as_absent() -> None:
    stubs = Stubs()
    sqs = stubs("sqs")
    [first, *rest] = TOPOLOGY.queues
    sqs.add_response("get_queue_url", {"QueueUrl": URL}, {"QueueName": first})
    sqs.add_response("delete_queue", {}, {"QueueUrl": URL})
    for name in rest:
        missing(sqs, "get_queue_url", NOT_THERE, {"QueueName": name}, 400)

    queues.teardown_queues(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"queue {first}")]
    assert stubs.unchanged == [f"queue {name} (absent)" for name in rest]
