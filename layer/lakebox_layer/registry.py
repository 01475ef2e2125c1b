"""The pipeline's stages, each declared once: everything the rest of lakebox knows about a stage is read from here.

A declaration says what a stage takes and gives (the input it reads, the event it emits), how its function runs
(batch size and concurrency of what it reads, memory, time limit), what it calls (the AWS services it depends on),
and what the tools show of it (its row in `lakebox trace`, what `lakebox reconcile` says while a file waits for it).
The topology (its queue, the rule that feeds it, its function and role: `infra/lakebox_infra/`), `lakebox trace`,
`lakebox reconcile`, `lakebox logs`, `lakebox up` and the tests all derive from these declarations.

Adding a stage is one entry here, its stage module in `stages/`, its handler in `lambdas/<stage>/handler.py`, and
the statements its role needs beyond what every stage gets (`infra/lakebox_infra/function_specs.py`).

Pure data with no AWS calls: the functions import it with the layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from lakebox_layer.records import FileStatus


class Stage(StrEnum):
    """Every function of the pipeline: the four file stages in pipeline order, the stream batcher, the healer
    (which keeps the others' circuits), then the ingestion API's authorizer and function."""

    INGESTION = "ingestion"
    VALIDATION = "validation"
    QUALITY = "quality"
    CURATION = "curation"
    BATCHER = "batcher"
    HEALER = "healer"
    AUTHORIZER = "authorizer"
    API = "api"

    @property
    def order(self) -> int:
        """The stage's place in the pipeline, from 1; a stage record's sort key ends with it."""
        return list(Stage).index(self) + 1

    @property
    def spec(self) -> StageSpec:
        return STAGES[self]


@dataclass(frozen=True)
class Event:
    """An event on the pipeline's bus, as a rule matches it: its source and detail type."""

    source: str
    detail_type: str


DATA_RECEIVED = Event("datalake.ingestion", "Data Received")
DATA_VALIDATED = Event("datalake.validation", "Data Validated")
QUALITY_COMPLETE = Event("datalake.quality", "Quality Check Complete")
DATA_CURATED = Event("datalake.curation", "Data Curated")
# A notice for people, not for a stage: personal data a contract does not declare arrived (the alerts topic gets it).
SENSITIVE_DATA_DETECTED = Event("datalake.validation", "Sensitive Data Detected")


class Feed(StrEnum):
    """What a stage reads that is not an event of the bus."""

    # The raw bucket's S3 notifications, in the stage's queue.
    RAW_NOTIFICATIONS = "raw notifications"
    # The ingest stream's Kinesis records, through the stream's mapping (no queue).
    INGEST_STREAM = "ingest stream"
    # A schedule (EventBridge Scheduler, once a minute): no queue, no mapping.
    SCHEDULE = "schedule"
    # The ingestion API's requests (API Gateway invokes the function, and its authorizer, for each): no queue, no
    # mapping.
    API_REQUESTS = "api requests"


@dataclass(frozen=True)
class TraceRow:
    """What `lakebox trace` shows of a stage that records files: the status its record gives (read from
    `status_field`, shown under `renamed` names; "recorded" when the record has no status of its own) and the
    record's details, by attribute, under the names the trace gives them."""

    status_field: str | None
    details: Mapping[str, str]
    renamed: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StageSpec:
    """One stage of the pipeline: what it reads and emits, how its function runs, what it depends on, and what
    `lakebox trace` and `lakebox reconcile` say of it."""

    stage: Stage
    summary: str
    # What the stage reads: an event of the bus (through a rule into its queue) or a feed.
    consumes: Event | Feed
    # The event it emits for each file (None: it writes raw files instead, which S3 announces).
    emits: Event | None
    # Records in one invocation (None: the stream's own bound, STREAM_MAX_RECORDS) and invocations at once (for the
    # stream: per shard).
    batch_size: int | None
    concurrency: int
    memory_mb: int
    timeout_s: int
    # The AWS services the function calls (boto3's names); a stage whose dependency is down waits for it.
    depends_on: frozenset[str]
    # Services it also calls where they are offered and asked for, and goes on without otherwise (Comprehend, Lake
    # Formation): never waited for.
    optional: frozenset[str] = frozenset()
    # Only files validation gave this status reach the stage (its rule filters on it, reconcile waits for no other).
    only: FileStatus | None = None
    # Whether the stage emits its event when it fails a file (ingestion does not: the raw object is gone).
    emits_on_failure: bool = True
    # The function's /tmp (Lambda's ephemeral storage, 512 to 10,240 MB): what a stage that writes a file there holds
    # at most (curation downloads the file it curates; validation keeps `unique` keys past 50,000 in SQLite).
    tmp_mb: int = 512
    # Events it emits for people rather than for a stage, each to the alerts topic through a rule of its own.
    notices: tuple[Event, ...] = ()
    # What `lakebox reconcile` says of a file while this stage has not recorded it (None: a stage that records no
    # file).
    awaiting: str | None = None
    trace: TraceRow | None = None
    # The rule that carries `consumes` into the stage's queue is `<project>-<rule>-rule` (default: the stage's own
    # name). Validation's and quality's rules keep the names earlier versions gave them, after the stage whose event
    # they carry, so a deployed lake keeps its rules.
    rule_name: str | None = None
    # The layers of compiled code the function imports besides the shared layer, each a layer of its own
    # (see infra/lakebox_infra/native_layers.py): "duckdb", "cryptography".
    native_layers: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.stage.value

    @property
    def reads_queue(self) -> bool:
        """Whether the stage reads a queue of its own (every stage but the stream batcher and the healer)."""
        return isinstance(self.consumes, Event) or self.consumes is Feed.RAW_NOTIFICATIONS

    @property
    def mapped(self) -> bool:
        """Whether an event source mapping feeds the function (its queue's, or the stream's): what a circuit
        pauses."""
        return self.reads_queue or self.consumes is Feed.INGEST_STREAM

    @property
    def rule(self) -> str | None:
        """The name its rule has after the project, None when no rule feeds it."""
        return (self.rule_name or self.name) if isinstance(self.consumes, Event) else None

    @property
    def duckdb(self) -> bool:
        """Whether the function imports DuckDB."""
        return "duckdb" in self.native_layers

    @property
    def environment(self) -> dict[str, str]:
        """What the function's process needs in its environment besides the settings: DuckDB's allocator's."""
        return dict(DUCKDB_ENVIRONMENT) if self.duckdb else {}

    @property
    def records_files(self) -> bool:
        """Whether the stage writes a record per file (a row of `lakebox trace`)."""
        return self.trace is not None

    def takes(self, status: FileStatus) -> bool:
        """Whether a file that validation gave `status` reaches this stage."""
        return self.only is None or status is self.only


# DuckDB's allocator (a jemalloc of its own) keeps freed pages for seconds: over the hundreds of statements of a large
# file's chunks they held up to 100 MiB more at curation's peak (1 GB of JSON Lines: 211 against 143 MiB). A
# background thread returns them within 100 ms, for 4 % more time; returning them at once would cost 25 %. Read when
# the library loads, so it goes in the function's environment.
DUCKDB_ENVIRONMENT = {"DUCKDB_JE_MALLOC_CONF": "background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0"}

STAGES: dict[Stage, StageSpec] = {spec.stage: spec for spec in (
    StageSpec(
        Stage.INGESTION, "S3 notification to Data Received",
        consumes=Feed.RAW_NOTIFICATIONS, emits=DATA_RECEIVED, emits_on_failure=False,
        batch_size=10, concurrency=4, memory_mb=256, timeout_s=60,
        depends_on=frozenset({"s3", "dynamodb", "events"}),
        awaiting="not ingested",
        trace=TraceRow("Status", {"Format": "format", "Compression": "compression", "Size": "size"},
                       renamed={FileStatus.IN_PROGRESS.value: "received"}),
    ),
    StageSpec(
        Stage.VALIDATION, "Data Received to processed or quarantine",
        consumes=DATA_RECEIVED, emits=DATA_VALIDATED, notices=(SENSITIVE_DATA_DETECTED,),
        batch_size=10, concurrency=4, memory_mb=512, timeout_s=300, tmp_mb=2048,
        depends_on=frozenset({"s3", "dynamodb", "events"}), optional=frozenset({"comprehend"}),
        awaiting="awaiting validation",
        trace=TraceRow("Status", {
            "ContractVersion": "contract_version", "Mode": "mode", "QualityScore": "quality_score",
            "RecordsTotal": "records_total", "RecordsValid": "records_valid", "RecordsInvalid": "records_invalid",
            "Errors": "errors", "RuleCounts": "rule_counts", "Destination": "destination"}),
        rule_name="ingestion",
    ),
    StageSpec(
        Stage.QUALITY, "Data Validated to CloudWatch metrics",
        consumes=DATA_VALIDATED, emits=QUALITY_COMPLETE,
        batch_size=10, concurrency=2, memory_mb=256, timeout_s=60,
        depends_on=frozenset({"dynamodb", "cloudwatch", "events"}),
        awaiting="awaiting quality",
        trace=TraceRow(None, {"QualityScore": "quality_score", "ValidationPassed": "passed",
                              "RecordsTotal": "records_total"}),
        rule_name="validation",
    ),
    StageSpec(
        Stage.CURATION, "processed files to Parquet and the Glue catalog",
        consumes=DATA_VALIDATED, only=FileStatus.PROCESSED, emits=DATA_CURATED,
        batch_size=10, concurrency=4, memory_mb=1024, timeout_s=300, tmp_mb=4096,
        depends_on=frozenset({"s3", "dynamodb", "glue", "kms", "events"}), optional=frozenset({"lakeformation"}),
        awaiting="awaiting curation",
        trace=TraceRow("CurationStatus", {"CurationStatus": "status", "Table": "table", "CuratedRows": "rows",
                                          "Partitions": "partitions", "Reason": "reason"}),
        native_layers=("duckdb", "cryptography"),
    ),
    StageSpec(
        Stage.BATCHER, "Kinesis records to raw JSON Lines files",
        consumes=Feed.INGEST_STREAM, emits=None,
        batch_size=None, concurrency=1, memory_mb=512, timeout_s=60,
        depends_on=frozenset({"s3", "dynamodb"}),
    ),
    StageSpec(
        Stage.HEALER, "the stages' health counters to their circuits, each minute",
        consumes=Feed.SCHEDULE, emits=None,
        batch_size=None, concurrency=1, memory_mb=256, timeout_s=60,
        # Its probes (one harmless read of a dependency before a stage tries it again) fail without harm.
        depends_on=frozenset({"dynamodb", "lambda", "sns"}),
        optional=frozenset({"s3", "glue", "kms", "events", "cloudwatch"}),
    ),
    StageSpec(
        Stage.AUTHORIZER, "a producer's bearer key to its producer, for the ingestion API",
        consumes=Feed.API_REQUESTS, emits=None,
        batch_size=None, concurrency=1, memory_mb=256, timeout_s=10,
        depends_on=frozenset({"dynamodb"}),
    ),
    StageSpec(
        Stage.API, "the ingestion API: records to the ingest stream, files to presigned URLs, a file's status",
        consumes=Feed.API_REQUESTS, emits=None,
        # Within API Gateway's 30 s integration timeout, with the stream's retries bounded by 10 s.
        batch_size=None, concurrency=1, memory_mb=256, timeout_s=20,
        depends_on=frozenset({"kinesis", "s3", "dynamodb"}),
    ),
)}
# The functions a circuit can pause (the healer keeps one per stage): those an event source mapping feeds.
MAPPED_STAGES: tuple[StageSpec, ...] = tuple(spec for spec in STAGES.values() if spec.mapped)
# The stages that record each file, in pipeline order: the rows of `lakebox trace`, what reconcile accounts for.
FILE_STAGES: tuple[StageSpec, ...] = tuple(spec for spec in STAGES.values() if spec.records_files)


def producer(spec: StageSpec) -> StageSpec | None:
    """The stage whose event `spec` consumes; None for a stage fed by S3 or the stream."""
    return next((other for other in STAGES.values() if other.emits == spec.consumes), None)
