"""The queues: the dead-letter queue, one in front of each stage, and the quality events."""

from __future__ import annotations

from functools import partial

from lakebox_infra.provision.base import Context, absent, ensure
from lakebox_infra.provision.tags import ensure_tags
from lakebox_infra.topology import QueueSpec, canonical

# Attributes holding JSON documents, which SQS returns re-serialised.
DOCUMENTS = ("Policy", "RedrivePolicy")


def _comparable(attributes: dict[str, str | None]) -> dict[str, str | None]:
    return {name: canonical(value or "{}") if name in DOCUMENTS else value for name, value in attributes.items()}


def apply_queue(ctx: Context, queue: QueueSpec) -> None:
    """Create the queue (encrypted) if missing, and set the attributes that differ from the topology."""
    sqs = ctx.client("sqs")
    wanted = queue.attributes

    # The queue's URL, looked up once by the read (or returned by the create) and reused by every later call.
    url = ""

    def read() -> dict[str, str | None]:
        nonlocal url
        url = sqs.get_queue_url(QueueName=queue.name)["QueueUrl"]
        found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(wanted)).get("Attributes", {})
        return _comparable({name: found.get(name) for name in wanted})

    def write(found: dict[str, str | None] | None) -> None:
        nonlocal url
        if found is None:
            url = sqs.create_queue(QueueName=queue.name, Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=wanted)

    declared = _comparable(dict(wanted))

    def action(found: dict[str, str | None] | None) -> str:
        if found is None:
            return "created"
        return f"updated {', '.join(name for name, value in declared.items() if found[name] != value)} of"

    ensure(ctx, f"queue {queue.name}", read, declared, write, action)
    ensure_tags(ctx, "queues", f"queue {queue.name}", lambda: dict(sqs.list_queue_tags(QueueUrl=url).get("Tags", {})),
                lambda tags: sqs.tag_queue(QueueUrl=url, Tags=tags))


def teardown_queues(ctx: Context) -> None:
    """Delete every queue of the topology."""
    for name in ctx.topology.queues:
        absent(ctx, f"queue {name}", partial(_delete_queue, ctx, name))


def _delete_queue(ctx: Context, name: str) -> None:
    sqs = ctx.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
