"""The curation stage on in-memory adapters that share one call log, with real DuckDB: the world the curation tests
(plain and with personal data) build their files in and read their Parquet back from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from aws_lambda_powertools import Logger

from lakebox_layer.adapters.catalog import TableState
from lakebox_layer.columns import Column, table_columns, widen
from lakebox_layer.exceptions import PublishError
from lakebox_layer.parquet import ParquetEngine
from lakebox_layer.records import DataValidated, FileFormat, FileStatus
from lakebox_layer.settings import Settings
from lakebox_layer.stages.curation import Curation
from tests.fakes.keys import FakePersonalDataKeys
from tests.fakes.stages import (
    PROCESSED,
    SETTINGS,
    UPLOADED_AT,
    FakeContractStore,
    FakeEventPublisher,
    FakeMetadataStore,
)

ARRIVED_AT = UPLOADED_AT.isoformat()
ORDERS_CSV = (
    "order_id,customer_email,phone,amount,currency,ordered_at,sku\n"
    "1,a@example.com,+1-555-123-4567,10.5,EUR,2026-01-15T10:30:00,AB-123\n"
    "2,b@example.com,,20,USD,2026-01-14T23:00:00Z,\n"
    "3,c@example.com,,30.25,GBP,2026-01-15T01:00:00+02:00,CD-456\n"
)


@dataclass
class FakeTransfer:
    """Objects by (bucket, key); every download and upload goes to the shared call log."""

    log: list[str]
    objects: dict[tuple[str, str], bytes] = field(default_factory=dict)
    content_types: dict[tuple[str, str], str] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    download_dirs: list[Path] = field(default_factory=list)

    def download_to(self, bucket: str, key: str, path: Path) -> None:
        self.downloads.append(key)
        self.download_dirs.append(path.parent)
        path.write_bytes(self.objects[(bucket, key)])

    def upload_from(self, path: Path, bucket: str, key: str, content_type: str) -> None:
        self.log.append(f"upload {key}")
        self.objects[(bucket, key)] = path.read_bytes()
        self.content_types[(bucket, key)] = content_type


@dataclass
class FakeCatalog:
    """Tables as their data columns, widened the way Glue's adapter widens them; partitions per table."""

    log: list[str]
    tables: dict[str, list[Column]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    partitions: dict[str, set[str]] = field(default_factory=dict)
    fail_next: Exception | None = None
    # What another file does to a table between this file's read of it and its own update (a race), once.
    meanwhile: dict[str, list[Column]] = field(default_factory=dict)

    def table(self, name: str) -> TableState | None:
        if self.fail_next is not None:
            failure, self.fail_next = self.fail_next, None
            raise failure
        if name not in self.tables:
            return None
        return TableState(table_columns(self.tables[name]), "1", self.descriptions.get(name, ""))

    def ensure_columns(self, name: str, found: list[Column], location: str, description: str = "",
                       known: TableState | None = None) -> list[Column]:
        assert location == f"s3://{PROCESSED}/curated/{name}/"
        self.log.append(f"ensure {name}")
        if name in self.meanwhile:
            self.tables[name] = widen(self.tables.get(name, []), self.meanwhile.pop(name))
        self.descriptions.setdefault(name, description)
        self.tables[name] = widen(self.tables.get(name, []), found)
        return list(self.tables[name])

    def add_partitions(self, name: str, days: list[str], location: str, columns: list[Column]) -> None:
        assert columns == self.tables[name]
        self.log.append(f"partitions {name} {','.join(days)}")
        self.partitions.setdefault(name, set()).update(days)


@dataclass
class FakeLakeFormationTags:
    """Each call to tag a table's columns `sensitivity=pii`, in the shared call log and in `calls`, as asked."""

    log: list[str]
    calls: list[tuple[str, list[str]]] = field(default_factory=list)

    def tag_pii(self, table: str, columns: list[str]) -> list[str]:
        self.log.append(f"tag {table} {','.join(columns)}")
        self.calls.append((table, list(columns)))
        return list(columns)


class LoggedEvents(FakeEventPublisher):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def publish_all(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[PublishError | None]:
        self.log.extend(f"event {detail_type}" for _, detail_type, _ in events)
        return super().publish_all(events)


class LoggedMetadata(FakeMetadataStore):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def put_stage(self, item: dict[str, Any]) -> None:
        self.log.append(f"record {item['Stage']}")
        super().put_stage(item)


class World:
    """The curation stage on fakes that share one call log; the engine's work directories are kept to check. With
    `lake_formation` the stage tags protected columns (the lake's setting on); without, it has no such port."""

    def __init__(self, settings: Settings = SETTINGS, *, lake_formation: bool = False) -> None:
        self.log: list[str] = []
        self.objects = FakeTransfer(self.log)
        self.catalog = FakeCatalog(self.log)
        self.events = LoggedEvents(self.log)
        self.metadata = LoggedMetadata(self.log)
        self.contracts = FakeContractStore()
        self.keys = FakePersonalDataKeys()
        self.lake_formation = FakeLakeFormationTags(self.log)
        self.work_dirs: list[Path] = []
        self.stage = Curation(settings, objects=self.objects, metadata=self.metadata, events=self.events,
                              contracts=self.contracts, catalog=self.catalog, keys=self.keys, engine=self.engine,
                              logger=Logger(service="lakebox-unit-test"),
                              lake_formation=self.lake_formation if lake_formation else None)

    def engine(self, work: Path) -> ParquetEngine:
        self.work_dirs.append(work)
        return ParquetEngine(work, memory="256MB", threads=1)

    def processed(self, dataset: str, name: str, body: bytes, *, process_id: str = "pid1",
                  file_format: FileFormat = FileFormat.CSV, **changes: Any) -> DataValidated:
        key = f"validated/{dataset}/{name}"
        self.objects.objects[(PROCESSED, key)] = body
        fields: dict[str, Any] = {
            "process_id": process_id, "key": f"input/{dataset}/{name}", "dataset": dataset, "arrived_at": ARRIVED_AT,
            "status": FileStatus.PROCESSED, "quality_score": 100.0, "records_total": 3, "records_valid": 3,
            "errors": [], "destination": f"s3://{PROCESSED}/{key}", "format": file_format, "version_id": "v1",
            "contract_version": None, **changes}
        return DataValidated(**fields)

    def records(self) -> list[dict[str, Any]]:
        return self.metadata.stage("curation")

    def curated(self) -> list[str]:
        return sorted(key for bucket, key in self.objects.objects if key.startswith("curated/"))

    def read(self, key: str, tmp_path: Path, select: str = "*") -> list[tuple[Any, ...]]:
        path = tmp_path / key.replace("/", "_")
        path.write_bytes(self.objects.objects[(PROCESSED, key)])
        with duckdb.connect() as db:
            return db.execute(f"SELECT {select} FROM read_parquet('{path}', hive_partitioning = false) "
                              "ORDER BY 1").fetchall()

    def schema(self, key: str, tmp_path: Path) -> list[Column]:
        path = tmp_path / ("schema_" + key.replace("/", "_"))
        path.write_bytes(self.objects.objects[(PROCESSED, key)])
        engine = ParquetEngine(tmp_path / "schema-work", memory="128MB", threads=1)
        try:
            return engine.parquet_schema(path)
        finally:
            engine.close()

    def no_work_left(self) -> bool:
        """Every file's scratch directory is gone; the stage's one DuckDB directory stays until it closes."""
        scratch = self.objects.download_dirs
        return bool(scratch) and not any(work.exists() for work in scratch) and len(self.work_dirs) == 1
