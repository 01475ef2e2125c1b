"""Reading the metadata table for people: every stage record of a file, the indexed stage records of all, whole or a
page of raw keys at a time, and what `lakebox query --reveal` needs (the lake's environment, wrapped data keys)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Index entries one raw key usually has: ingestion, validation, quality and curation each record it once.
RECORDS_PER_KEY = 4
# What a status row is folded from; the rest of a record (rule counts, formats, lineage) stays in the table.
STATUS_ATTRIBUTES = ("ProcessId", "Timestamp", "RawKey", "Status", "QualityScore", "Errors", "Destination",
                     "RecordsTotal", "RecordsValid", "RecordedAt")
# Placeholders for every name: several (Status, Timestamp) are reserved words in DynamoDB's expressions.
_PROJECTION = ", ".join(f"#a{n}" for n in range(len(STATUS_ATTRIBUTES)))
_PROJECTED_NAMES = {f"#a{n}": name for n, name in enumerate(STATUS_ATTRIBUTES)}


_QUERY_PARSE = "before-parse.dynamodb.Query"
_UNPARSED = "lakebox-unparsed-items"


def _binary_decoded(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as DynamoDB sends it, with its binaries decoded as botocore's parser would."""
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(each) for each in inner]}
    if kind == "L":
        return {"L": [_binary_decoded(each) for each in inner]}
    if kind == "M":
        return {"M": {name: _binary_decoded(each) for name, each in inner.items()}}
    return value


def _items_unparsed(operation_model: Any, response_dict: dict[str, Any], customized_response_dict: dict[str, Any],
                    **_: Any) -> None:
    """Hand a successful Query's items on as DynamoDB sent them, which is the form `unmarshal` reads, and leave
    botocore's parser the rest of the body. The parser walks every attribute value through the model: over the
    status index of 2,000 files that is more CPU than the rest of `lakebox status` together."""
    if response_dict.get("status_code") != 200 or operation_model.service_model.resolved_protocol != "json":
        return
    body = json.loads(response_dict["body"])
    items = body.pop("Items", [])
    if b'"B' in response_dict["body"]:
        items = [{name: _binary_decoded(value) for name, value in item.items()} for item in items]
    customized_response_dict["Items"] = items
    response_dict["body"] = json.dumps(body).encode()


@contextmanager
def _unparsed_items(dynamodb: DynamoDBClient) -> Iterator[None]:
    """While inside, the client's Query answers carry their items unparsed (see :func:`_items_unparsed`)."""
    dynamodb.meta.events.register(_QUERY_PARSE, _items_unparsed, unique_id=_UNPARSED)
    try:
        yield
    finally:
        dynamodb.meta.events.unregister(_QUERY_PARSE, unique_id=_UNPARSED)


@dataclass(frozen=True)
class KeyPage:
    """The stage records of up to `limit` raw keys in key order, every record of each: a key's records are never
    split between two pages."""

    keys: list[str]
    records: list[dict[str, Any]] = field(repr=False)
    # The last key of this page when more keys follow it; None on the last page.
    last_key: str | None


class MetadataReader:
    """Queries of the metadata table; the functions write it through :class:`~lakebox_layer.adapters.metadata.
    MetadataStore`."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def stage_records(self, process_id: str) -> list[dict[str, Any]]:
        """Every stage record of one process, in pipeline order."""
        paginator = self._db.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="ProcessId = :pid",
            ExpressionAttributeValues=marshal({":pid": process_id}),
            ConsistentRead=True,
        )
        return [unmarshal(item) for page in pages for item in page.get("Items", [])]

    def process_status_records(self, process_id: str) -> list[dict[str, Any]]:
        """What one process's status row is folded from: its stage records, only the attributes a row needs, read
        as `status` reads the index (what a wait polls for each file)."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self.table, KeyConditionExpression="ProcessId = :pid",
            ExpressionAttributeValues=marshal({":pid": process_id}), ConsistentRead=True,
            ProjectionExpression=_PROJECTION, ExpressionAttributeNames=_PROJECTED_NAMES)
        with _unparsed_items(self._db):
            return [unmarshal(item) for page in pages for item in page.get("Items", [])]

    def lake_environment(self) -> str | None:
        """The environment bootstrap recorded for the lake (`production`, `development`, ...); None if it has not."""
        from lakebox_layer.privacy import LAKE_SETTINGS_KEY  # privacy imports the contracts

        item = self._item(LAKE_SETTINGS_KEY)
        return None if item is None else str(item.get("Environment"))

    def data_key(self, ref: str) -> dict[str, Any] | None:
        """The item of the data key a ciphertext names: its wrapped copy (base64) and encryption context."""
        from lakebox_layer.privacy import DATA_KEY_PREFIX, DATA_KEY_SORT  # as above

        return self._item({"ProcessId": f"{DATA_KEY_PREFIX}{ref}", "Timestamp": DATA_KEY_SORT})

    def _item(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._db.get_item(TableName=self.table, Key=marshal(key), ConsistentRead=True).get("Item")
        return None if item is None else unmarshal(item)

    def file_records(self, pipeline: str) -> list[dict[str, Any]]:
        """The stage records of every raw file in the status index: ingestion and validation, which carry its status,
        and quality and curation, which only say that they happened."""
        return self._every_record(pipeline)

    def status_records(self, pipeline: str) -> list[dict[str, Any]]:
        """What :meth:`file_records` reads, only the attributes a status row is folded from."""
        return self._every_record(pipeline, ProjectionExpression=_PROJECTION, ExpressionAttributeNames=_PROJECTED_NAMES)

    def _every_record(self, pipeline: str, **projection: Any) -> list[dict[str, Any]]:
        pages = self._db.get_paginator("query").paginate(
            TableName=self.table, IndexName=STATUS_INDEX, KeyConditionExpression="Pipeline = :pipeline",
            ExpressionAttributeValues=marshal({":pipeline": pipeline}), **projection)
        with _unparsed_items(self._db):
            return [unmarshal(item) for page in pages for item in page.get("Items", [])]

    def key_page(self, pipeline: str, limit: int, after: str | None = None) -> KeyPage:
        """The stage records (what a status row needs of them) of the first `limit` raw keys after `after` (from
        the first key when None), read from the status index in its order (by raw key) with Limit and
        ExclusiveStartKey: a page costs what it holds, however many files the lake has.

        A key's records sit together in the index, so the page reads until it has seen the key after its last one
        (or the end): only then is the last key's every record (every stage, every version) on the page."""
        if limit < 1:
            raise ValueError(f"a page holds at least one file, not {limit}")
        condition = "Pipeline = :pipeline"
        values: dict[str, Any] = {":pipeline": pipeline}
        if after is not None:
            condition += " AND RawKey > :after"
            values[":after"] = after
        request: dict[str, Any] = {
            "TableName": self.table, "IndexName": STATUS_INDEX, "KeyConditionExpression": condition,
            "ExpressionAttributeValues": marshal(values), "Limit": RECORDS_PER_KEY * (limit + 1),
            "ProjectionExpression": _PROJECTION, "ExpressionAttributeNames": _PROJECTED_NAMES,
        }
        keys: list[str] = []
        records: list[dict[str, Any]] = []
        while True:
            with _unparsed_items(self._db):
                response = self._db.query(**request)
            for item in response.get("Items", []):
                record = unmarshal(item)
                key = str(record["RawKey"])
                if not keys or keys[-1] != key:
                    if len(keys) == limit:
                        return KeyPage(keys, records, last_key=keys[-1])
                    keys.append(key)
                records.append(record)
            start = response.get("LastEvaluatedKey")
            if not start:
                return KeyPage(keys, records, last_key=None)
            request["ExclusiveStartKey"] = start
