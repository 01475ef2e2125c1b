"""The bare chain: the emulator's own floor for lakebox's throughput ratios.

S3 (input/) -> λ ingest -> EventBridge custom bus -> λ validate -> DynamoDB item, with trivial handlers and no
queues, deployed on an emulator of its own. `burst` drops files at once and times them until every one has its item.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

INGEST = '''
import json, os, boto3
from urllib.parse import unquote_plus
ev = boto3.client("events")
def handler(event, context):
    for r in event["Records"]:
        ev.put_events(Entries=[{"Source": "baseline.ingestion", "DetailType": "Data Received",
            "Detail": json.dumps({"key": unquote_plus(r["s3"]["object"]["key"])}), "EventBusName": os.environ["BUS"]}])
'''
VALIDATE = '''
import os, boto3
t = boto3.resource("dynamodb").Table(os.environ["TABLE"])
def handler(event, context):
    t.put_item(Item={"pk": event["detail"]["key"], "t": str(event["time"])})
'''
BODY = b'{"id": 1}'


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("h.py", source)
    return buffer.getvalue()


@dataclass(frozen=True)
class BareChain:
    s3: S3Client
    dynamodb: DynamoDBClient
    raw: str
    table: str

    def put(self, key: str) -> None:
        self.s3.put_object(Bucket=self.raw, Key=key, Body=BODY)

    def done(self) -> int:
        return self.dynamodb.scan(TableName=self.table, Select="COUNT")["Count"]


def deploy(endpoint: str, region: str = "us-east-1") -> BareChain:
    """Create the bucket, table, bus, rule and the two functions, wired as the seed wired them."""
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 (emulator)
                            region_name=region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]

    s3, lam, events, dynamodb, iam = (client(s) for s in ("s3", "lambda", "events", "dynamodb", "iam"))
    tag = uuid.uuid4().hex[:8]
    raw, table, bus = f"baseline-raw-{tag}", f"baseline-{tag}", f"baseline-bus-{tag}"
    s3.create_bucket(Bucket=raw)
    dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          BillingMode="PAY_PER_REQUEST")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"baseline-{tag}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def function(name: str, source: str, variables: dict[str, str]) -> dict[str, Any]:
        return lam.create_function(  # type: ignore[no-any-return]
            FunctionName=f"baseline-{name}-{tag}", Runtime="python3.12", Role=role, Handler="h.handler",
            Code={"ZipFile": _zip(source)}, Environment={"Variables": variables}, Timeout=30)

    ingest = function("ingest", INGEST, {"BUS": bus})
    validate = function("validate", VALIDATE, {"TABLE": table})
    events.create_event_bus(Name=bus)
    events.put_rule(Name=f"r-{tag}", EventBusName=bus, EventPattern=json.dumps(
        {"source": ["baseline.ingestion"], "detail-type": ["Data Received"]}))
    events.put_targets(Rule=f"r-{tag}", EventBusName=bus, Targets=[{"Id": "1", "Arn": validate["FunctionArn"]}])
    lam.add_permission(FunctionName=ingest["FunctionName"], StatementId="s3", Action="lambda:InvokeFunction",
                       Principal="s3.amazonaws.com", SourceArn=f"arn:aws:s3:::{raw}")
    s3.put_bucket_notification_configuration(Bucket=raw, NotificationConfiguration={
        "LambdaFunctionConfigurations": [{
            "Id": "x", "LambdaFunctionArn": ingest["FunctionArn"], "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "input/"}]}}}]})
    return BareChain(s3, dynamodb, raw, table)


def burst(chain: BareChain, files: int, *, warm: int = 3, deadline_s: float = 300.0) -> dict[str, Any]:
    """Warm the functions with a few files one at a time, then upload `files` back to back (one client, as lakebox's
    burst is uploaded) and time the drain."""
    for n in range(warm):
        chain.put(f"input/warm-{n}.json")
        wait_written(chain, n + 1, deadline_s)
    started = time.perf_counter()
    for n in range(files):
        chain.put(f"input/burst-{n}.json")
    uploaded = time.perf_counter() - started
    wait_written(chain, warm + files, deadline_s)
    elapsed = time.perf_counter() - started
    return {"files": files, "upload_s": round(uploaded, 2), "all_done_s": round(elapsed, 2),
            "files_per_s": round(files / elapsed, 1)}


def wait_written(chain: BareChain, count: int, deadline_s: float) -> None:
    started = time.perf_counter()
    while chain.done() < count:
        if time.perf_counter() - started > deadline_s:
            raise TimeoutError(f"bare chain: {count} items not written in {deadline_s} s")
        time.sleep(0.05)
