"""MetadataStore's requests as DynamoDB's API model checks them (botocore Stubber), and its errors mapped to
lakebox_layer.exceptions: a duplicate delivery is StageAlreadyRecorded, any other refusal MetadataError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.contracts import structural_contract
from lakebox_layer.exceptions import MetadataError, StageAlreadyRecorded
from lakebox_layer.records import QualityTotals

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "lakebox-metadata"
PROCESS_ID = "0f3b1c2d4e5f60718293a4b5c6d7e8f9"
SORT_KEY = "2026-01-15T10:30:00+00:00#3-quality"
ITEM: dict[str, Any] = {"ProcessId": PROCESS_ID, "Timestamp": SORT_KEY, "Stage": "quality", "QualityScore": 87.5,
                        "RecordsTotal": 4, "ValidationPassed": True, "Destination": None}
# The same item as DynamoDB receives it: numbers as strings, None attributes left out.
ITEM_ATTRIBUTES = {"ProcessId": {"S": PROCESS_ID}, "Timestamp": {"S": SORT_KEY}, "Stage": {"S": "quality"},
                   "QualityScore": {"N": "87.5"}, "RecordsTotal": {"N": "4"}, "ValidationPassed": {"BOOL": True}}
TOTALS_KEY = {"ProcessId": {"S": "totals#lakebox"}, "Timestamp": {"S": "totals"}}


@pytest.fixture
def dynamodb() -> DynamoDBClient:
    return boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(dynamodb: DynamoDBClient) -> Iterator[Stubber]:
    with Stubber(dynamodb) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def store(dynamodb: DynamoDBClient) -> MetadataStore:
    return MetadataStore(dynamodb, TABLE)


def transaction(passed: int, score: str, records: str) -> dict[str, Any]:
    """The TransactWriteItems request of one quality record: the record written once, the totals added to."""
    return {"TransactItems": [
        {"Put": {"TableName": TABLE, "Item": ITEM_ATTRIBUTES,
                 "ConditionExpression": "attribute_not_exists(ProcessId)"}},
        {"Update": {
            "TableName": TABLE, "Key": TOTALS_KEY,
            "UpdateExpression": "ADD Files :one, FilesPassed :passed, ScoreSum :score, RecordCount :records",
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":passed": {"N": str(passed)}, ":score": {"N": score},
                                          ":records": {"N": records}},
        }},
    ]}


def cancelled(stubber: Stubber, *codes: str) -> None:
    """TransactWriteItems refused, with one cancellation reason per item of the transaction."""
    stubber.add_client_error("transact_write_items", service_error_code="TransactionCanceledException",
                             modeled_fields={"CancellationReasons": [{"Code": code} for code in codes]})


# -- stage records ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("response", "expected"), [({"Item": {"ProcessId": {"S": PROCESS_ID}}}, True), ({}, False)])
def test_has_stage_is_a_consistent_read_of_the_key(store: MetadataStore, stubber: Stubber,
                                                   response: dict[str, Any], expected: bool) -> None:
    stubber.add_response("get_item", response, {
        "TableName": TABLE, "Key": {"ProcessId": {"S": PROCESS_ID}, "Timestamp": {"S": SORT_KEY}},
        "ConsistentRead": True, "ProjectionExpression": "ProcessId",
    })
    assert store.has_stage(PROCESS_ID, SORT_KEY) is expected


def test_put_stage_is_a_conditional_put(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_response("put_item", {}, {
        "TableName": TABLE, "Item": ITEM_ATTRIBUTES, "ConditionExpression": "attribute_not_exists(ProcessId)",
    })
    store.put_stage(ITEM)


def test_put_stage_of_a_recorded_key_is_stage_already_recorded(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_client_error("put_item", service_error_code="ConditionalCheckFailedException")
    with pytest.raises(StageAlreadyRecorded, match=PROCESS_ID):
        store.put_stage(ITEM)


@pytest.mark.parametrize(("operation", "code"), [
    ("get_item", "ProvisionedThroughputExceededException"),
    ("put_item", "ResourceNotFoundException"),
    ("put_item", "AccessDeniedException"),
])
def test_other_refusals_of_stage_records_are_metadata_errors(store: MetadataStore, stubber: Stubber,
                                                             operation: str, code: str) -> None:
    stubber.add_client_error(operation, service_error_code=code)
    with pytest.raises(MetadataError, match=code) as caught:
        if operation == "get_item":
            store.has_stage(PROCESS_ID, SORT_KEY)
        else:
            store.put_stage(ITEM)
    assert not isinstance(caught.value, StageAlreadyRecorded)


# -- quality totals -----------------------------------------------------------------------------------------------


def test_record_quality_writes_record_and_totals_in_one_transaction(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_response("transact_write_items", {}, transaction(passed=1, score="87.5", records="4"))
    store.record_quality(ITEM, "lakebox", passed=True, score=87.5, records=4)


def test_a_failed_file_adds_nothing_to_the_files_passed(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_response("transact_write_items", {}, transaction(passed=0, score="12.3457", records="0"))
    store.record_quality(ITEM, "lakebox", passed=False, score=12.345678, records=0)


def test_totals_are_read_consistently(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_response("get_item", {"Item": {
        **TOTALS_KEY, "Files": {"N": "3"}, "FilesPassed": {"N": "2"}, "ScoreSum": {"N": "262.5"},
        "RecordCount": {"N": "12"},
    }}, {"TableName": TABLE, "Key": TOTALS_KEY, "ConsistentRead": True})
    assert store.totals("lakebox") == QualityTotals(files=3, files_passed=2, score_sum=262.5, records=12)


def test_totals_before_any_file_are_zero(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_response("get_item", {}, {"TableName": TABLE, "Key": TOTALS_KEY, "ConsistentRead": True})
    assert store.totals("lakebox") == QualityTotals(files=0, files_passed=0, score_sum=0.0, records=0)


def test_record_quality_of_a_recorded_file_is_stage_already_recorded(store: MetadataStore, stubber: Stubber) -> None:
    cancelled(stubber, "ConditionalCheckFailed", "None")
    with pytest.raises(StageAlreadyRecorded, match=PROCESS_ID):
        store.record_quality(ITEM, "lakebox", passed=True, score=87.5, records=4)


def test_a_transaction_cancelled_for_another_reason_is_a_metadata_error(store: MetadataStore,
                                                                        stubber: Stubber) -> None:
    cancelled(stubber, "None", "TransactionConflict")
    with pytest.raises(MetadataError, match="TransactionCanceledException") as caught:
        store.record_quality(ITEM, "lakebox", passed=True, score=87.5, records=4)
    assert not isinstance(caught.value, StageAlreadyRecorded)


def test_other_refusals_of_the_transaction_are_metadata_errors(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_client_error("transact_write_items", service_error_code="ValidationException")
    with pytest.raises(MetadataError, match="ValidationException"):
        store.record_quality(ITEM, "lakebox", passed=True, score=87.5, records=4)


def test_a_refused_totals_read_is_a_metadata_error(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException")
    with pytest.raises(MetadataError, match=r"totals of lakebox.*ResourceNotFoundException"):
        store.totals("lakebox")


# -- contracts, kept in the same table ----------------------------------------------------------------------------


CONTRACT_CALLS: dict[str, tuple[str, Callable[[ContractStore], object]]] = {
    "publish": ("put_item", lambda contracts: contracts.publish(structural_contract("orders"))),
    "withdraw": ("delete_item", lambda contracts: contracts.withdraw("orders")),
    "published_datasets": ("get_item", lambda contracts: contracts.published_datasets()),
}


@pytest.mark.parametrize("call", sorted(CONTRACT_CALLS))
def test_refused_contract_writes_and_index_reads_are_metadata_errors(dynamodb: DynamoDBClient, stubber: Stubber,
                                                                     call: str) -> None:
    operation, run = CONTRACT_CALLS[call]
    stubber.add_client_error(operation, service_error_code="AccessDeniedException")
    with pytest.raises(MetadataError, match="AccessDeniedException"):
        run(ContractStore(dynamodb, TABLE))


def batch_get(keys: list[tuple[str, str]]) -> dict[str, Any]:
    return {"RequestItems": {TABLE: {
        "Keys": [{"ProcessId": {"S": p}, "Timestamp": {"S": t}} for p, t in keys], "ConsistentRead": True,
        "ProjectionExpression": "ProcessId, #t", "ExpressionAttributeNames": {"#t": "Timestamp"}}}}


def found(keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"ProcessId": {"S": p}, "Timestamp": {"S": t}} for p, t in keys]


def test_stages_recorded_reads_a_hundred_keys_a_call_and_asks_again_for_unprocessed_ones(
        store: MetadataStore, stubber: Stubber, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lakebox_layer.adapters.metadata.time.sleep", lambda seconds: None)
    keys = [(f"p{n:03d}", SORT_KEY) for n in range(130)]
    first, rest = keys[:100], keys[100:]
    # The first hundred: two found, three left unprocessed, which the second call asks for (one of them found).
    stubber.add_response("batch_get_item", {"Responses": {TABLE: found([keys[0], keys[5]])},
                                            "UnprocessedKeys": {TABLE: {"Keys": found(keys[7:10])}}},
                         batch_get(first))
    stubber.add_response("batch_get_item", {"Responses": {TABLE: found([keys[8]])}},
                         {"RequestItems": {TABLE: {"Keys": found(keys[7:10]), "ConsistentRead": True,
                                                   "ProjectionExpression": "ProcessId, #t",
                                                   "ExpressionAttributeNames": {"#t": "Timestamp"}}}})
    stubber.add_response("batch_get_item", {"Responses": {TABLE: found([keys[120]])}}, batch_get(rest))
    assert store.stages_recorded([*keys, keys[0]]) == {keys[0], keys[5], keys[8], keys[120]}


def test_stages_recorded_gives_up_on_keys_left_unprocessed(store: MetadataStore, stubber: Stubber,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lakebox_layer.adapters.metadata.time.sleep", lambda seconds: None)
    keys = [("p1", SORT_KEY)]
    for _ in range(5):
        stubber.add_response("batch_get_item", {"Responses": {TABLE: []},
                                                "UnprocessedKeys": {TABLE: {"Keys": found(keys)}}}, batch_get(keys))
    with pytest.raises(MetadataError, match="1 keys left unprocessed"):
        store.stages_recorded(keys)


def test_stages_recorded_maps_a_refusal(store: MetadataStore, stubber: Stubber) -> None:
    stubber.add_client_error("batch_get_item", "AccessDeniedException")
    with pytest.raises(MetadataError, match="AccessDeniedException"):
        store.stages_recorded([("p1", SORT_KEY)])
