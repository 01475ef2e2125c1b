"""ContractStore: contracts as items of the metadata table, with an index item of the published datasets."""

from __future__ import annotations

import json
from copy import deepcopy
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lakebox_infra import PROJECT_ROOT
from lakebox_layer.adapters.contract_store import BatchContracts, ContractStore
from lakebox_layer.contracts import Contract, parse_contract, structural_contract
from lakebox_layer.exceptions import ContractInvalid, MetadataError

TABLE = "lakebox-metadata"
ORDERS = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text()))
DEFAULT = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "default.json").read_text()))


def same_contract(a: Contract, b: Contract) -> bool:
    """Equal contracts, whatever the order of their fields (a published document is stored with sorted keys)."""
    return replace(a, fields=tuple(sorted(a.fields, key=lambda f: f.name))) == replace(
        b, fields=tuple(sorted(b.fields, key=lambda f: f.name)))


def key_of(key: dict[str, Any]) -> tuple[str, str]:
    return key["ProcessId"]["S"], key["Timestamp"]["S"]


@dataclass
class FakeDynamoDB:
    """The four item operations ContractStore uses, on low-level attribute values, for one table."""

    items: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    fail_with: ClientError | None = None

    def _check(self, TableName: str) -> None:
        assert TableName == TABLE
        if self.fail_with is not None:
            raise self.fail_with

    def get_item(self, *, TableName: str, Key: dict[str, Any], ConsistentRead: bool = False) -> dict[str, Any]:
        self._check(TableName)
        item = self.items.get(key_of(Key))
        return {} if item is None else {"Item": deepcopy(item)}

    def put_item(self, *, TableName: str, Item: dict[str, Any]) -> dict[str, Any]:
        self._check(TableName)
        self.items[key_of(Item)] = deepcopy(Item)
        return {}

    def delete_item(self, *, TableName: str, Key: dict[str, Any]) -> dict[str, Any]:
        self._check(TableName)
        self.items.pop(key_of(Key), None)
        return {}

    def update_item(self, *, TableName: str, Key: dict[str, Any], UpdateExpression: str,
                    ExpressionAttributeValues: dict[str, Any]) -> dict[str, Any]:
        self._check(TableName)
        action, attribute, placeholder = UpdateExpression.split()
        values = set(ExpressionAttributeValues[placeholder]["SS"])
        item = self.items.setdefault(key_of(Key), deepcopy(Key))
        current = set(item.get(attribute, {}).get("SS", []))
        current = current | values if action == "ADD" else current - values
        if current:
            item[attribute] = {"SS": sorted(current)}
        else:
            item.pop(attribute, None)  # DynamoDB has no empty sets
        return {}


@pytest.fixture
def db() -> FakeDynamoDB:
    return FakeDynamoDB()


@pytest.fixture
def store(db: FakeDynamoDB) -> ContractStore:
    return ContractStore(db, TABLE)  # type: ignore[arg-type]


def test_a_dataset_without_a_contract_gets_structural_checks(store: ContractStore) -> None:
    assert store.contract_for("sales") == structural_contract("sales")
    assert store.published_version("sales") is None
    assert store.published_datasets() == []


def test_a_published_contract_is_read_back_as_it_was(store: ContractStore) -> None:
    store.publish(ORDERS)
    back = store.contract_for("orders")
    assert same_contract(back, ORDERS)
    assert back.version == ORDERS.version
    assert back.document == ORDERS.document
    assert store.published_version("orders") == ORDERS.version
    assert store.contract_for("default") == structural_contract("default")


def test_the_contract_item_holds_the_document_and_its_version(store: ContractStore, db: FakeDynamoDB) -> None:
    store.publish(ORDERS)
    item = db.items[("contract#orders", "current")]
    assert json.loads(item["Document"]["S"]) == ORDERS.document
    assert item["Version"] == {"S": ORDERS.version}
    # Contract items stay out of the status index, which is keyed on Pipeline.
    assert "Pipeline" not in item


def test_the_index_lists_the_published_datasets(store: ContractStore) -> None:
    store.publish(ORDERS)
    store.publish(DEFAULT)
    store.publish(ORDERS)  # publishing again does not list it twice
    assert store.published_datasets() == ["default", "orders"]


def test_a_new_version_replaces_the_old(store: ContractStore) -> None:
    store.publish(ORDERS)
    edited = deepcopy(ORDERS.document)
    edited["policy"]["threshold"] = 80
    newer = parse_contract(edited)
    store.publish(newer)
    assert store.published_version("orders") == newer.version != ORDERS.version
    assert store.contract_for("orders").threshold == 80.0
    assert store.published_datasets() == ["orders"]


def test_withdraw_removes_the_contract_and_its_index_entry(store: ContractStore) -> None:
    store.publish(ORDERS)
    store.publish(DEFAULT)
    store.withdraw("orders")
    assert store.contract_for("orders") == structural_contract("orders")
    assert store.published_version("orders") is None
    assert store.published_datasets() == ["default"]
    store.withdraw("default")
    assert store.published_datasets() == []


def test_a_read_error_is_a_metadata_error_naming_the_dataset(db: FakeDynamoDB, store: ContractStore) -> None:
    db.fail_with = ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
                               "GetItem")
    with pytest.raises(MetadataError) as caught:
        store.contract_for("orders")
    assert "'orders'" in str(caught.value)
    assert "ProvisionedThroughputExceededException" in str(caught.value)


def test_a_malformed_published_document_is_contract_invalid(db: FakeDynamoDB, store: ContractStore) -> None:
    db.items[("contract#orders", "current")] = {
        "ProcessId": {"S": "contract#orders"}, "Timestamp": {"S": "current"},
        "Document": {"S": json.dumps({"dataset": "orders", "version": "1", "policy": {"threshold": 500}})},
        "Version": {"S": "1+00000000"},
    }
    with pytest.raises(ContractInvalid, match="threshold"):
        store.contract_for("orders")


@pytest.mark.parametrize("document", ["{not json", '["orders"]'], ids=["not-json", "not-an-object"])
def test_a_corrupt_published_document_is_contract_invalid(db: FakeDynamoDB, store: ContractStore,
                                                          document: str) -> None:
    # The validation stage fails a file whose contract is invalid (ContractInvalid); any other error escapes it and
    # the function fails on every retry instead.
    db.items[("contract#orders", "current")] = {
        "ProcessId": {"S": "contract#orders"}, "Timestamp": {"S": "current"},
        "Document": {"S": document}, "Version": {"S": "1+00000000"},
    }
    with pytest.raises(ContractInvalid):
        store.contract_for("orders")


# -- the requests as DynamoDB's API model checks them -------------------------------------------------------------


@pytest.fixture
def stubbed() -> tuple[ContractStore, Stubber]:
    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return ContractStore(client, TABLE), Stubber(client)


def test_publish_requests(stubbed: tuple[ContractStore, Stubber]) -> None:
    store, stubber = stubbed
    key = {"ProcessId": {"S": "contract#orders"}, "Timestamp": {"S": "current"}}
    stubber.add_response("put_item", {}, {
        "TableName": TABLE,
        "Item": {**key, "Document": {"S": json.dumps(ORDERS.document)},
                 "Version": {"S": ORDERS.version}},
    })
    stubber.add_response("update_item", {}, {
        "TableName": TABLE, "Key": {"ProcessId": {"S": "contract#"}, "Timestamp": {"S": "index"}},
        "UpdateExpression": "ADD Datasets :d", "ExpressionAttributeValues": {":d": {"SS": ["orders"]}},
    })
    with stubber:
        store.publish(ORDERS)
        stubber.assert_no_pending_responses()


def test_read_requests(stubbed: tuple[ContractStore, Stubber]) -> None:
    store, stubber = stubbed
    key = {"ProcessId": {"S": "contract#orders"}, "Timestamp": {"S": "current"}}
    document = json.dumps(ORDERS.document, sort_keys=True)
    stubber.add_response("get_item", {"Item": {**key, "Document": {"S": document}, "Version": {"S": "v"}}},
                         {"TableName": TABLE, "Key": key})
    stubber.add_response("get_item", {"Item": {"Datasets": {"SS": ["orders", "default"]}}},
                         {"TableName": TABLE, "Key": {"ProcessId": {"S": "contract#"}, "Timestamp": {"S": "index"}},
                          "ConsistentRead": True})
    with stubber:
        assert same_contract(store.contract_for("orders"), ORDERS)
        assert store.published_datasets() == ["default", "orders"]
        stubber.assert_no_pending_responses()


def test_withdraw_requests(stubbed: tuple[ContractStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_response("delete_item", {}, {
        "TableName": TABLE, "Key": {"ProcessId": {"S": "contract#orders"}, "Timestamp": {"S": "current"}},
    })
    stubber.add_response("update_item", {}, {
        "TableName": TABLE, "Key": {"ProcessId": {"S": "contract#"}, "Timestamp": {"S": "index"}},
        "UpdateExpression": "DELETE Datasets :d", "ExpressionAttributeValues": {":d": {"SS": ["orders"]}},
    })
    with stubber:
        store.withdraw("orders")
        stubber.assert_no_pending_responses()


def test_a_stubbed_client_error_is_a_metadata_error(stubbed: tuple[ContractStore, Stubber]) -> None:
    store, stubber = stubbed
    stubber.add_client_error("get_item", service_error_code="ResourceNotFoundException")
    with stubber, pytest.raises(MetadataError, match="ResourceNotFoundException"):
        store.published_version("orders")


def test_a_batch_reads_each_contract_once_and_the_next_batch_reads_it_again() -> None:
    class Counting:
        def __init__(self) -> None:
            self.reads = 0

        def contract_for(self, dataset: str) -> Contract:
            self.reads += 1
            if dataset == "broken":
                raise ContractInvalid("not a JSON document")
            return structural_contract(dataset)

    store = Counting()
    contracts = BatchContracts(store)
    for _ in range(3):
        assert contracts.contract_for("orders").dataset == "orders"
        with pytest.raises(ContractInvalid, match="not a JSON document"):
            contracts.contract_for("broken")
    assert store.reads == 2
    contracts.new_batch()
    contracts.contract_for("orders")
    assert store.reads == 3
