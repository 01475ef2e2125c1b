"""Contracts at run time: one item per dataset in the metadata table, published by bootstrap, read per file.

A contract edited and published again takes effect for the next file, with no code deployed.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.contracts import Contract, parse_contract, structural_contract
from lakebox_layer.exceptions import ContractInvalid, MetadataError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_SORT_KEY = "current"
_INDEX_KEY: dict[str, Any] = {"ProcessId": {"S": "contract#"}, "Timestamp": {"S": "index"}}


def _key(dataset: str) -> dict[str, Any]:
    return {"ProcessId": {"S": f"contract#{dataset}"}, "Timestamp": {"S": _SORT_KEY}}


class ContractStore:
    """The published contracts: one item per dataset, and an index item listing the datasets."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def _get(self, dataset: str) -> dict[str, Any] | None:
        try:
            item = self._db.get_item(TableName=self.table, Key=_key(dataset)).get("Item")
        except ClientError as error:
            raise MetadataError(f"reading the contract of {dataset!r}: {error_code(error)}") from error
        return item

    def contract_for(self, dataset: str) -> Contract:
        """The dataset's published contract, or structural checks only when it has none."""
        item = self._get(dataset)
        if item is None:
            return structural_contract(dataset)
        try:
            document = json.loads(item["Document"]["S"])
        except (KeyError, ValueError) as error:
            raise ContractInvalid(f"the stored contract of {dataset!r} is not a JSON document: {error}") from error
        return parse_contract(document)

    def published_version(self, dataset: str) -> str | None:
        """The version of the dataset's published contract, None when it has none."""
        item = self._get(dataset)
        return item["Version"]["S"] if item else None

    def published_datasets(self) -> list[str]:
        """Datasets with a published contract, from the index item publish and withdraw maintain (no scan)."""
        try:
            item = self._db.get_item(TableName=self.table, Key=_INDEX_KEY, ConsistentRead=True).get("Item", {})
        except ClientError as error:
            raise MetadataError(f"reading the published contracts: {error_code(error)}") from error
        return sorted(item.get("Datasets", {}).get("SS", []))

    def publish(self, contract: Contract) -> None:
        """Store the contract as written and list its dataset in the index."""
        try:
            self._db.put_item(TableName=self.table, Item={
                **_key(contract.dataset),
                "Document": {"S": json.dumps(contract.document)},  # as written: field order is kept
                "Version": {"S": contract.version},
            })
            self._db.update_item(TableName=self.table, Key=_INDEX_KEY, UpdateExpression="ADD Datasets :d",
                                 ExpressionAttributeValues={":d": {"SS": [contract.dataset]}})
        except ClientError as error:
            raise MetadataError(f"publishing the contract of {contract.dataset!r}: {error_code(error)}") from error

    def withdraw(self, dataset: str) -> None:
        """Delete the dataset's contract and its index entry; its files then get structural checks."""
        try:
            self._db.delete_item(TableName=self.table, Key=_key(dataset))
            self._db.update_item(TableName=self.table, Key=_INDEX_KEY, UpdateExpression="DELETE Datasets :d",
                                 ExpressionAttributeValues={":d": {"SS": [dataset]}})
        except ClientError as error:
            raise MetadataError(f"withdrawing the contract of {dataset!r}: {error_code(error)}") from error


class _Contracts(Protocol):
    def contract_for(self, dataset: str) -> Contract: ...


class BatchContracts:
    """A stage's contract reads, each dataset's read once per batch of files: the batch's other files of the dataset
    reuse it while it is fresh (read in this batch, less than `max_age_s` ago), so a published edit takes effect
    from the next batch at the latest. An invalid contract is remembered the same way."""

    def __init__(self, store: _Contracts, max_age_s: float = 5.0) -> None:
        self.store = store
        self.max_age_s = max_age_s
        self._read: dict[str, tuple[float, Contract | ContractInvalid]] = {}

    def new_batch(self) -> None:
        """Forget every contract read: the next file of each dataset reads it again."""
        self._read.clear()

    def contract_for(self, dataset: str) -> Contract:
        read = self._read.get(dataset)
        if read is None or time.monotonic() - read[0] > self.max_age_s:
            try:
                found: Contract | ContractInvalid = self.store.contract_for(dataset)
            except ContractInvalid as invalid:
                found = invalid
            read = (time.monotonic(), found)
            self._read[dataset] = read
        if isinstance(read[1], ContractInvalid):
            raise ContractInvalid(str(read[1]))
        return read[1]
