"""DynamoDB: the producers of the ingestion API and their keys' digests (see :mod:`lakebox_layer.producers`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.adapters.health import EXPIRES_AT
from lakebox_layer.adapters.metadata import marshal, unmarshal
from lakebox_layer.exceptions import MetadataError, ProducerRefused
from lakebox_layer.producers import (
    PRODUCERS_PARTITION,
    RATE_ITEM_PREFIX,
    RATE_ITEM_S,
    Producer,
    key_digest,
    key_item,
    key_of_digest,
    looks_like_key,
    producer_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CANCELLED = frozenset({"TransactionCanceledException", "ConditionalCheckFailedException"})


class ProducerStore:
    """The producers in the lake's metadata table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def add(self, producer: Producer) -> None:
        """Store a producer and its key's digest together. A name in use by a producer that is not revoked is
        refused; a revoked one's name takes the new producer (its old key stays dead: its digest no longer
        matches)."""
        try:
            self._db.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table, "Item": marshal(producer.item()),
                         "ConditionExpression": "attribute_not_exists(ProcessId) OR attribute_exists(RevokedAt)"}},
                {"Put": {"TableName": self.table, "Item": marshal(key_item(producer.digest, producer.name)),
                         "ConditionExpression": "attribute_not_exists(ProcessId)"}},
            ])
        except ClientError as error:
            if error_code(error) in _CANCELLED:
                raise ProducerRefused(f"producer {producer.name!r} exists: `lakebox producer revoke "
                                      f"{producer.name}` first to give it a new key") from error
            raise MetadataError(f"adding producer {producer.name!r} to {self.table}: {error_code(error)}") from error

    def get(self, name: str) -> Producer | None:
        item = self._item(producer_key(name))
        return None if item is None else Producer.from_item(item)

    def by_key(self, key: str) -> Producer | None:
        """The producer a key belongs to, revoked or not; None for anything that is not a live key's form or
        digest."""
        if not looks_like_key(key):
            return None
        digest = key_digest(key)
        found = self._item(key_of_digest(digest))
        if found is None:
            return None
        producer = self.get(str(found["Producer"]))
        return producer if producer is not None and producer.digest == digest else None

    def every(self) -> list[Producer]:
        """Every producer, by name."""
        try:
            pages = self._db.get_paginator("query").paginate(
                TableName=self.table, KeyConditionExpression="ProcessId = :p",
                ExpressionAttributeValues=marshal({":p": PRODUCERS_PARTITION}), ConsistentRead=True)
            return [Producer.from_item(unmarshal(item)) for page in pages for item in page["Items"]]
        except ClientError as error:
            raise MetadataError(f"listing producers in {self.table}: {error_code(error)}") from error

    def revoke(self, name: str, now: str) -> Producer:
        """Mark a producer revoked (once: a second revoke keeps the first time); its key is refused from then on,
        once the API's cached answers for it expire."""
        try:
            updated = self._db.update_item(
                TableName=self.table, Key=marshal(producer_key(name)),
                UpdateExpression="SET RevokedAt = if_not_exists(RevokedAt, :now)",
                ConditionExpression="attribute_exists(ProcessId)",
                ExpressionAttributeValues=marshal({":now": now}), ReturnValues="ALL_NEW")
        except ClientError as error:
            if error_code(error) in _CANCELLED:
                raise ProducerRefused(f"no producer {name!r}: see `lakebox producer list`") from error
            raise MetadataError(f"revoking producer {name!r} in {self.table}: {error_code(error)}") from error
        return Producer.from_item(unmarshal(updated["Attributes"]))

    def count_request(self, name: str, second: int) -> int:
        """Count one request of a producer in the second it came (seconds since the epoch); the second's count so
        far. The count's item expires RATE_ITEM_S after its second."""
        try:
            updated = self._db.update_item(
                TableName=self.table, Key=marshal({"ProcessId": f"{RATE_ITEM_PREFIX}{name}", "Timestamp": str(second)}),
                UpdateExpression="ADD Requests :one SET #expires = :expires",
                ExpressionAttributeNames={"#expires": EXPIRES_AT},
                ExpressionAttributeValues=marshal({":one": 1, ":expires": second + RATE_ITEM_S}),
                ReturnValues="UPDATED_NEW")
        except ClientError as error:
            raise MetadataError(f"counting producer {name}'s requests in {self.table}: {error_code(error)}") from error
        return int(unmarshal(updated["Attributes"])["Requests"])

    def _item(self, key: dict[str, str]) -> dict[str, object] | None:
        try:
            found = self._db.get_item(TableName=self.table, Key=marshal(key), ConsistentRead=True).get("Item")
        except ClientError as error:
            raise MetadataError(f"reading {key['ProcessId']} from {self.table}: {error_code(error)}") from error
        return None if found is None else unmarshal(found)
