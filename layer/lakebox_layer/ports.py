"""What the stages need of the outside world, as protocols: the adapters in :mod:`lakebox_layer.adapters` are one
implementation, the unit tests' in-memory fakes another, and mypy holds both to these signatures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from lakebox_layer.adapters.catalog import TableState
from lakebox_layer.adapters.dead_letters import Redriven
from lakebox_layer.adapters.keys import DataKey
from lakebox_layer.adapters.metrics import Observation
from lakebox_layer.adapters.objects import ObjectPeek
from lakebox_layer.adapters.stream_ledger import LedgerState, PendingPlan
from lakebox_layer.circuits import Alert, Circuit, Decision, FailureKey, Minute
from lakebox_layer.columns import Column
from lakebox_layer.contracts import Contract
from lakebox_layer.exceptions import PublishError
from lakebox_layer.free_text import Entity
from lakebox_layer.outputs import Writer
from lakebox_layer.producers import Producer
from lakebox_layer.records import QualityTotals, RawObject
from lakebox_layer.registry import Stage
from lakebox_layer.streams import BinaryStream


class Body(BinaryStream, Protocol):
    """An object's content as a stream, closed once read."""

    def close(self) -> None: ...


class ObjectStore(Protocol):
    """Raw objects read, processed and quarantined copies written (S3)."""

    def peek(self, raw: RawObject, size: int) -> ObjectPeek: ...
    def open(self, raw: RawObject) -> Body: ...
    def copy(self, raw: RawObject, bucket: str, key: str, content_type: str | None = None) -> None: ...
    def writer(self, bucket: str, key: str, content_type: str) -> Writer: ...
    def put_json(self, bucket: str, key: str, document: dict[str, Any]) -> None: ...
    def tag(self, bucket: str, key: str, tags: dict[str, str]) -> None: ...


class MetadataStore(Protocol):
    """Stage records written once and the pipeline's running quality totals (DynamoDB)."""

    def has_stage(self, process_id: str, sort_key: str) -> bool: ...
    def stages_recorded(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]: ...
    def put_stage(self, item: dict[str, Any]) -> None: ...
    def put_items(self, items: list[dict[str, Any]]) -> None: ...
    def record_quality(self, item: dict[str, Any], pipeline: str, *, passed: bool, score: float,
                       records: int) -> None: ...
    def totals(self, pipeline: str) -> QualityTotals: ...


class EventPublisher(Protocol):
    """The pipeline's events (EventBridge)."""

    def publish(self, source: str, detail_type: str, detail: dict[str, Any]) -> None: ...
    def publish_all(self, events: list[tuple[str, str, dict[str, Any]]]) -> list[PublishError | None]: ...


class QualityMetrics(Protocol):
    """One observation per judged file (CloudWatch), many per call."""

    def publish_all(self, observations: list[Observation]) -> None: ...


class ContractStore(Protocol):
    """Each dataset's published contract (DynamoDB)."""

    def contract_for(self, dataset: str) -> Contract: ...


class FileTransfer(Protocol):
    """Whole objects to and from local files (S3 managed transfers), for work done on local disk."""

    def download_to(self, bucket: str, key: str, path: Path) -> None: ...
    def upload_from(self, path: Path, bucket: str, key: str, content_type: str) -> None: ...


class Catalog(Protocol):
    """Each dataset's table and its partitions (Glue)."""

    def table(self, name: str) -> TableState | None: ...
    def ensure_columns(self, name: str, found: list[Column], location: str, description: str = "",
                       known: TableState | None = None) -> list[Column]: ...
    def add_partitions(self, name: str, days: list[str], location: str, columns: list[Column]) -> None: ...


class StreamLedger(Protocol):
    """Each shard's progress: what is written for good, and the plan of the attempt in flight (DynamoDB)."""

    def read(self, stream: str, shard: str) -> LedgerState: ...
    def claim(self, stream: str, shard: str, committed: str | None, plan: PendingPlan) -> None: ...
    def commit(self, stream: str, shard: str, through: str) -> None: ...


class CreateOnceStore(Protocol):
    """Objects written only where their key is free (S3 `If-None-Match: *`): True when written, False when the key
    exists already."""

    def put_once(self, bucket: str, key: str, body: bytes, content_type: str) -> bool: ...


class PersonalDataKeys(Protocol):
    """The keys that protect personal data (KMS): a data key per file and column, a token key per dataset, and a
    wrapped data key unwrapped for a caller allowed to reveal."""

    def data_key(self, dataset: str, column: str) -> DataKey: ...
    def token_key(self, dataset: str) -> bytes: ...
    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes: ...


class LakeFormationTags(Protocol):
    """The LF-tag that marks a curated table's columns as personal data (Lake Formation): the columns tagged now."""

    def tag_pii(self, table: str, columns: list[str]) -> list[str]: ...


class FreeTextDetector(Protocol):
    """The entities of personal data in a text (Comprehend's DetectPiiEntities); FreeTextUnavailable where Comprehend
    cannot be asked."""

    def detect(self, text: str) -> list[Entity]: ...


class HealthCounts(Protocol):
    """A stage's health counters (DynamoDB): one invocation's outcomes added to its minute."""

    def count(self, stage: str, at: float, successes: int, failures: Mapping[FailureKey, int],
              failed_files: Mapping[FailureKey, Iterable[str]]) -> None: ...


class Retries(Protocol):
    """Failed messages' next tries (SQS): each (queue ARN, receipt handle, receive count)."""

    def later(self, failed: Sequence[tuple[str, str, int]]) -> None: ...


class Circuits(Protocol):
    """The stages' health counters and circuits, as the healer reads and stores them (DynamoDB)."""

    def minutes(self, stage: str, since: float) -> list[Minute]: ...

    def circuit(self, stage: str) -> Circuit: ...

    def save(self, decision: Decision) -> bool: ...


class StageControl(Protocol):
    """The stages' mappings and queues, and the alerts topic (Lambda, SQS, SNS)."""

    def enabled(self, stage: Stage) -> bool: ...

    def pause(self, stage: Stage) -> None: ...

    def enable(self, stage: Stage, batch_size: int | None = None, concurrency: int | None = None) -> None: ...

    def restore(self, stage: Stage) -> None: ...

    def code_version(self, stage: Stage) -> str | None: ...

    def waiting(self, stage: Stage) -> int | None: ...

    def in_flight(self, stage: Stage) -> int: ...

    def start_failure(self, stage: Stage) -> str | None: ...

    def dead_letters(self) -> int: ...

    def redrive(self, stage: Stage) -> Redriven: ...

    def report(self, states: Mapping[str, str]) -> None: ...

    def publish(self, alert: Alert, waiting: int | None) -> bool: ...

    def probe(self, dependency: str | None) -> bool: ...


# The ingestion API's (lakebox_layer.stages.api and stages.authorizer).


class ProducerLookup(Protocol):
    def by_key(self, key: str) -> Producer | None: ...


class UploadUrls(Protocol):
    def put_url(self, bucket: str, key: str, size: int, expires_s: int, endpoint_url: str | None = None) -> str: ...


class StatusRecords(Protocol):
    def of_process(self, process_id: str) -> list[dict[str, Any]]: ...

    def of_key(self, raw_key: str) -> list[dict[str, Any]]: ...


class RequestCounter(Protocol):
    def count_request(self, name: str, second: int) -> int: ...


class Logger(Protocol):
    def info(self, msg: object, *args: object, **kwargs: Any) -> None: ...

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None: ...
