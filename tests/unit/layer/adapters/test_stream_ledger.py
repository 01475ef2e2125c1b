"""The stream ledger's and the create-once store's requests as the API models check them (botocore Stubber), and
their errors mapped: a failed ledger condition is LedgerConflict, an existing key is False, anything else a
lakebox error naming the operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.adapters.stream_ledger import LedgerState, PendingPlan, StreamLedger, plan_digest
from lakebox_layer.exceptions import LedgerConflict, MetadataError, StorageError
from lakebox_layer.stream_batches import Bounds, plan_batch
from tests.fakes.stream import FIRST_SEQUENCE, SHARD, STREAM, readings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

TABLE = "lakebox-metadata"
KEY = {"ProcessId": {"S": f"stream#{STREAM}#{SHARD}"}, "Timestamp": {"S": "ledger"}}
NAMES = {"#committed": "committed", "#pending": "pending"}
# 56 digits: as a DynamoDB number it would lose digits past 38, as a float far more.
COMMITTED = str(FIRST_SEQUENCE)
THROUGH = str(FIRST_SEQUENCE + 11)
PLAN = PendingPlan(THROUGH, Bounds(5, 1024), objects=3, records=12, digest="ab" * 32)
PLAN_ATTRIBUTE = {"M": {"through": {"S": THROUGH}, "max_records": {"N": "5"}, "max_bytes": {"N": "1024"},
                        "objects": {"N": "3"}, "records": {"N": "12"}, "digest": {"S": "ab" * 32}}}


@pytest.fixture
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(dynamodb: DynamoDBClient) -> Iterator[Stubber]:
    with Stubber(dynamodb) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def ledger(dynamodb: DynamoDBClient) -> StreamLedger:
    return StreamLedger(dynamodb, TABLE)


def get(item: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    request = {"TableName": TABLE, "Key": KEY, "ConsistentRead": True,
               "ProjectionExpression": "#committed, #pending", "ExpressionAttributeNames": NAMES}
    return ({"Item": {**KEY, **item}} if item is not None else {}), request


def test_a_shard_never_written_reads_as_empty(ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_response("get_item", *get(None))

    assert ledger.read(STREAM, SHARD) == LedgerState(None, None)


def test_a_ledger_reads_back_its_sequence_numbers_digit_for_digit(ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_response("get_item", *get({"committed": {"S": COMMITTED}, "pending": PLAN_ATTRIBUTE}))

    assert ledger.read(STREAM, SHARD) == LedgerState(COMMITTED, PLAN)


def test_the_first_claim_of_a_shard_requires_an_empty_ledger(ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_response("update_item", {}, {
        "TableName": TABLE, "Key": KEY, "UpdateExpression": "SET #pending = :pending",
        "ConditionExpression": "attribute_not_exists(#pending) AND attribute_not_exists(#committed)",
        "ExpressionAttributeNames": NAMES, "ExpressionAttributeValues": {":pending": PLAN_ATTRIBUTE}})

    ledger.claim(STREAM, SHARD, None, PLAN)


def test_a_claim_requires_no_pending_plan_and_the_committed_sequence_as_read(ledger: StreamLedger,
                                                                           stubber: Stubber) -> None:
    stubber.add_response("update_item", {}, {
        "TableName": TABLE, "Key": KEY, "UpdateExpression": "SET #pending = :pending",
        "ConditionExpression": "attribute_not_exists(#pending) AND #committed = :committed",
        "ExpressionAttributeNames": NAMES,
        "ExpressionAttributeValues": {":pending": PLAN_ATTRIBUTE, ":committed": {"S": COMMITTED}}})

    ledger.claim(STREAM, SHARD, COMMITTED, PLAN)


def test_a_commit_sets_committed_and_clears_the_plan_it_finishes(ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_response("update_item", {}, {
        "TableName": TABLE, "Key": KEY, "UpdateExpression": "SET #committed = :through REMOVE #pending",
        "ConditionExpression": "#pending.#through = :through",
        "ExpressionAttributeNames": {**NAMES, "#through": "through"},
        "ExpressionAttributeValues": {":through": {"S": THROUGH}}})

    ledger.commit(STREAM, SHARD, THROUGH)


@pytest.mark.parametrize("call", ["claim", "commit"])
def test_a_failed_condition_is_a_ledger_conflict(call: str, ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_client_error("update_item", "ConditionalCheckFailedException", http_status_code=400)

    with pytest.raises(LedgerConflict, match=f"ledger of {STREAM}/{SHARD}"):
        if call == "claim":
            ledger.claim(STREAM, SHARD, COMMITTED, PLAN)
        else:
            ledger.commit(STREAM, SHARD, THROUGH)


def test_other_refusals_are_metadata_errors(ledger: StreamLedger, stubber: Stubber) -> None:
    stubber.add_client_error("get_item", "ProvisionedThroughputExceededException", http_status_code=400)
    stubber.add_client_error("update_item", "ValidationException", http_status_code=400)

    with pytest.raises(MetadataError, match="ProvisionedThroughputExceededException"):
        ledger.read(STREAM, SHARD)
    with pytest.raises(MetadataError, match="ValidationException"):
        ledger.commit(STREAM, SHARD, THROUGH)


def test_a_pending_plan_records_the_bounds_and_digest_of_its_plan() -> None:
    bounds = Bounds(max_records=5)
    plan = plan_batch(readings(12), bounds)

    pending = PendingPlan.of(plan, bounds)

    assert (pending.through, pending.bounds, pending.objects, pending.records) == (THROUGH, bounds, 3, 12)
    assert pending.digest == plan_digest(plan_batch(readings(20), bounds, up_to=THROUGH))
    assert pending.digest != plan_digest(plan_batch(readings(12), Bounds(max_records=4)))
    assert PendingPlan.from_attribute(pending.to_attribute()) == pending
    with pytest.raises(ValueError, match="never pending"):
        PendingPlan.of(plan_batch(readings(12), bounds, committed_through=THROUGH), bounds)


# -- create-once writes -------------------------------------------------------------------------------------------


@pytest.fixture
def s3() -> S3Client:
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def put_request(key: str) -> dict[str, Any]:
    return {"Bucket": "raw", "Key": key, "Body": ANY, "ContentType": "application/x-ndjson", "IfNoneMatch": "*"}


def test_put_once_writes_a_free_key_and_leaves_an_existing_one(s3: S3Client) -> None:
    store = ObjectStore(s3)
    with Stubber(s3) as stubber:
        stubber.add_response("put_object", {"ETag": '"e1"'}, put_request("a.jsonl"))
        stubber.add_client_error("put_object", "PreconditionFailed", http_status_code=412,
                                 expected_params=put_request("a.jsonl"))

        assert store.put_once("raw", "a.jsonl", b"{}\n", "application/x-ndjson") is True
        assert store.put_once("raw", "a.jsonl", b"{}\n", "application/x-ndjson") is False
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["ConditionalRequestConflict", "AccessDenied"])
def test_put_once_maps_other_refusals_to_storage_errors(code: str, s3: S3Client) -> None:
    with Stubber(s3) as stubber:
        stubber.add_client_error("put_object", code, http_status_code=409)

        with pytest.raises(StorageError, match=code):
            ObjectStore(s3).put_once("raw", "a.jsonl", b"{}\n", "application/x-ndjson")
