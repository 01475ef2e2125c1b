"""AWS calls per file of each stage, counted: the stages run in this process, in the batches their queues deliver,
against a fresh emulator whose event source mappings are disabled (so the functions do not race them), with a
botocore hook counting every request. Prints one JSON object: per stage, calls per file in all and per operation.

    python benchmarks/stage_calls.py [--files 100] [--batch N]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from throughput import fresh_emulator, mixed_file

from lakebox.lake.target import Target
from lakebox_infra.provision import Provisioner
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.queues import event_detail
from lakebox_layer.records import DataReceived, DataValidated, FileStatus, RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.stages.curation import Curation
from lakebox_layer.stages.ingestion import Ingestion
from lakebox_layer.stages.quality import Quality
from lakebox_layer.stages.validation import Validation

Item = TypeVar("Item")
Result = TypeVar("Result")


class Counting:
    """Counts each request of the clients, under the stage currently running."""

    def __init__(self, clients: AwsClients, batch: int | None) -> None:
        self.stage = ""
        self.batch = batch
        self.calls: dict[str, Counter[str]] = {}
        for client in (clients.s3, clients.dynamodb, clients.events, clients.cloudwatch, clients.glue):
            client.meta.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls.setdefault(self.stage, Counter())[f"{model.service_model.service_name}:{model.name}"] += 1

    def run(self, stage: Stage, items: list[Item], batch: Callable[[list[Item]], Sequence[Result]]) -> list[Result]:
        """The stage over the items in its queue's batches; the results, in order."""
        self.stage = stage.value
        size = self.batch or stage.spec.batch_size or 1
        return [result for start in range(0, len(items), size) for result in batch(items[start:start + size])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--batch", type=int, help="every stage's batch size (1: a file at a time), not the queues'")
    args = parser.parse_args()
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region)
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        lam = target.clients.client("lambda")
        for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
            lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        clients = AwsClients(target.settings, target.session)
        counting = Counting(clients, args.batch)
        logger = Logger(service="lakebox-stage-calls", level="ERROR")
        ingestion = Ingestion.from_settings(target.settings, logger, clients)
        validation = Validation.from_settings(target.settings, logger, clients)
        quality = Quality.from_settings(target.settings, logger, clients)
        curation = Curation.from_settings(target.settings, logger, clients)
        arrived = datetime.now(UTC).isoformat()
        notifications = []
        for n in range(args.files):
            key, content = mixed_file(n)
            put = target.clients.s3.put_object(Bucket=target.settings.raw_bucket, Key=key, Body=content)
            raw = RawObject(target.settings.raw_bucket, key, put["ETag"].strip('"'), len(content), put.get("VersionId"))
            notifications.append([ObjectCreated(raw, arrived)])
        ingested = counting.run(Stage.INGESTION, notifications, ingestion.ingest_batch)
        assert all(isinstance(ids, list) for ids in ingested), ingested
        received = _received(target, args.files)
        validated = [v for v in counting.run(Stage.VALIDATION, received, validation.validate_all)
                     if isinstance(v, DataValidated)]
        assert len(validated) == args.files, "every file validated"
        counting.run(Stage.QUALITY, validated, quality.assess_all)
        processed = [v for v in validated if v.status is FileStatus.PROCESSED]
        counting.run(Stage.CURATION, processed, curation.curate_all)
    files = {Stage.INGESTION.value: args.files, Stage.VALIDATION.value: args.files,
             Stage.QUALITY.value: args.files, Stage.CURATION.value: len(processed)}
    print(json.dumps({
        "files": args.files, "processed": len(processed),
        "batches": {s.value: args.batch or s.spec.batch_size for s in Stage if s.spec.reads_queue},
        "calls_per_file": {stage: round(sum(calls.values()) / files[stage], 2)
                           for stage, calls in counting.calls.items()},
        "by_operation": {stage: {op: round(n / files[stage], 2) for op, n in sorted(calls.items())}
                         for stage, calls in counting.calls.items()},
    }, indent=2))


def _received(target: Target, count: int) -> list[DataReceived]:
    """The "Data Received" events ingestion put on the bus, as the rule queued them for validation."""
    sqs = target.clients.client("sqs")
    url = sqs.get_queue_url(QueueName=target.names.stage_queue(Stage.VALIDATION.value))["QueueUrl"]
    found: dict[str, DataReceived] = {}
    while len(found) < count:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            received = DataReceived.from_detail(event_detail(message["Body"]))
            found[received.process_id] = received
    return list(found.values())


if __name__ == "__main__":
    main()
