"""The AWS reads behind `lakebox trace`: the raw key's versions (S3), its stage records (DynamoDB: the status index
by raw key, the table by process id), whether each output exists (S3) and its log lines (CloudWatch Logs)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox.lake.metadata import MetadataReader
from lakebox.trace.logs import LogLine, LogReader
from lakebox_layer.adapters.errors import missing
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
        """S3 lists a key's versions first among the keys it prefixes, so the listing stops at the first other key."""
        found: list[dict[str, Any]] = []
        pages = self._s3.get_paginator("list_object_versions").paginate(Bucket=self.raw_bucket, Prefix=key)
        for page in pages:
            for version in page.get("Versions", []):
                if version["Key"] != key:
                    return found
                found.append(dict(version))
        return found

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
        where = Destination.of(uri)
        try:
            response = self._s3.head_object(Bucket=where.bucket, Key=where.key)
        except ClientError as error:
            return (False, None) if missing(error) else (None, None)
        return True, int(response.get("ContentLength", 0))

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        return self._logs.for_process(process_id, start)
