"""The three stages: ingestion, validation and quality, written against injected adapters.

Each stage does its side effects first (idempotent copies, the next event) and writes its stage record last with a
conditional write. A stage whose record exists already is a duplicate delivery and does nothing; a stage that died
halfway is redone in full on retry, and the next stage drops the duplicate event it may then receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.adapters.metadata import MetadataStore, stage_sort_key
from lakebox_layer.adapters.metrics import QualityMetrics
from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.contracts import Contract, Mode, structural_contract
from lakebox_layer.exceptions import (
    ContentRejected,
    ContractInvalid,
    IngestionFailed,
    RawObjectMissing,
    StageAlreadyRecorded,
)
from lakebox_layer.formats import SNIFF_BYTES, detect_format
from lakebox_layer.notifications import ObjectCreated
from lakebox_layer.outputs import RecordOutput, RecordSplit
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import (
    DETAIL_DATA_RECEIVED,
    DETAIL_DATA_VALIDATED,
    DETAIL_QUALITY_COMPLETE,
    EVENT_SOURCE_INGESTION,
    EVENT_SOURCE_QUALITY,
    EVENT_SOURCE_VALIDATION,
    DataReceived,
    DataValidated,
    FileFormat,
    FileStatus,
    QualityTotals,
    RawObject,
    Stage,
    ValidationOutcome,
)
from lakebox_layer.routing import (
    Destination,
    error_report_destination,
    processed_destination,
    quarantine_destination,
)
from lakebox_layer.settings import Settings
from lakebox_layer.validation import rejected, validate_records

_CONTENT_TYPES = {FileFormat.CSV: "text/csv", FileFormat.JSON: "application/x-ndjson",
                  FileFormat.JSON_LINES: "application/x-ndjson"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Pipeline:
    """The pipeline's stages with their dependencies; functions build one per cold start."""

    settings: Settings
    objects: ObjectStore
    metadata: MetadataStore
    events: EventPublisher
    metrics: QualityMetrics
    contracts: ContractStore
    logger: Logger

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> Pipeline:
        clients = clients or AwsClients(settings)
        return cls(
            settings=settings,
            objects=ObjectStore(clients.s3),
            metadata=MetadataStore(clients.dynamodb, settings.metadata_table),
            events=EventPublisher(clients.events, settings.event_bus),
            metrics=QualityMetrics(clients.cloudwatch, settings.project),
            contracts=ContractStore(clients.dynamodb, settings.metadata_table),
            logger=logger,
        )

    def _stage_record(self, process_id: str, arrived_at: str, stage: Stage, **fields: Any) -> dict[str, Any]:
        return {
            "ProcessId": process_id,
            "Timestamp": stage_sort_key(arrived_at, stage),
            "Stage": stage.value,
            "RecordedAt": _now(),
            **fields,
        }

    def _file_record(self, raw: RawObject, process_id: str, arrived_at: str, stage: Stage,
                     status: FileStatus, **fields: Any) -> dict[str, Any]:
        """A stage record that carries the file's status; only these enter the status index."""
        return self._stage_record(
            process_id, arrived_at, stage,
            Pipeline=self.settings.project, RawBucket=raw.bucket, RawKey=raw.key, Dataset=raw.dataset,
            Status=status.value, **fields,
        )

    def _write_once(self, item: dict[str, Any]) -> bool:
        try:
            self.metadata.put_stage(item)
        except StageAlreadyRecorded:
            self.logger.info("stage already recorded by a concurrent delivery", extra={"stage": item["Stage"]})
            return False
        return True

    # -- ingestion ----------------------------------------------------------------------------------------------

    def ingest(self, raw: RawObject, event_time: str | None = None, *, redrive: bool = False) -> DataReceived | None:
        """Look at a new raw object, decide its format and announce it; None for a duplicate delivery. A redrive
        announces again a file that was ingested but never validated (its event was lost)."""
        process_id = raw.process_id
        self.logger.set_correlation_id(process_id)
        try:
            head = self.objects.head(raw)
        except RawObjectMissing as missing:
            arrived_at = event_time or _now()
            reason = f"raw object deleted before ingestion: {missing}"
            self.logger.warning(reason, extra={"key": raw.key})
            self._write_once(self._file_record(raw, process_id, arrived_at, Stage.INGESTION, FileStatus.FAILED,
                                               Errors=[reason]))
            return None
        arrived_at = head.last_modified.astimezone(UTC).isoformat()
        if self._already_ingested(process_id, arrived_at, redrive=redrive):
            self.logger.info("duplicate delivery: ingestion already recorded", extra={"key": raw.key})
            return None
        detection = detect_format(raw.key, self.objects.read_head(raw, SNIFF_BYTES), raw.size)
        received = DataReceived(
            process_id=process_id, bucket=raw.bucket, key=raw.key, etag=raw.etag, size=raw.size,
            dataset=raw.dataset, format=detection.format, arrived_at=arrived_at, version_id=raw.version_id,
            reason=detection.reason, compression=detection.compression,
        )
        self.events.publish(EVENT_SOURCE_INGESTION, DETAIL_DATA_RECEIVED, received.to_detail())
        self._write_once(self._file_record(
            raw, process_id, arrived_at, Stage.INGESTION, FileStatus.IN_PROGRESS,
            Format=detection.format.value, Compression=detection.compression, Size=raw.size, ETag=raw.etag,
            VersionId=raw.version_id,
        ))
        self.logger.info("ingested", extra={"key": raw.key, "format": detection.format.value})
        return received

    def _already_ingested(self, process_id: str, arrived_at: str, *, redrive: bool) -> bool:
        """Whether this delivery is a duplicate. A redrive of a file whose validation never happened is not: its
        "Data Received" event was lost, so ingestion announces the file again."""
        if not self.metadata.has_stage(process_id, stage_sort_key(arrived_at, Stage.INGESTION)):
            return False
        return not redrive or self.metadata.has_stage(process_id, stage_sort_key(arrived_at, Stage.VALIDATION))

    def ingest_all(self, created: list[ObjectCreated]) -> list[str]:
        """Ingest every object of a notification; if any fails, raise after trying all of them."""
        ingested, failed = [], []
        for item in created:
            try:
                received = self.ingest(item.raw, item.event_time, redrive=item.redrive)
            except Exception:
                self.logger.exception("ingestion failed", extra={"key": item.raw.key})
                failed.append(item.raw.key)
                continue
            if received is not None:
                ingested.append(received.process_id)
        if failed:
            raise IngestionFailed(f"ingestion failed for {len(failed)} of {len(created)} objects: {failed}")
        return ingested

    # -- validation ---------------------------------------------------------------------------------------------

    def _judge(self, received: DataReceived, contract: Contract) -> tuple[ValidationOutcome, RecordSplit | None]:
        """Read and judge the file as a stream; in record mode also write its good and bad records as they come."""
        if received.format is FileFormat.UNSUPPORTED:
            return rejected(received.reason or "unsupported format", contract), None
        raw = received.raw_object
        body = self.objects.open(raw)
        reader = RecordReader(body, received.format, received.compression)
        split = None
        if contract.mode is Mode.RECORD:
            split = RecordSplit(*(
                RecordOutput(self.objects.writer(d.bucket, d.key, _CONTENT_TYPES[received.format]),
                             received.format, lambda: reader.header, lambda: reader.delimiter,
                             defuse_formulas=quarantine)
                for d, quarantine in ((processed_destination(raw, self.settings, received.format), False),
                                      (quarantine_destination(raw, self.settings, received.format), True))
            ))
        try:
            outcome = validate_records(reader, contract, received.format, split.route if split else None)
        except ContentRejected as rejection:
            if split is not None:
                split.abort()
            return rejected(rejection.reason, contract), None
        except Exception:
            # Anything else is retried with the event: leave no half-written multipart upload behind.
            if split is not None:
                split.abort()
            raise
        finally:
            body.close()
        return outcome, split

    def _deliver(self, received: DataReceived, contract: Contract, outcome: ValidationOutcome,
                 split: RecordSplit | None) -> tuple[FileStatus, str, str | None]:
        """Put the file (or its records) where the outcome says: status, destination, quarantined records."""
        raw = received.raw_object
        if outcome.passed and split is not None:
            split.good.commit()
            if not split.bad.count:
                split.bad.abort()
                return FileStatus.PROCESSED, split.good.uri, None
            split.bad.commit()
            report = error_report_destination(Destination.of(split.bad.uri))
            self.objects.put_json(report.bucket, report.key, self._error_report(received, contract, outcome))
            return FileStatus.PROCESSED, split.good.uri, split.bad.uri
        if split is not None:
            split.abort()
        if outcome.passed:
            destination = processed_destination(raw, self.settings)
            self.objects.copy(raw, destination.bucket, destination.key)
            return FileStatus.PROCESSED, destination.uri, None
        destination = quarantine_destination(raw, self.settings)
        self._quarantine_copy(received, destination)
        report = error_report_destination(destination)
        self.objects.put_json(report.bucket, report.key, self._error_report(received, contract, outcome))
        return FileStatus.QUARANTINED, destination.uri, destination.uri

    def _quarantine_copy(self, received: DataReceived, destination: Destination) -> None:
        """Copy a quarantined file for people to inspect. A CSV is rewritten with formula-like cells defused, so
        opening it in a spreadsheet runs nothing (the raw file stays as it came); CSV that cannot be read as CSV is
        copied as plain text."""
        raw = received.raw_object
        if received.format is not FileFormat.CSV:
            self.objects.copy(raw, destination.bucket, destination.key)
            return
        body = self.objects.open(raw)
        reader = RecordReader(body, received.format, received.compression)
        output = RecordOutput(self.objects.writer(destination.bucket, destination.key, "text/csv"), FileFormat.CSV,
                              lambda: reader.header, lambda: reader.delimiter, defuse_formulas=True)
        try:
            for record in reader:
                output.add(record)
        except ContentRejected:
            if reader.header is not None and output.count == 0:
                output.write_header()  # a header-only file: still defused
            else:
                output.abort()
                self.objects.copy(raw, destination.bucket, destination.key, content_type="text/plain")
                return
        except Exception:
            output.abort()
            raise
        finally:
            body.close()
        output.commit()

    def validate(self, received: DataReceived) -> DataValidated | None:
        """Judge a file against its dataset's contract, deliver it (or its records) and announce the outcome."""
        self.logger.set_correlation_id(received.process_id)
        raw = received.raw_object
        if self.metadata.has_stage(received.process_id, stage_sort_key(received.arrived_at, Stage.VALIDATION)):
            self.logger.info("duplicate delivery: validation already recorded", extra={"key": raw.key})
            return None
        quarantined: str | None = None
        destination_uri: str | None = None
        try:
            contract = self.contracts.contract_for(received.dataset)
        except ContractInvalid as invalid:
            # Bootstrap refuses malformed contracts; one written by other means fails the file, loudly.
            contract = structural_contract(received.dataset)
            outcome, status = rejected(f"the published contract of {received.dataset!r} is invalid: {invalid}"), \
                FileStatus.FAILED
        else:
            try:
                outcome, split = self._judge(received, contract)
                status, destination_uri, quarantined = self._deliver(received, contract, outcome, split)
            except RawObjectMissing as missing:
                outcome = rejected(f"raw object deleted before validation: {missing}", contract)
                status = FileStatus.FAILED
            except ContractInvalid as invalid:
                outcome = rejected(f"the published contract of {received.dataset!r} is invalid: {invalid}")
                status = FileStatus.FAILED
        validated = DataValidated(
            process_id=received.process_id, key=raw.key, dataset=received.dataset,
            arrived_at=received.arrived_at, status=status, quality_score=outcome.quality_score,
            records_total=outcome.records_total, records_valid=outcome.records_valid,
            errors=outcome.errors, destination=destination_uri,
        )
        self.events.publish(EVENT_SOURCE_VALIDATION, DETAIL_DATA_VALIDATED, validated.to_detail())
        self._write_once(self._file_record(
            raw, received.process_id, received.arrived_at, Stage.VALIDATION, status,
            ValidationPassed=outcome.passed, QualityScore=outcome.quality_score,
            Completeness=outcome.completeness, Validity=outcome.validity, RecordsTotal=outcome.records_total,
            RecordsValid=outcome.records_valid, RecordsInvalid=outcome.records_invalid,
            ErrorCount=outcome.error_count, Errors=outcome.errors, RuleCounts=outcome.rule_counts,
            Destination=destination_uri, QuarantineDestination=quarantined, Format=received.format.value,
            Compression=received.compression, ContractVersion=contract.version, Mode=contract.mode.value,
        ))
        self.logger.info("validated", extra={
            "key": raw.key, "status": status.value, "quality_score": outcome.quality_score,
            "records_total": outcome.records_total, "records_valid": outcome.records_valid,
            "contract_version": contract.version, "rule_counts": outcome.rule_counts,
        })
        return validated

    def _error_report(self, received: DataReceived, contract: Contract, outcome: ValidationOutcome) -> dict[str, Any]:
        """The JSON report beside every quarantined file or set of records. PII values are already masked."""
        return {
            "process_id": received.process_id,
            "raw": f"s3://{received.bucket}/{received.key}",
            "version_id": received.version_id,
            "dataset": received.dataset,
            "format": received.format.value,
            "compression": received.compression,
            "contract": {"dataset": contract.dataset, "version": contract.version, "mode": contract.mode.value,
                         "threshold": contract.threshold},
            "quality": {"score": outcome.quality_score, "completeness": outcome.completeness,
                        "validity": outcome.validity, "passed": outcome.passed},
            "records": {"total": outcome.records_total, "valid": outcome.records_valid,
                        "invalid": outcome.records_invalid},
            "rules": {rule: {"count": count, "first": outcome.samples.get(rule, [])}
                      for rule, count in sorted(outcome.rule_counts.items())},
            "errors": outcome.errors,
            "reported_at": _now(),
        }

    # -- quality ------------------------------------------------------------------------------------------------

    def assess_quality(self, validated: DataValidated) -> QualityTotals | None:
        """Add one judged file to the pipeline's totals, publish the metrics and announce completion."""
        self.logger.set_correlation_id(validated.process_id)
        item = self._stage_record(
            validated.process_id, validated.arrived_at, Stage.QUALITY,
            RawKey=validated.key, QualityScore=validated.quality_score, ValidationPassed=validated.passed,
            RecordsTotal=validated.records_total,
        )
        try:
            totals = self.metadata.record_quality(
                item, self.settings.project, passed=validated.passed, score=validated.quality_score,
                records=validated.records_total,
            )
        except StageAlreadyRecorded:
            self.logger.info("duplicate delivery: quality already recorded", extra={"key": validated.key})
            return None
        self.metrics.publish(passed=validated.passed, quality_score=validated.quality_score,
                             records=validated.records_total)
        self.events.publish(EVENT_SOURCE_QUALITY, DETAIL_QUALITY_COMPLETE, {
            "process_id": validated.process_id,
            "key": validated.key,
            "status": validated.status.value,
            "quality_score": validated.quality_score,
            "validation_success_rate": round(totals.success_rate, 2),
            "average_quality_score": round(totals.average_score, 2),
            "files": totals.files,
        })
        self.logger.info("quality recorded", extra={"files": totals.files,
                                                    "success_rate": totals.success_rate})
        return totals
