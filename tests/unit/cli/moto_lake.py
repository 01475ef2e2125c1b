"""A whole pipeline on moto's in-process AWS for the CLI's health commands (the `moto_lake` fixture of
tests/unit/cli/conftest.py provisions it): the metadata table as the topology declares it, every mapped stage's
function, queue and event source mapping as the registry declares them (the batcher's on the ingest stream), the
dead-letter queue, the raw bucket and, unless told otherwise, the alerts topic with a queue subscribed to it."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import boto3

from lakebox.lake.target import Target
from lakebox_infra.arns import Arns
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.health import HealthStore, circuit_item
from lakebox_layer.adapters.metadata import marshal
from lakebox_layer.circuits import Circuit
from lakebox_layer.records import RawObject
from lakebox_layer.registry import MAPPED_STAGES, Stage

REGION = "us-east-1"
ALERTS_INBOX = "alerts-inbox"


@dataclass
class MotoLake:
    """The pipeline on moto, and what the tests read of it."""

    target: Target

    def client(self, service: str) -> Any:
        return self.target.clients.client(service)

    @property
    def store(self) -> HealthStore:
        return HealthStore(self.client("dynamodb"), self.target.names.metadata_table)

    def mapping(self, stage: Stage) -> dict[str, Any]:
        """The stage's event source mapping as Lambda describes it."""
        [mapping] = self.client("lambda").list_event_source_mappings(
            FunctionName=self.target.names.function(stage.value))["EventSourceMappings"]
        return dict(mapping)

    def send(self, stage: Stage, count: int) -> None:
        """`count` messages into the stage's queue."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=self.target.names.stage_queue(stage.value))["QueueUrl"]
        for n in range(count):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": n}))

    def dead_letter(self, count: int) -> None:
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=self.target.names.dead_letter_queue)["QueueUrl"]
        for n in range(count):
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"dead": n}))

    def put_circuit(self, circuit: Circuit) -> None:
        """A circuit as the healer stores it."""
        item = {"ProcessId": f"circuit#{circuit.stage}", "Timestamp": "current", **circuit_item(circuit)}
        self.client("dynamodb").put_item(TableName=self.target.names.metadata_table, Item=marshal(item))

    def put_records(self, *records: dict[str, Any]) -> None:
        for record in records:
            self.client("dynamodb").put_item(TableName=self.target.names.metadata_table, Item=marshal(record))

    def upload(self, key: str, body: bytes = b'{"a": 1}') -> RawObject:
        """A raw object version, as reconcile lists it."""
        bucket = self.target.names.raw_bucket
        put = self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)
        return RawObject(bucket, key, put["ETag"].strip('"'), len(body), put.get("VersionId"))

    def alerts(self) -> list[dict[str, Any]]:
        """The alerts published to the topic so far, as its subscribers get them."""
        sqs = self.client("sqs")
        url = sqs.get_queue_url(QueueName=ALERTS_INBOX)["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(json.loads(message["Body"])["Message"]) for message in messages]


def provision(session: boto3.Session, topic: bool = True) -> MotoLake:
    """The pipeline on moto (inside `mock_aws`), as a Target in the session sees it."""
    target = Target(None, REGION, "lakebox", session)
    names = target.names
    lake = MotoLake(target)
    lake.client("dynamodb").create_table(**Topology(names).table)
    role = lake.client("iam").create_role(RoleName="stage-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    sqs, functions = lake.client("sqs"), lake.client("lambda")
    sqs.create_queue(QueueName=names.dead_letter_queue)
    for spec in MAPPED_STAGES:
        function = names.function(spec.name)
        functions.create_function(FunctionName=function, Runtime="python3.12", Role=role,
                                  Handler="handler.handler", Code={"ZipFile": code.getvalue()})
        if spec.reads_queue:
            url = sqs.create_queue(QueueName=names.stage_queue(spec.name))["QueueUrl"]
            queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            functions.create_event_source_mapping(
                EventSourceArn=queue, FunctionName=function, BatchSize=spec.batch_size or 1,
                ScalingConfig={"MaximumConcurrency": spec.concurrency})
        else:
            kinesis = lake.client("kinesis")
            kinesis.create_stream(StreamName=names.ingest_stream, ShardCount=1)
            stream = kinesis.describe_stream_summary(StreamName=names.ingest_stream)["StreamDescriptionSummary"]
            functions.create_event_source_mapping(EventSourceArn=stream["StreamARN"], FunctionName=function,
                                                  StartingPosition="LATEST")
    s3 = lake.client("s3")
    s3.create_bucket(Bucket=names.raw_bucket)
    s3.put_bucket_versioning(Bucket=names.raw_bucket, VersioningConfiguration={"Status": "Enabled"})
    if topic:
        sns = lake.client("sns")
        arn = sns.create_topic(Name=Arns(names).alerts_topic)["TopicArn"]
        inbox = sqs.create_queue(QueueName=ALERTS_INBOX)["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn)
    return lake
