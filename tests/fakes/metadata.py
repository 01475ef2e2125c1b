"""A metadata table in memory that answers the status index's Query as DynamoDB does (pages of `Limit` items,
`ExclusiveStartKey`, the projection), behind the real MetadataReader, and a lake of files to fill it with."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from botocore.hooks import HierarchicalEmitter

from lakebox.lake.metadata import STATUS_ATTRIBUTES, MetadataReader
from lakebox.lake.pages import PageToken, StatusPage, read_page
from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal
from lakebox_layer.status import fold_status

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


TABLE = "lakebox-metadata"
PROJECTION = {"ProjectionExpression": "#a0, #a1, #a2, #a3, #a4, #a5, #a6, #a7, #a8, #a9",
              "ExpressionAttributeNames": {f"#a{n}": name for n, name in enumerate(STATUS_ATTRIBUTES)}}
PIPELINE = "lakebox"
ARRIVED = "2026-01-15T10:30:00+00:00"
_STAGES = ("1-ingestion", "2-validation", "3-quality", "4-curation")


def file_records(key: str, process_id: str, status: str = "processed", arrived: str = ARRIVED,
                 pipeline: str = PIPELINE) -> list[dict[str, Any]]:
    """The stage records one raw object version leaves: four for a processed file, three for a quarantined one."""
    stages = _STAGES if status == "processed" else _STAGES[:3]
    records = []
    for stage in stages:
        record: dict[str, Any] = {"ProcessId": process_id, "Timestamp": f"{arrived}#{stage}", "Pipeline": pipeline,
                                  "RawKey": key, "Stage": stage.partition("-")[2]}
        if stage == _STAGES[0]:
            record.update(Status="in_progress", Format="json", Size=120)
        elif stage == _STAGES[1]:
            record.update(Status=status, QualityScore=100.0 if status == "processed" else 40.0, RecordsTotal=2,
                          RecordsValid=2 if status == "processed" else 1, RuleCounts={"required": 1},
                          Errors=[] if status == "processed" else ["record 2: 'timestamp' is required"],
                          Destination=f"s3://bucket/validated/{key}", ContractVersion="1.0.0+abc")
        elif stage == _STAGES[2]:
            record.update(QualityScore=100.0, ValidationPassed=status == "processed")
        records.append(record)
    return records


@dataclass
class FakeDynamoDB:
    """The status index as DynamoDB answers a Query of it: items in index order (RawKey, then the table's key),
    at most `Limit` of them, or fewer when a response is full (`max_items` stands for DynamoDB's 1 MB), with a
    LastEvaluatedKey to go on from. Items without the pipeline are not in the (sparse) index."""

    items: list[dict[str, Any]] = field(default_factory=list)
    max_items: int = 1_000_000
    requests: list[dict[str, Any]] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    # A client's event hooks (the reader registers one that nothing here emits: the items are already as sent).
    events: HierarchicalEmitter = field(default_factory=HierarchicalEmitter)

    @property
    def meta(self) -> FakeDynamoDB:
        return self

    def add(self, *records: dict[str, Any]) -> None:
        self.items.extend(marshal(record) for record in records)

    @staticmethod
    def _order(item: dict[str, Any]) -> tuple[str, str, str]:
        return item["RawKey"]["S"], item["ProcessId"]["S"], item["Timestamp"]["S"]

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        assert request["TableName"] == TABLE
        assert request["IndexName"] == STATUS_INDEX
        values = unmarshal(request["ExpressionAttributeValues"])
        condition = request["KeyConditionExpression"]
        assert condition in ("Pipeline = :pipeline", "Pipeline = :pipeline AND RawKey > :after"), condition
        after = values.get(":after")
        found = sorted((item for item in self.items if item.get("Pipeline", {}).get("S") == values[":pipeline"]
                        and (after is None or item["RawKey"]["S"] > after)), key=self._order)
        start = request.get("ExclusiveStartKey")
        if start is not None:
            found = [item for item in found if self._order(item) > self._order(start)]
        page = found[:min(request.get("Limit", len(found) + 1), self.max_items)]
        self.returned.append(len(page))
        response: dict[str, Any] = {"Items": [self._project(item, request) for item in page], "Count": len(page)}
        if page and len(page) < len(found):
            last = page[-1]
            response["LastEvaluatedKey"] = {name: last[name] for name in ("ProcessId", "Timestamp", "Pipeline",
                                                                          "RawKey")}
        return response

    @staticmethod
    def _project(item: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
        if "ProjectionExpression" not in request:
            return item
        names = request["ExpressionAttributeNames"]
        wanted = {names.get(name.strip(), name.strip()) for name in request["ProjectionExpression"].split(",")}
        return {name: value for name, value in item.items() if name in wanted}

    def get_paginator(self, operation: str) -> FakeQueryPaginator:
        assert operation == "query"
        return FakeQueryPaginator(self)


@dataclass
class FakeQueryPaginator:
    db: FakeDynamoDB

    def paginate(self, **request: Any) -> Iterator[dict[str, Any]]:
        while True:
            response = self.db.query(**request)
            yield response
            if "LastEvaluatedKey" not in response:
                return
            request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def reader_of(db: FakeDynamoDB) -> MetadataReader:
    return MetadataReader(cast("DynamoDBClient", db), TABLE)


def lake(files: int) -> FakeDynamoDB:
    """A lake of `files` raw keys, every third quarantined, the fifth overwritten (two versions, two outcomes),
    and another pipeline's files in the same index."""
    db = FakeDynamoDB()
    for n in range(files):
        key = f"input/f{n:03d}.json"
        db.add(*file_records(key, f"p{n:03d}", "quarantined" if n % 3 == 0 else "processed"))
        if n == 4:
            db.add(*file_records(key, f"q{n:03d}", "quarantined", arrived="2026-01-16T00:00:00+00:00"))
    db.add(*file_records("input/other.json", "o1", pipeline="another"))
    return db


def every_page(db: FakeDynamoDB, limit: int) -> list[StatusPage]:
    pages = [read_page(reader_of(db), PIPELINE, limit)]
    while pages[-1].next_token is not None:
        pages.append(read_page(reader_of(db), PIPELINE, limit, PageToken.decode(pages[-1].next_token)))
        assert len(pages) < 1000, "paging never ends"
    return pages


def everything(db: FakeDynamoDB) -> list[Any]:
    """The rows reading every record whole gives."""
    return fold_status(reader_of(db).file_records(PIPELINE))
