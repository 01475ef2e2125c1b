"""The AWS reads behind `lakebox trace`: the raw key's versions (S3), its stage records (DynamoDB: the status index
by raw key, the table by process id), whether each output exists (an S3 listing) and its log lines (CloudWatch
Logs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox.lake.listing import current_version, key_versions
from lakebox.lake.metadata import MetadataReader
from lakebox.trace.logs import LogLine, LogReader
from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal
from lakebox_layer.routing import Destination

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from lakebox.lake.target import Target


class LakeSources:
    """A trace's reads of one pipeline (see :class:`lakebox.trace.TraceSources`)."""

    def __init__(self, *, s3: S3Client, dynamodb: DynamoDBClient, metadata: MetadataReader, logs: LogReader,
                 raw_bucket: str, pipeline: str, database: str) -> None:
        self._s3 = s3
        self._db = dynamodb
        self._metadata = metadata
        self._logs = logs
        self.raw_bucket = raw_bucket
        self.pipeline = pipeline
        self.database = database

    @classmethod
    def of(cls, target: Target) -> LakeSources:
        names = target.names
        return cls(s3=target.clients.s3, dynamodb=target.clients.dynamodb, metadata=target.metadata,
                   logs=LogReader.of_functions(target.logs, names.function), raw_bucket=names.raw_bucket,
                   pipeline=target.project, database=names.glue_database)

    def versions(self, key: str) -> list[dict[str, Any]]:
        return key_versions(self._s3, self.raw_bucket, key)[0]

    def key_records(self, key: str) -> list[dict[str, Any]]:
        """The status index holds every stage record under (pipeline, raw key), whatever the version."""
        pages = self._db.get_paginator("query").paginate(
            TableName=self._metadata.table, IndexName=STATUS_INDEX,
            KeyConditionExpression="Pipeline = :pipeline AND RawKey = :key",
            ExpressionAttributeValues=marshal({":pipeline": self.pipeline, ":key": key}),
        )
        return [unmarshal(item) for page in pages for item in page.get("Items", [])]

    def process_records(self, process_id: str) -> list[dict[str, Any]]:
        return self._metadata.stage_records(process_id)

    def head(self, uri: str) -> tuple[bool | None, int | None]:
        """Whether the object exists and its size, from a listing (the operator may not head raw or validated files,
        which hold personal data)."""
        where = Destination.of(uri)
        try:
            current = current_version(self._s3, where.bucket, where.key)
        except ClientError:
            return None, None
        return (False, None) if current is None else (True, int(current.get("Size", 0)))

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        return self._logs.for_process(process_id, start)
