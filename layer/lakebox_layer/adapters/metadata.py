"""DynamoDB: one metadata record per stage per process, running quality totals, and the status index.

Record keys are deterministic: `ProcessId` comes from the raw object version and `Timestamp` is the raw object's
arrival time followed by the stage (`2026-01-15T10:30:00+00:00#2-validation`), so a redelivered event writes the
same key and a conditional write turns at-least-once delivery into one record.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.exceptions import MetadataError, StageAlreadyRecorded
from lakebox_layer.records import QualityTotals
from lakebox_layer.registry import Stage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STATUS_INDEX = "StatusIndex"
BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem
BATCH_GET_ATTEMPTS = 5
_TOTALS_SORT_KEY = "totals"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def stage_sort_key(arrived_at: str, stage: Stage) -> str:
    return f"{arrived_at}#{stage.order}-{stage.value}"


def to_dynamo(value: Any) -> Any:
    """DynamoDB numbers are Decimals; boto3 rejects Python floats."""
    if isinstance(value, float):
        return Decimal(str(round(value, 4)))
    if isinstance(value, dict):
        return {k: to_dynamo(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def marshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in to_dynamo(item).items()}


def _plain(value: dict[str, Any]) -> Any:
    """One attribute value in DynamoDB's wire form as `from_dynamo(TypeDeserializer().deserialize(value))` gives it,
    decoded in one pass for the types records hold (strings, numbers, booleans, null, maps, lists); sets and
    binaries are left to boto3's deserializer."""
    (kind, raw), = value.items()
    if kind == "S":
        return raw
    if kind == "N":
        number = Decimal(raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "M":
        return {k: _plain(v) for k, v in raw.items()}
    if kind == "L":
        return [_plain(v) for v in raw]
    if kind == "BOOL":
        return raw
    if kind == "NULL":
        return None
    return from_dynamo(_deserializer.deserialize(value))  # type: ignore[arg-type]


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in item.items()}


class MetadataStore:
    """Reads and writes of the metadata table."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def has_stage(self, process_id: str, sort_key: str) -> bool:
        """Whether the stage record with this key exists (a consistent read)."""
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key=marshal({"ProcessId": process_id, "Timestamp": sort_key}),
                ConsistentRead=True,
                ProjectionExpression="ProcessId",
            )
        except ClientError as error:
            raise MetadataError(f"reading {process_id} from {self.table}: {error_code(error)}") from error
        return "Item" in response

    def stages_recorded(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (process id, sort key) records exist: consistent BatchGetItem reads of up to 100 keys,
        the keys DynamoDB leaves unprocessed asked again (with a short back-off, a bounded number of times)."""
        found: set[tuple[str, str]] = set()
        wanted = list(dict.fromkeys(keys))
        for start in range(0, len(wanted), BATCH_GET_KEYS):
            pending: list[dict[str, Any]] = [marshal({"ProcessId": process_id, "Timestamp": sort_key})
                                             for process_id, sort_key in wanted[start:start + BATCH_GET_KEYS]]
            for attempt in range(BATCH_GET_ATTEMPTS):
                if not pending:
                    break
                if attempt:
                    time.sleep(0.05 * 2 ** attempt)  # DynamoDB asks callers to back off before the unprocessed keys
                try:
                    response = self._db.batch_get_item(RequestItems={self.table: {
                        "Keys": pending, "ConsistentRead": True, "ProjectionExpression": "ProcessId, #t",
                        "ExpressionAttributeNames": {"#t": "Timestamp"}}})
                except ClientError as error:
                    raise MetadataError(f"reading stage records from {self.table}: {error_code(error)}") from error
                for item in response.get("Responses", {}).get(self.table, []):
                    record = unmarshal(item)
                    found.add((str(record["ProcessId"]), str(record["Timestamp"])))
                unprocessed: dict[str, Any] = dict(response.get("UnprocessedKeys") or {})
                pending = list((unprocessed.get(self.table) or {}).get("Keys", []))
            if pending:
                raise MetadataError(f"reading stage records from {self.table}: {len(pending)} keys left unprocessed")
        return found

    def put_stage(self, item: dict[str, Any]) -> None:
        """Write a stage record once; a second write of the same key raises :class:`StageAlreadyRecorded`."""
        try:
            self._db.put_item(
                TableName=self.table,
                Item=marshal(item),
                ConditionExpression="attribute_not_exists(ProcessId)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise StageAlreadyRecorded(item["ProcessId"]) from error
            raise MetadataError(f"writing {item['ProcessId']} to {self.table}: {error_code(error)}") from error

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """Write items that are the same whenever written (a data key's wrapped copy under its reference)."""
        for item in items:
            try:
                self._db.put_item(TableName=self.table, Item=marshal(item))
            except ClientError as error:
                raise MetadataError(f"writing {item['ProcessId']} to {self.table}: {error_code(error)}") from error

    def record_quality(self, item: dict[str, Any], pipeline: str, *, passed: bool, score: float,
                       records: int) -> None:
        """Write the quality stage record and add the file to the pipeline's totals in one transaction: O(1) per
        file, however long the history (read the totals with :meth:`totals`)."""
        totals_key = marshal({"ProcessId": f"totals#{pipeline}", "Timestamp": _TOTALS_SORT_KEY})
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": marshal(item),
                            "ConditionExpression": "attribute_not_exists(ProcessId)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": totals_key,
                            "UpdateExpression": "ADD Files :one, FilesPassed :passed, ScoreSum :score, "
                            "RecordCount :records",
                            "ExpressionAttributeValues": marshal(
                                {":one": 1, ":passed": int(passed), ":score": score, ":records": records}
                            ),
                        }
                    },
                ]
            )
        except ClientError as error:
            reasons = error.response.get("CancellationReasons", [])
            if error_code(error) == "TransactionCanceledException" and any(
                r.get("Code") == "ConditionalCheckFailed" for r in reasons
            ):
                raise StageAlreadyRecorded(item["ProcessId"]) from error
            raise MetadataError(f"recording quality of {item['ProcessId']}: {error_code(error)}") from error

    def totals(self, pipeline: str) -> QualityTotals:
        """The pipeline's running quality totals (all zero before its first file)."""
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key=marshal({"ProcessId": f"totals#{pipeline}", "Timestamp": _TOTALS_SORT_KEY}),
                ConsistentRead=True,
            )
        except ClientError as error:
            raise MetadataError(f"reading the totals of {pipeline} from {self.table}: {error_code(error)}") from error
        item = unmarshal(response.get("Item", {}))
        return QualityTotals(
            files=int(item.get("Files", 0)),
            files_passed=int(item.get("FilesPassed", 0)),
            score_sum=float(item.get("ScoreSum", 0)),
            records=int(item.get("RecordCount", 0)),
        )


class FileRecords:
    """The stage records a file's status row is folded from (:mod:`lakebox_layer.status`), as the ingestion API
    reads them: one process's, or one raw key's (every version's) from the status index."""

    def __init__(self, dynamodb: DynamoDBClient, table: str, pipeline: str) -> None:
        self._db = dynamodb
        self.table = table
        self.pipeline = pipeline

    def of_process(self, process_id: str) -> list[dict[str, Any]]:
        """Every stage record of one process (one raw object version), read consistently."""
        return self._query(KeyConditionExpression="ProcessId = :pid", ConsistentRead=True,
                           ExpressionAttributeValues=marshal({":pid": process_id}))

    def of_key(self, raw_key: str) -> list[dict[str, Any]]:
        """Every stage record of every version of one raw key."""
        return self._query(IndexName=STATUS_INDEX, KeyConditionExpression="Pipeline = :pipeline AND RawKey = :key",
                           ExpressionAttributeValues=marshal({":pipeline": self.pipeline, ":key": raw_key}))

    def _query(self, **request: Any) -> list[dict[str, Any]]:
        try:
            pages = self._db.get_paginator("query").paginate(TableName=self.table, **request)
            return [unmarshal(item) for page in pages for item in page.get("Items", [])]
        except ClientError as error:
            raise MetadataError(f"reading file records from {self.table}: {error_code(error)}") from error
