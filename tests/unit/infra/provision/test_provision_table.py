"""The metadata table: created as declared (with its status index, without a stream), tagged, its health counters'
time to live set, its old stream turned off; the contracts published into it, and the lake's environment recorded
in it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakebox_infra import PROJECT_ROOT, contract_files
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.provision import table
from lakebox_infra.topology import Topology
from lakebox_layer.contracts import parse_contract
from tests.fakes.provision import NAMES, TAG_LIST, TOPOLOGY, Stubs, missing

TABLE = NAMES.metadata_table
ARN = TOPOLOGY.table_arn
INDEX = {"IndexName": "StatusIndex"}
ORDERS = parse_contract(json.loads((PROJECT_ROOT / "contracts" / "orders.json").read_text()))


TTL = f"time to live of table {TABLE} (ExpiresAt)"


def described(**extra: Any) -> dict[str, Any]:
    return {"Table": {"TableName": TABLE, "TableArn": ARN, "TableStatus": "ACTIVE", **extra}}


def expect_time_to_live(ddb: Any, status: str = "ENABLED") -> None:
    """The table's time to live read, and set when it is not ExpiresAt's."""
    found = {"TimeToLiveStatus": status, **({"AttributeName": "ExpiresAt"} if status == "ENABLED" else {})}
    ddb.add_response("describe_time_to_live", {"TimeToLiveDescription": found}, {"TableName": TABLE})
    if status != "ENABLED":
        ddb.add_response("update_time_to_live", {}, {"TableName": TABLE, "TimeToLiveSpecification": {
            "AttributeName": "ExpiresAt", "Enabled": True}})


def test_a_missing_table_is_created_as_declared_without_a_stream_and_tagged() -> None:
    stubs = Stubs()
    ddb = stubs("dynamodb")
    missing(ddb, "describe_table", "ResourceNotFoundException", {"TableName": TABLE}, 400)
    ddb.add_response("create_table", {"TableDescription": {"TableArn": ARN}}, TOPOLOGY.table)
    ddb.add_response("describe_table", described(), {"TableName": TABLE})  # the table_exists waiter
    ddb.add_response("list_tags_of_resource", {"Tags": []}, {"ResourceArn": ARN})
    ddb.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": TAG_LIST})
    expect_time_to_live(ddb, "DISABLED")

    table.apply_table(stubs.context)

    stubs.done()
    assert "StreamSpecification" not in TOPOLOGY.table
    assert stubs.changes == [("created", f"table {TABLE}"), ("set", f"tags of table {TABLE}"), ("set", TTL)]


def test_a_table_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    ddb = stubs("dynamodb")
    ddb.add_response("describe_table", described(GlobalSecondaryIndexes=[INDEX]), {"TableName": TABLE})
    ddb.add_response("list_tags_of_resource", {"Tags": TAG_LIST}, {"ResourceArn": ARN})
    expect_time_to_live(ddb)

    table.apply_table(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"table {TABLE}", f"tags of table {TABLE}", TTL]


def test_a_stream_left_from_an_earlier_topology_is_disabled_and_tags_that_differ_are_set() -> None:
    stubs = Stubs()
    ddb = stubs("dynamodb")
    stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ddb.add_response("describe_table", described(GlobalSecondaryIndexes=[INDEX], StreamSpecification=stream),
                     {"TableName": TABLE})
    ddb.add_response("update_table", {}, {"TableName": TABLE, "StreamSpecification": {"StreamEnabled": False}})
    ddb.add_response("describe_table", described(), {"TableName": TABLE})  # the table_exists waiter
    ddb.add_response("list_tags_of_resource", {"Tags": [{"Key": "project", "Value": "other"}]}, {"ResourceArn": ARN})
    ddb.add_response("tag_resource", {}, {"ResourceArn": ARN, "Tags": TAG_LIST})
    expect_time_to_live(ddb)

    table.apply_table(stubs.context)

    stubs.done()
    assert stubs.changes == [("disabled the stream of", f"table {TABLE}"), ("set", f"tags of table {TABLE}")]


def test_a_table_without_the_status_index_is_refused() -> None:
    stubs = Stubs()
    stubs("dynamodb").add_response("describe_table", described(), {"TableName": TABLE})

    with pytest.raises(ProvisioningError, match="without the StatusIndex index"):
        table.apply_table(stubs.context)
    stubs.done()


def contract_key(dataset: str) -> dict[str, Any]:
    return {"ProcessId": {"S": f"contract#{dataset}"}, "Timestamp": {"S": "current"}}


INDEX_KEY = {"ProcessId": {"S": "contract#"}, "Timestamp": {"S": "index"}}


def test_contracts_are_published_when_new_and_withdrawn_when_their_file_is_gone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_files, "contracts", lambda: [ORDERS])
    stubs = Stubs()
    ddb = stubs("dynamodb")
    ddb.add_response("get_item", {}, {"TableName": TABLE, "Key": contract_key("orders")})
    ddb.add_response("put_item", {}, {"TableName": TABLE, "Item": {
        **contract_key("orders"), "Document": {"S": json.dumps(ORDERS.document)}, "Version": {"S": ORDERS.version}}})
    ddb.add_response("update_item", {}, {"TableName": TABLE, "Key": INDEX_KEY, "UpdateExpression": "ADD Datasets :d",
                                         "ExpressionAttributeValues": {":d": {"SS": ["orders"]}}})
    ddb.add_response("get_item", {"Item": {**INDEX_KEY, "Datasets": {"SS": ["gone", "orders"]}}},
                     {"TableName": TABLE, "Key": INDEX_KEY, "ConsistentRead": True})
    ddb.add_response("delete_item", {}, {"TableName": TABLE, "Key": contract_key("gone")})
    ddb.add_response("update_item", {}, {"TableName": TABLE, "Key": INDEX_KEY,
                                         "UpdateExpression": "DELETE Datasets :d",
                                         "ExpressionAttributeValues": {":d": {"SS": ["gone"]}}})

    table.apply_contracts(stubs.context)

    stubs.done()
    assert [action for action, _ in stubs.changes] == ["published", "withdrew"]


def test_a_contract_already_published_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_files, "contracts", lambda: [ORDERS])
    stubs = Stubs()
    ddb = stubs("dynamodb")
    ddb.add_response("get_item", {"Item": {**contract_key("orders"), "Version": {"S": ORDERS.version}}},
                     {"TableName": TABLE, "Key": contract_key("orders")})
    ddb.add_response("get_item", {"Item": {**INDEX_KEY, "Datasets": {"SS": ["orders"]}}},
                     {"TableName": TABLE, "Key": INDEX_KEY, "ConsistentRead": True})

    table.apply_contracts(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"contract orders {ORDERS.version}"]


SETTINGS_KEY = {"ProcessId": {"S": "lake#settings"}, "Timestamp": {"S": "current"}}


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_the_lake_environment_is_recorded_when_it_differs(environment: str) -> None:
    stubs = Stubs(topology=Topology(NAMES, settings_overrides={"environment": environment}))
    ddb = stubs("dynamodb")
    ddb.add_response("get_item", {"Item": {**SETTINGS_KEY, "Environment": {"S": "development"}}},
                     {"TableName": TABLE, "Key": SETTINGS_KEY, "ConsistentRead": True})
    ddb.add_response("put_item", {}, {"TableName": TABLE, "Item": {**SETTINGS_KEY,
                                                                   "Environment": {"S": environment}}})

    table.apply_lake_settings(stubs.context)

    stubs.done()
    assert stubs.changes == [("recorded", f"lake settings (environment {environment})")]


def test_a_lake_environment_as_recorded_is_left_alone() -> None:
    stubs = Stubs()
    ddb = stubs("dynamodb")
    ddb.add_response("get_item", {"Item": {**SETTINGS_KEY, "Environment": {"S": "development"}}},
                     {"TableName": TABLE, "Key": SETTINGS_KEY, "ConsistentRead": True})

    table.apply_lake_settings(stubs.context)

    stubs.done()
    assert stubs.unchanged == ["lake settings (environment development)"]


def test_teardown_deletes_the_table_and_waits_until_it_is_gone() -> None:
    stubs = Stubs()
    ddb = stubs("dynamodb")
    ddb.add_response("delete_table", {}, {"TableName": TABLE})
    missing(ddb, "describe_table", "ResourceNotFoundException", {"TableName": TABLE}, 400)  # table_not_exists

    table.teardown_table(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"table {TABLE}")]
