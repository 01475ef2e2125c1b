"""Reading the metadata table for people: every stage record of a file, and the indexed stage records of all."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


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

    def file_records(self, pipeline: str) -> list[dict[str, Any]]:
        """The stage records of every raw file in the status index: ingestion and validation, which carry its status,
        and quality and curation, which only say that they happened."""
        paginator = self._db.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName=STATUS_INDEX,
            KeyConditionExpression="Pipeline = :pipeline",
            ExpressionAttributeValues=marshal({":pipeline": pipeline}),
        )
        return [unmarshal(item) for page in pages for item in page.get("Items", [])]
