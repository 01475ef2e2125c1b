"""The ingestion API's speed, beside the bare API in the same run: records a second in batches, and the latency of a
single-record call.

On an emulator of its own, lakebox is provisioned and `--producers` producers are added, each with its key. The
single-record latency is timed on one producer's calls one after another (the first, cold, call apart: it starts the
authorizer's and the API's workers), then `--producers` threads each send batches of `--batch` records back to back
(warm: every producer's batch twice at once first, so the emulator's workers for requests in flight have started;
each producer with its own key, as partner systems would) until `--records` records are accepted; records a second is
records accepted over the wall time. Every function's workers' CPU per request and the emulator's are read from /proc
over the batches.

The bare API, the emulator's floor for this workload, runs the same calls on another emulator: an HTTP API whose
one route invokes a function that puts the body's records on a Kinesis stream, with no authorizer, no checks and no
envelope, and logs one line as every function does (on MiniStack 1.5.33 a function that writes nothing answers
about 45 ms later: its worker waits for output). lakebox's figures are given as ratios to it.

    python benchmarks/ingest_api.py [--producers 4] [--batch 100] [--records 20000] [--single 200]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from throughput import cpu_snapshot, fresh_emulator

from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner
from lakebox_infra.provision.ingest_api import find_url
from lakebox_infra.topology import Topology
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.producers import new_producer

DATASET = "bench_events"
TIMEOUT_S = 60.0
BARE_API = '''
import base64, json, os, boto3
kinesis = boto3.client("kinesis")
def handler(event, context):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    records = [json.loads(line) for line in body.splitlines() if line.strip()]
    answer = kinesis.put_records(StreamName=os.environ["STREAM"], Records=[
        {"Data": json.dumps(r).encode(), "PartitionKey": str(i)} for i, r in enumerate(records)])
    print(json.dumps({"message": "records sent", "count": len(records)}))
    return {"statusCode": 202, "body": json.dumps({"accepted": len(records) - answer["FailedRecordCount"]})}
'''


@dataclass(frozen=True)
class Sender:
    """Where one producer sends its records, and with which key (None: the bare API, which asks for none)."""

    url: str
    key: str | None

    def post(self, body: bytes) -> tuple[int, float]:
        """The status and the seconds one request took."""
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310 (the emulator's)
        if self.key:
            request.add_header("Authorization", f"Bearer {self.key}")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            status = int(error.code)
        return status, time.perf_counter() - started


def lines(first: int, count: int) -> bytes:
    return "\n".join(json.dumps({"event_id": n, "kind": "click", "at": "2026-12-07T10:00:00Z"})
                     for n in range(first, first + count)).encode()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def single_records(sender: Sender, calls: int) -> dict[str, Any]:
    """The first call (cold) and then `calls` more, one record each, one after another: their latency in ms."""
    status, cold = sender.post(lines(0, 1))
    assert status == 202, f"the first call answered {status}"
    took = []
    for n in range(calls):
        status, seconds = sender.post(lines(n + 1, 1))
        assert status == 202, f"a single-record call answered {status}"
        took.append(seconds * 1000)
    return {"cold_ms": round(cold * 1000, 1), "calls": calls, "p50_ms": round(statistics.median(took), 1),
            "p95_ms": round(percentile(took, 0.95), 1), "max_ms": round(max(took), 1)}


def warm(senders: list[Sender], batch: int) -> None:
    """One batch from every sender at once, twice: the emulator starts a worker per request in flight, and those
    cold starts are not the batches'."""
    with ThreadPoolExecutor(len(senders)) as pool:
        for _ in range(2):
            assert set(pool.map(lambda sender: sender.post(lines(0, batch))[0], senders)) == {202}


def batches(senders: list[Sender], batch: int, records: int) -> dict[str, Any]:
    """Every sender sends batches back to back, at once, until `records` are accepted between them."""
    per_sender = records // len(senders) // batch
    statuses: Counter[int] = Counter()

    def send(sender: Sender) -> list[float]:
        took = []
        for n in range(per_sender):
            status, seconds = sender.post(lines(n * batch, batch))
            statuses[status] += 1
            took.append(seconds * 1000)
        return took

    started = time.perf_counter()
    with ThreadPoolExecutor(len(senders)) as pool:
        took = [ms for result in pool.map(send, senders) for ms in result]
    wall = time.perf_counter() - started
    accepted = statuses[202] * batch
    return {"producers": len(senders), "batch": batch, "requests": sum(statuses.values()),
            "statuses": dict(statuses), "records_accepted": accepted, "wall_s": round(wall, 2),
            "records_per_s": round(accepted / wall, 1), "request_p50_ms": round(statistics.median(took), 1),
            "request_p95_ms": round(percentile(took, 0.95), 1)}


def cpu_per_request(before: dict[str, float], after: dict[str, float], requests: int, prefix: str) -> dict[str, float]:
    return {name.removeprefix(prefix): round((after[name] - before.get(name, 0.0)) * 1000 / requests, 2)
            for name in after if after[name] - before.get(name, 0.0) > 0}


def run_lakebox(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_emulator() as state:
        target = Target.at(state.endpoint, state.region, "lakebox")
        Provisioner(Topology(target.names), target.session, state.endpoint).apply()
        url = find_url(target.clients.client("apigatewayv2"), target.names, target.endpoint)
        assert url is not None, "the ingestion API is provisioned"
        store = ProducerStore(target.clients.dynamodb, target.settings.metadata_table)
        senders = []
        for n in range(args.producers):
            producer, key = new_producer(f"bench-{n}", [DATASET], datetime.now(UTC).isoformat(timespec="seconds"))
            store.add(producer)
            senders.append(Sender(f"{url}/datasets/{DATASET}/records", key))
        single = single_records(senders[0], args.single)
        warm(senders, args.batch)
        before = cpu_snapshot(state.pid)
        batched = batches(senders, args.batch, args.records)
        after = cpu_snapshot(state.pid)
        batched["cpu_ms_per_request"] = cpu_per_request(before, after, batched["requests"], "lakebox-")
    return {"single_record": single, "batches": batched}


def deploy_bare(endpoint: str, region: str) -> str:
    """The bare API on the emulator at `endpoint`: its route's URL."""
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",  # noqa: S106 (emulator)
                            region_name=region)
    clients: list[Any] = [session.client(s, endpoint_url=endpoint)
                          for s in ("kinesis", "lambda", "iam", "apigatewayv2")]
    kinesis, lam, iam, apis = clients
    tag = uuid.uuid4().hex[:8]
    stream = f"bare-{tag}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    wait_until(lambda: kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
        "StreamStatus"] == "ACTIVE", deadline_s=60, what=f"stream {stream} active")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"bare-{tag}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("h.py", BARE_API)
    function = lam.create_function(FunctionName=f"bare-api-{tag}", Runtime="python3.12", Role=role,
                                   Handler="h.handler", Code={"ZipFile": archive.getvalue()}, Timeout=30,
                                   Environment={"Variables": {"STREAM": stream}})
    lam.get_waiter("function_active_v2").wait(FunctionName=function["FunctionName"])
    api_id = apis.create_api(Name=f"bare-{tag}", ProtocolType="HTTP")["ApiId"]
    integration = apis.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
                                          IntegrationUri=function["FunctionArn"])["IntegrationId"]
    apis.create_route(ApiId=api_id, RouteKey="POST /records", Target=f"integrations/{integration}")
    apis.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    return f"{endpoint}/_aws/execute-api/{api_id}/records"


def run_bare(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_emulator() as state:
        sender = Sender(deploy_bare(state.endpoint, state.region), None)
        single = single_records(sender, args.single)
        warm([sender] * args.producers, args.batch)
        before = cpu_snapshot(state.pid)
        batched = batches([sender] * args.producers, args.batch, args.records)
        after = cpu_snapshot(state.pid)
        batched["cpu_ms_per_request"] = cpu_per_request(before, after, batched["requests"], "")
    return {"single_record": single, "batches": batched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=200, help="single-record calls timed after the cold one")
    args = parser.parse_args()
    bare = run_bare(args)
    lakebox = run_lakebox(args)
    print(json.dumps({
        "cores": os.cpu_count(), "bare_api": bare, "lakebox": lakebox,
        "ratio_records_per_s": round(lakebox["batches"]["records_per_s"] / bare["batches"]["records_per_s"], 2),
        "ratio_single_p50": round(lakebox["single_record"]["p50_ms"] / bare["single_record"]["p50_ms"], 2),
    }, indent=2))


if __name__ == "__main__":
    main()
