"""Curation: a processed file's rows become typed, partitioned Parquet under `curated/`, its dataset's Glue table
gains any new columns and the file's day partitions, the stage is recorded and "Data Curated" announced.

Keys are deterministic (`curated/<dataset>/dt=<day>/<process_id>_0.parquet`): a redelivery or a retry overwrites
the same objects, and the stage record is written once, so every processed file has exactly one curation outcome.
A file whose values cannot take the table's types gets a failed outcome with the reason; its validated copy stays.

Personal data never reaches the curated zone in the clear: the columns :mod:`lakebox_layer.privacy` plans to
protect are rewritten first (:mod:`lakebox_layer.protected_files`), and the wrapped data keys go with the Parquet
(its key-value metadata), into the curation record and into the metadata table under their references. Where the
lake's Lake Formation setting is on, the table's protected columns are tagged `sensitivity=pii` before the file's
objects land (:mod:`lakebox_layer.adapters.lake_formation`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.catalog import Catalog
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.contract_store import BatchContracts, ContractStore
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.adapters.keys import PersonalDataKeys
from lakebox_layer.adapters.lake_formation import LakeFormationTags
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.columns import Column, contract_columns, data_columns, widen
from lakebox_layer.contracts import Contract
from lakebox_layer.datasets import dataset_name_problem, table_name
from lakebox_layer.exceptions import ContractInvalid, CurationRejected, OutOfTime
from lakebox_layer.failures import file_failure, file_failure_reason
from lakebox_layer.parquet import CuratedPart, Lineage, ParquetEngine
from lakebox_layer.privacy import (
    ColumnPlan,
    data_key_item,
    keys_metadata,
    plan_protection,
    protect_columns,
    protected_in,
)
from lakebox_layer.protected_files import ColumnProtector, protect_file
from lakebox_layer.records import DataValidated, FileFormat, FileStatus
from lakebox_layer.registry import DATA_CURATED, Stage
from lakebox_layer.routing import Destination, curated_key, curated_location
from lakebox_layer.settings import Settings
from lakebox_layer.sources import Source
from lakebox_layer.stages.batch import Announcement, Outcome, announce, single
from lakebox_layer.stages.recorder import StageRecorder, stage_record
from lakebox_layer.time_limit import LambdaContext, TimeLimit

CURATED = "curated"
CURATION_FAILED = "failed"
PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
# Times a file is protected again when another file marks more of its table's columns protected meanwhile.
REPLANS = 3


@dataclass(frozen=True)
class Curated:
    """One file's curation outcome, as recorded and announced."""

    process_id: str
    key: str
    dataset: str
    status: str  # CURATED or CURATION_FAILED
    table: str | None
    rows: int = 0
    partitions: list[str] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    reason: str | None = None
    # Each protected column and how (its table comment), and the reference of each data key it used.
    protected: dict[str, str] = field(default_factory=dict)
    data_keys: dict[str, str] = field(default_factory=dict)

    def to_detail(self) -> dict[str, Any]:
        return asdict(self)


class Curation:
    """The curation stage: "Data Validated" (processed) in, Parquet and catalog entries out, "Data Curated" out."""

    def __init__(self, settings: Settings, *, objects: ports.FileTransfer, metadata: ports.MetadataStore,
                 events: ports.EventPublisher, contracts: ports.ContractStore, catalog: ports.Catalog,
                 keys: ports.PersonalDataKeys, engine: Callable[[Path], ParquetEngine], logger: Logger,
                 lake_formation: ports.LakeFormationTags | None = None) -> None:
        self.settings = settings
        self.objects = objects
        self.metadata = metadata
        self.keys = keys
        self.events = events
        self.contracts = BatchContracts(contracts)
        self.catalog = catalog
        self.lake_formation = lake_formation  # None: the lake's Lake Formation setting is off
        self.engine = engine
        self._engine: ParquetEngine | None = None
        self._partitions: set[tuple[str, str]] = set()  # (table, day) registered during this batch
        self.logger = logger
        self.recorder = StageRecorder(metadata, settings.project, logger)

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> Curation:
        """The stage on the AWS clients the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        lake_formation = (LakeFormationTags(clients.lakeformation, settings.glue_database, logger)
                          if settings.lake_formation else None)
        return cls(
            settings,
            objects=ObjectStore(clients.s3),
            metadata=MetadataStore(clients.dynamodb, settings.metadata_table),
            events=EventPublisher(clients.events, settings.event_bus),
            contracts=ContractStore(clients.dynamodb, settings.metadata_table),
            catalog=Catalog(clients.glue, settings.glue_database),
            keys=PersonalDataKeys(clients.kms, settings.pii_key_alias, settings.pii_token_key_alias),
            engine=ParquetEngine,
            logger=logger,
            lake_formation=lake_formation,
        )

    def curate(self, validated: DataValidated) -> Curated | None:
        """Curate one processed file; None for a duplicate delivery or a file that is not processed."""
        return single(self.curate_all([validated])[0])

    def within(self, context: LambdaContext) -> Callable[[list[DataValidated]], list[Outcome[Curated]]]:
        """`curate_all` within the time the invocation of `context` has."""
        limit = TimeLimit.of(context)
        return lambda batch: self.curate_all(batch, limit)

    def curate_all(self, batch: list[DataValidated], limit: TimeLimit | None = None) -> list[Outcome[Curated]]:
        """Curate a batch of processed files: each written and catalogued in turn, the one of most records first
        (each within the invocation's time `limit`), then every "Data Curated" published in as few calls as the bus
        allows, then the curation record of each file whose event was accepted. Each dataset's contract is read
        once for the batch. Per file, in the batch's order: its outcome, None for a duplicate or a file that is not
        processed, or its error."""
        self.contracts.new_batch()
        self._partitions.clear()
        self.recorder.look_up(Stage.CURATION, [(validated.process_id, validated.arrived_at) for validated in batch
                                               if validated.status is FileStatus.PROCESSED])
        within = limit or TimeLimit.unlimited()
        return announce(self.events, batch, lambda validated: self._curate_file(validated, within.for_file()),
                        key=lambda validated: validated.process_id,
                        size=lambda validated: validated.records_total or 0)

    def _curate_file(self, validated: DataValidated, limit: TimeLimit) -> Announcement[Curated] | None:
        """A file's side effects: its Parquet and catalog entries. What remains is its event, then its record."""
        self.logger.set_correlation_id(validated.process_id)
        if validated.status is not FileStatus.PROCESSED or validated.destination is None:
            self.logger.info("not processed: nothing to curate", extra={"key": validated.key})
            return None
        if self.recorder.recorded(validated.process_id, validated.arrived_at, Stage.CURATION):
            self.logger.info("duplicate delivery: curation already recorded", extra={"key": validated.key})
            return None
        try:
            outcome = self._curate(validated, limit)
        except (CurationRejected, OutOfTime) as rejected:
            outcome = Curated(validated.process_id, validated.key, validated.dataset, CURATION_FAILED,
                              self._table_or_none(validated.dataset), reason=rejected.reason)
        except Exception as error:  # the file's own failure ends it now; any other is retried
            if (failure := file_failure(error)) is None:
                raise
            outcome = Curated(validated.process_id, validated.key, validated.dataset, CURATION_FAILED,
                              self._table_or_none(validated.dataset),
                              reason=file_failure_reason("curation", failure))
        record = stage_record(
            validated.process_id, validated.arrived_at, Stage.CURATION,
            Pipeline=self.settings.project, RawKey=validated.key, Dataset=validated.dataset,
            CurationStatus=outcome.status, Table=outcome.table, CuratedRows=outcome.rows,
            Partitions=outcome.partitions, CuratedObjects=outcome.objects, Reason=outcome.reason,
            Protected=outcome.protected or None, DataKeys=outcome.data_keys or None,
        )

        def finish() -> Curated:
            # Written only once "Data Curated" is on the bus: the record is the stage's last step.
            self.logger.set_correlation_id(validated.process_id)
            self.recorder.write_once(record)
            self.logger.info("curated", extra={"key": validated.key, "status": outcome.status, "rows": outcome.rows,
                                               "partitions": outcome.partitions, "reason": outcome.reason})
            return outcome

        return Announcement(DATA_CURATED, outcome.to_detail(), finish)

    def _connected(self) -> ParquetEngine:
        """The stage's DuckDB connection, opened on first use and kept for the files after (opening one costs
        about as much as curating a small file), with its own home and spill directory."""
        if self._engine is None:
            self._engine = self.engine(Path(tempfile.mkdtemp(prefix="lakebox-duckdb-")))
        return self._engine

    def close(self) -> None:
        """Close the DuckDB connection and remove its directory; the next file opens a new one."""
        if self._engine is not None:
            engine, self._engine = self._engine, None
            engine.close()
            shutil.rmtree(engine.work_dir, ignore_errors=True)

    @staticmethod
    def _table_or_none(dataset: str) -> str | None:
        return None if dataset_name_problem(dataset) else table_name(dataset)

    def _contract(self, dataset: str) -> Contract:
        try:
            return self.contracts.contract_for(dataset)
        except ContractInvalid as invalid:
            raise CurationRejected(f"the published contract of {dataset!r} is invalid: {invalid}") from invalid

    def _curate(self, validated: DataValidated, limit: TimeLimit) -> Curated:
        problem = dataset_name_problem(validated.dataset)
        if problem is not None:
            raise CurationRejected(problem)
        if validated.format in (None, FileFormat.UNSUPPORTED):
            raise CurationRejected(f"the processed file's format is unknown ({validated.format})")
        file_format = FileFormat(validated.format)
        contract = self._contract(validated.dataset)
        table = table_name(validated.dataset)
        location = curated_location(self.settings, validated.dataset)
        processed = Destination.of(validated.destination or "")
        work = Path(tempfile.mkdtemp(prefix="lakebox-curation-"))
        engine = self._connected()
        engine.limit = limit
        try:
            downloaded = work / "processed"
            self.objects.download_to(processed.bucket, processed.key, downloaded)
            existing = self.catalog.table(table)
            plans = plan_protection(contract, validated.pii, protected_in(existing.columns) if existing else None)
            protector = ColumnProtector(validated.dataset, self.keys, self.settings.production)
            lineage = Lineage(validated.process_id, validated.key, validated.version_id,
                              validated.contract_version or contract.version, validated.arrived_at)

            def write(source: Source, plans: dict[str, ColumnPlan], columns: list[Column]) -> list[CuratedPart]:
                return engine.write(source, columns, lineage, partition_by=contract.partition_by,
                                    arrival_day=validated.arrived_at[:10], out_dir=work / "curated",
                                    stem=validated.process_id,
                                    metadata=keys_metadata(protector.data_keys, plans) if plans else None)

            for _ in range(REPLANS):
                source = engine.source(*self._protected(downloaded, file_format, validated.compression, work,
                                                        plans, protector))
                declared = contract_columns(contract)
                found = protect_columns(declared if declared is not None else engine.infer(source), plans)
                # Written locally first, with the columns the table would have: a file whose values do not take the
                # table's types fails here and leaves the table as it was.
                planned = widen(data_columns(existing.columns) if existing else [], found)
                parts = write(source, plans, planned)
                columns = self.catalog.ensure_columns(table, found, location, contract.description, known=existing)
                # Another file may have marked a column protected meanwhile, one this file's plan left in the clear:
                # then the file is protected again with it, before anything of it leaves this function.
                more = {column: plan for column, plan in protected_in(columns).items() if column not in plans}
                if not more:
                    break
                plans = {**plans, **more}
                existing = self.catalog.table(table)
            else:
                raise CurationRejected(f"table {table} kept gaining protected columns: gave up after {REPLANS} tries")
            if columns != planned:
                parts = write(source, plans, columns)  # another file widened the table meanwhile: match it now
            pii = _pii_columns(plans, columns)
            if self.lake_formation is not None and pii:
                # Before the file's objects land, so no protected value is ever there to query untagged.
                self.lake_formation.tag_pii(table, pii)
            # Each data key's wrapped copy under its reference, before the file's objects that need it.
            self.metadata.put_items([data_key_item(key, validated.process_id)
                                     for key in protector.data_keys.values()])
            keys = []
            for part in parts:
                key = curated_key(validated.dataset, part.dt, validated.process_id)
                self.objects.upload_from(part.path, self.settings.processed_bucket, key, PARQUET_CONTENT_TYPE)
                keys.append(f"s3://{self.settings.processed_bucket}/{key}")
            days = [part.dt for part in parts]
            # A day an earlier file of this batch registered needs no call: a registered partition stays.
            new_days = [day for day in days if (table, day) not in self._partitions]
            if new_days:
                self.catalog.add_partitions(table, new_days, location, columns)
                self._partitions.update((table, day) for day in new_days)
        except CurationRejected:
            raise
        except Exception:
            self.close()  # whatever state the connection is in, the next file gets a new one
            raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return Curated(validated.process_id, validated.key, validated.dataset, CURATED, table,
                       rows=sum(part.rows for part in parts), partitions=days, objects=keys,
                       protected=_comments(plans),
                       data_keys={column: key.ref for column, key in protector.data_keys.items()})


    @staticmethod
    def _protected(local: Path, file_format: FileFormat, compression: str | None, work: Path,
                   plans: dict[str, ColumnPlan], protector: ColumnProtector) -> tuple[Path, FileFormat, str | None]:
        """The file as curation reads it: the download itself, or a copy with the planned columns protected."""
        if not plans:
            return local, file_format, compression
        target = work / "protected"
        return target, protect_file(local, file_format, compression, target, plans, protector), None


def _comments(plans: dict[str, ColumnPlan]) -> dict[str, str]:
    return {column: plan.comment for column, plan in plans.items()}


def _pii_columns(plans: dict[str, ColumnPlan], columns: list[Column]) -> list[str]:
    """The table's columns that hold protected personal data: each protected column a mode keeps under its own name
    (encrypt, mask), not its token column, nor one the table does not have (`token`, `drop`, or not in the file)."""
    present = {column.name for column in columns}
    return [plan.column for plan in plans.values() if plan.column in plan.curated and plan.column in present]
