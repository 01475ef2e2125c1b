"""Producers and their keys on moto's in-process DynamoDB (real transactions and conditions): a key is found only by
itself, never stored in clear, dead once revoked or replaced; names in use and unknown names are refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.exceptions import ProducerRefused
from lakebox_layer.producers import (
    RATE_ITEM_S,
    key_digest,
    looks_like_key,
    new_key,
    new_producer,
    producer_name_problem,
)
from tests.fakes.moto_table import TABLE, moto_metadata_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

NOW = "2026-12-07T10:00:00+00:00"
LATER = "2026-12-07T11:00:00+00:00"


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    with moto_metadata_table() as client:
        yield client


def test_keys_are_random_and_of_one_form() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(looks_like_key(key) and len(key) == 47 for key in keys)
    assert not looks_like_key("lbk_short") and not looks_like_key("Bearer " + next(iter(keys)))
    assert key_digest("lbk_x") == key_digest("lbk_x") != key_digest("lbk_y")


@pytest.mark.parametrize("name", ["", "Partner", "a b", "-lead", "x" * 64, "a/b", "ü"])
def test_bad_producer_names_are_refused_with_the_rule(name: str) -> None:
    assert "lowercase letters, digits and '-'" in (producer_name_problem(name) or "")
    with pytest.raises(ProducerRefused, match="producer name"):
        new_producer(name, ["orders"], NOW)


def test_the_stream_batchers_folder_is_no_producer_name() -> None:
    with pytest.raises(ProducerRefused, match="'stream' is taken"):
        new_producer("stream", ["orders"], NOW)


def test_a_producer_needs_valid_datasets() -> None:
    with pytest.raises(ProducerRefused, match="at least one dataset"):
        new_producer("partner", [], NOW)
    with pytest.raises(ProducerRefused, match="not a valid dataset name"):
        new_producer("partner", ["orders", "Bad Name"], NOW)
    producer, _ = new_producer("partner", ["orders", "events", "orders"], NOW)
    assert producer.datasets == ("orders", "events")


def test_a_key_finds_its_producer_and_only_its_digest_is_stored(dynamodb: DynamoDBClient) -> None:
    store = ProducerStore(dynamodb, TABLE)
    producer, key = new_producer("partner", ["orders"], NOW)
    store.add(producer)
    found = store.by_key(key)
    assert found == producer
    assert found is not None and found.may_write("orders") and not found.may_write("events")
    stored = json.dumps(dynamodb.scan(TableName=TABLE)["Items"])
    assert key not in stored and key.removeprefix("lbk_") not in stored
    assert key_digest(key) in stored
    assert "Pipeline" not in stored, "a producer is never a row of `lakebox status`"
    assert store.by_key(new_key()) is None  # unknown
    assert store.by_key("not-a-key") is None
    assert store.by_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None


def test_list_shows_every_producer_by_name_without_keys(dynamodb: DynamoDBClient) -> None:
    store = ProducerStore(dynamodb, TABLE)
    for name in ("zeta", "alpha"):
        store.add(new_producer(name, ["orders"], NOW)[0])
    listed = store.every()
    assert [p.name for p in listed] == ["alpha", "zeta"]
    assert all(set(p.to_json()) == {"name", "datasets", "created_at", "revoked", "revoked_at"} for p in listed)


def test_a_name_in_use_is_refused_and_the_first_key_still_works(dynamodb: DynamoDBClient) -> None:
    store = ProducerStore(dynamodb, TABLE)
    first, key = new_producer("partner", ["orders"], NOW)
    store.add(first)
    with pytest.raises(ProducerRefused, match="exists: `lakebox producer revoke partner` first"):
        store.add(new_producer("partner", ["events"], LATER)[0])
    assert store.by_key(key) == first


def test_a_revoked_key_is_refused_and_a_new_key_replaces_it(dynamodb: DynamoDBClient) -> None:
    store = ProducerStore(dynamodb, TABLE)
    producer, old_key = new_producer("partner", ["orders"], NOW)
    store.add(producer)
    revoked = store.revoke("partner", LATER)
    assert revoked.revoked and revoked.revoked_at == LATER
    assert store.revoke("partner", "2026-12-08T00:00:00+00:00").revoked_at == LATER, "the first revocation stays"
    found = store.by_key(old_key)
    assert found is not None and found.revoked and not found.may_write("orders")
    replacement, new_key_value = new_producer("partner", ["orders", "events"], LATER)
    store.add(replacement)
    assert store.by_key(old_key) is None, "the old key's digest no longer matches its producer"
    assert store.by_key(new_key_value) == replacement
    assert store.get("partner") == replacement and not replacement.revoked


def test_revoking_an_unknown_producer_is_refused(dynamodb: DynamoDBClient) -> None:
    with pytest.raises(ProducerRefused, match="no producer 'ghost'"):
        ProducerStore(dynamodb, TABLE).revoke("ghost", NOW)
    assert ProducerStore(dynamodb, TABLE).every() == []


def test_requests_are_counted_per_producer_and_second_and_the_count_expires(dynamodb: DynamoDBClient) -> None:
    store = ProducerStore(dynamodb, TABLE)
    assert [store.count_request("partner", 1_000) for _ in range(3)] == [1, 2, 3]
    assert store.count_request("partner", 1_001) == 1
    assert store.count_request("rival", 1_000) == 1
    item = dynamodb.get_item(TableName=TABLE, Key={"ProcessId": {"S": "producer-rate#partner"},
                                                    "Timestamp": {"S": "1000"}})["Item"]
    assert item["Requests"] == {"N": "3"} and item["ExpiresAt"] == {"N": str(1_000 + RATE_ITEM_S)}
    assert "Pipeline" not in item
