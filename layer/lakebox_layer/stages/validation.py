"""Validation: judge a file against its dataset's contract (its columns of personal data found on the way, free text
asked of Comprehend where the contract wants it), deliver it (or its records) and announce the outcome with "Data
Validated", and undeclared personal data with a "Sensitive Data Detected" notice."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.comprehend import FreeTextDetector
from lakebox_layer.adapters.contract_store import BatchContracts, ContractStore
from lakebox_layer.adapters.events import EventPublisher
from lakebox_layer.adapters.metadata import MetadataStore
from lakebox_layer.adapters.objects import ObjectStore
from lakebox_layer.contracts import Contract, Mode, structural_contract
from lakebox_layer.exceptions import ContentRejected, ContractInvalid, OutOfTime, RawObjectMissing
from lakebox_layer.failures import file_failure, file_failure_reason
from lakebox_layer.free_text import FreeTextPass
from lakebox_layer.outputs import RecordSplit
from lakebox_layer.parsing import RecordReader
from lakebox_layer.records import DataReceived, DataValidated, FileFormat, FileStatus, ValidationOutcome
from lakebox_layer.registry import DATA_VALIDATED, SENSITIVE_DATA_DETECTED, Stage
from lakebox_layer.routing import Destination
from lakebox_layer.settings import Settings
from lakebox_layer.stages.batch import Announcement, Outcome, announce, single
from lakebox_layer.stages.delivery import Delivery, pii_tags
from lakebox_layer.stages.recorder import StageRecorder
from lakebox_layer.time_limit import LambdaContext, TimeLimit
from lakebox_layer.validation import apply_undeclared_pii, rejected, validate_records


class Validation:
    """The validation stage: "Data Received" in, the file routed, "Data Validated" out."""

    def __init__(self, settings: Settings, *, objects: ports.ObjectStore, metadata: ports.MetadataStore,
                 events: ports.EventPublisher, contracts: ports.ContractStore, free_text: ports.FreeTextDetector,
                 logger: Logger) -> None:
        self.objects = objects
        self.events = events
        self.contracts = BatchContracts(contracts)
        self.logger = logger
        self.free_text = FreeTextPass(free_text.detect, self._free_text_unavailable)
        self.delivery = Delivery(settings, objects)
        self.recorder = StageRecorder(metadata, settings.project, logger)

    @classmethod
    def from_settings(cls, settings: Settings, logger: Logger, clients: AwsClients | None = None) -> Validation:
        """The stage on the AWS clients the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        return cls(
            settings,
            objects=ObjectStore(clients.s3),
            metadata=MetadataStore(clients.dynamodb, settings.metadata_table),
            events=EventPublisher(clients.events, settings.event_bus),
            contracts=ContractStore(clients.dynamodb, settings.metadata_table),
            free_text=FreeTextDetector(clients.comprehend),
            logger=logger,
        )

    def _free_text_unavailable(self, reason: str) -> None:
        """Said once per function instance: the files after this one are not asked about either."""
        self.logger.warning("free-text detection unavailable: until this instance ends, the files of contracts with "
                            "policy.pii_free_text are judged by patterns only", extra={"reason": reason})

    def _judge(self, received: DataReceived, contract: Contract,
               limit: TimeLimit) -> tuple[ValidationOutcome, RecordSplit | None]:
        """Read and judge the file as a stream, within the time limit; in record mode also write its good and bad
        records as they come."""
        # Ingestion gives a reason for every file it refuses: an unsupported format or a refused dataset name.
        if received.reason is not None or received.format is FileFormat.UNSUPPORTED:
            return rejected(received.reason or "unsupported format", contract), None
        body = self.objects.open(received.raw_object)
        reader = RecordReader(body, received.format, received.compression)
        split = self.delivery.record_split(received, reader) if contract.mode is Mode.RECORD else None
        try:
            outcome = validate_records(limit.within(reader, "validation"), contract, received.format,
                                       split.route if split else None, self.free_text.columns)
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
        return apply_undeclared_pii(outcome, contract), split

    @staticmethod
    def _output_shape(received: DataReceived, contract: Contract) -> tuple[FileFormat, str | None]:
        """The format and compression of what lands in processed: record mode writes plain CSV or JSON Lines,
        file mode copies the raw file as it came."""
        if contract.mode is Mode.RECORD:
            output = FileFormat.CSV if received.format is FileFormat.CSV else FileFormat.JSON_LINES
            return output, None
        return received.format, received.compression

    def validate(self, received: DataReceived) -> DataValidated | None:
        """Judge a file against its dataset's contract, deliver it (or its records) and announce the outcome."""
        return single(self.validate_all([received])[0])

    def within(self, context: LambdaContext) -> Callable[[list[DataReceived]], list[Outcome[DataValidated]]]:
        """`validate_all` within the time the invocation of `context` has."""
        limit = TimeLimit.of(context)
        return lambda batch: self.validate_all(batch, limit)

    def validate_all(self, batch: list[DataReceived],
                     limit: TimeLimit | None = None) -> list[Outcome[DataValidated]]:
        """Validate a batch of files: each judged and delivered in turn, the largest first (each read within the
        invocation's time `limit`), then every "Data Validated" published in as few calls as the bus allows, then
        the validation record of each file whose event was accepted. Each dataset's contract is read once for the
        batch. Per file, in the batch's order: its result, None for a duplicate, or its error."""
        self.contracts.new_batch()
        self.recorder.look_up(Stage.VALIDATION, [(received.process_id, received.arrived_at) for received in batch])
        within = limit or TimeLimit.unlimited()
        return announce(self.events, batch, lambda received: self._judge_and_deliver(received, within.for_file()),
                        key=lambda received: received.process_id, size=lambda received: received.size)

    def _judge_and_deliver(self, received: DataReceived, limit: TimeLimit) -> Announcement[DataValidated] | None:
        """A file's side effects: judged and delivered. What remains is its event, then its record."""
        self.logger.set_correlation_id(received.process_id)
        raw = received.raw_object
        if self.recorder.recorded(received.process_id, received.arrived_at, Stage.VALIDATION):
            self.logger.info("duplicate delivery: validation already recorded", extra={"key": raw.key})
            return None
        quarantined: str | None = None
        destination_uri: str | None = None
        # What the record names when the published contract cannot even be read.
        contract = structural_contract(received.dataset)
        try:
            contract = self.contracts.contract_for(received.dataset)
            outcome, split = self._judge(received, contract, limit)
            status, destination_uri, quarantined = self.delivery.deliver(received, contract, outcome, split)
            if status is FileStatus.PROCESSED:
                validated_copy = Destination.of(destination_uri)
                self.objects.tag(validated_copy.bucket, validated_copy.key, pii_tags(outcome.pii_columns))
        except RawObjectMissing as missing:
            outcome = rejected(f"raw object deleted before validation: {missing}", contract)
            status = FileStatus.FAILED
        except OutOfTime as out_of_time:
            outcome = rejected(out_of_time.reason, contract)
            status = FileStatus.FAILED
        except ContractInvalid as invalid:
            # Bootstrap refuses malformed contracts; one written by other means (or one whose pattern does not
            # compile) fails the file, loudly, instead of failing the function on every retry.
            outcome = rejected(f"the published contract of {received.dataset!r} is invalid: {invalid}")
            status = FileStatus.FAILED
        except Exception as error:  # the file's own failure ends it now; any other is retried
            if (failure := file_failure(error)) is None:
                raise
            outcome = rejected(file_failure_reason("validation", failure), contract)
            status = FileStatus.FAILED
        output_format, output_compression = self._output_shape(received, contract)
        validated = DataValidated(
            process_id=received.process_id, key=raw.key, dataset=received.dataset,
            arrived_at=received.arrived_at, status=status, quality_score=outcome.quality_score,
            records_total=outcome.records_total, records_valid=outcome.records_valid,
            errors=outcome.errors, destination=destination_uri,
            format=output_format, compression=output_compression, version_id=raw.version_id,
            contract_version=contract.version, pii=outcome.pii_columns, undeclared_pii=outcome.undeclared_pii,
        )
        record = self.recorder.file_record(
            raw, received.process_id, received.arrived_at, Stage.VALIDATION, status,
            ValidationPassed=outcome.passed, QualityScore=outcome.quality_score,
            Completeness=outcome.completeness, Validity=outcome.validity, RecordsTotal=outcome.records_total,
            RecordsValid=outcome.records_valid, RecordsInvalid=outcome.records_invalid,
            ErrorCount=outcome.error_count, Errors=outcome.errors, RuleCounts=outcome.rule_counts,
            Destination=destination_uri, QuarantineDestination=quarantined, Format=received.format.value,
            Compression=received.compression, ContractVersion=contract.version, Mode=contract.mode.value,
            RawVersionId=raw.version_id, OutputFormat=output_format.value, OutputCompression=output_compression,
            PiiColumns=outcome.pii_columns or None, UndeclaredPii=outcome.undeclared_pii or None,
            FreeTextSkipped=self.free_text.unavailable if contract.pii_free_text else None,
        )
        log = {"key": raw.key, "status": status.value, "quality_score": outcome.quality_score,
               "records_total": outcome.records_total, "records_valid": outcome.records_valid,
               "contract_version": contract.version, "rule_counts": outcome.rule_counts,
               "pii_columns": outcome.pii_columns}
        notices = ((SENSITIVE_DATA_DETECTED, self._notice(validated, contract, status)),) \
            if outcome.undeclared_pii else ()

        def finish() -> DataValidated:
            # Written only once "Data Validated" is on the bus: the record is the stage's last step.
            self.logger.set_correlation_id(received.process_id)
            self.recorder.write_once(record)
            self.logger.info("validated", extra=log)
            return validated

        return Announcement(DATA_VALIDATED, validated.to_detail(), finish, notices)

    @staticmethod
    def _notice(validated: DataValidated, contract: Contract, status: FileStatus) -> dict[str, object]:
        """"Sensitive Data Detected": which columns of which file hold personal data its contract does not declare,
        of which class, and what the contract's policy did with them (names and classes, never values)."""
        columns = {column: validated.pii[column] for column in validated.undeclared_pii}
        done = {"protect": "protected in the curated zone", "quarantine": "file quarantined",
                "allow": "allowed in the clear"}[contract.undeclared_pii.value]
        return {"process_id": validated.process_id, "dataset": validated.dataset, "key": validated.key,
                "columns": columns, "classes": sorted(set(columns.values())),
                "policy": contract.undeclared_pii.value, "action": done, "status": status.value}
