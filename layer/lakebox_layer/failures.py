"""What kind of failure an error raised inside a stage is: the one place that decides, by the exception's type and
the AWS error code (and HTTP status) it carries, never by its message.

A `file` failure belongs to the file (content that cannot be read as its format, rows that do not become the table's
columns, a raw object that is gone): the file fails the same way every time, so the healer gives it its terminal
outcome with the reason, never retries it and never counts it against a service. A `transient` failure (throttling,
a 5xx, a timeout, a lost connection) is retried with backoff and counted against its dependency, the AWS service it
names: while a dependency keeps failing, the healer pauses the stages whose `depends_on` holds it
(:mod:`lakebox_layer.registry`). A `code` failure (access denied, a missing resource, a bug, anything not known here)
would fail every retry and every file alike: the healer stops and alerts rather than probing blindly.

Pure logic on types and codes, importing nothing but botocore and the layer (DuckDB's errors are known by their class
name and module), so a function imports it at no cost.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from lakebox_layer.adapters.errors import ACCESS_DENIED, CREDENTIALS_REFUSED, NOT_FOUND, error_code
from lakebox_layer.exceptions import (
    BatchHeld,
    BatchOutOfTime,
    CatalogError,
    ContentRejected,
    CurationRejected,
    FreeTextError,
    FreeTextUnavailable,
    KeyAccessDenied,
    KeyServiceError,
    LakeFormationError,
    LedgerConflict,
    MetadataError,
    MetricsError,
    OutOfTime,
    PublishError,
    RawObjectMissing,
    StageAlreadyRecorded,
    StorageError,
    StreamPlanMismatch,
)

T = TypeVar("T")


class FailureClass(StrEnum):
    """What the healer does with a failure (see the module's docstring)."""

    FILE = "file"
    TRANSIENT = "transient"
    CODE = "code"


@dataclass(frozen=True)
class Failure:
    """An error as the healer sees it: its class, the AWS service it is against (boto3's name; None when it is not
    an AWS call, or the call does not say which) and its code (the AWS error code, else the exception's type name)."""

    kind: FailureClass
    dependency: str | None
    code: str

    @property
    def retryable(self) -> bool:
        """Whether retrying can succeed: transient failures only."""
        return self.kind is FailureClass.TRANSIENT


# Every operation the layer calls (boto3's `get_object` is "GetObject") and its service; the unit tests check each
# against botocore's service models and against the adapters' calls.
OPERATIONS: dict[str, str] = {
    # S3 (ObjectStore); a managed copy past COPY_IN_ONE_BYTES heads its source and copies it in parts.
    "GetObject": "s3", "HeadObject": "s3", "CopyObject": "s3", "UploadPartCopy": "s3", "PutObject": "s3",
    "PutObjectTagging": "s3", "CreateMultipartUpload": "s3", "UploadPart": "s3", "CompleteMultipartUpload": "s3",
    "AbortMultipartUpload": "s3",
    # DynamoDB: the metadata table (stage records, totals, data keys, contracts, the stream ledger).
    "GetItem": "dynamodb", "BatchGetItem": "dynamodb", "PutItem": "dynamodb", "UpdateItem": "dynamodb",
    "DeleteItem": "dynamodb", "TransactWriteItems": "dynamodb",
    # Glue: the catalog. CreateTable and UpdateTable are DynamoDB's names too (SHARED_OPERATIONS).
    "GetTable": "glue", "CreateTable": "glue", "UpdateTable": "glue", "BatchCreatePartition": "glue",
    "GenerateDataKey": "kms", "Decrypt": "kms", "GenerateMac": "kms",
    "PutEvents": "events",
    "PutMetricData": "cloudwatch",
    "DetectPiiEntities": "comprehend",
    "AddLFTagsToResource": "lakeformation",
}
# Operations of OPERATIONS another service has under the same name, and the services that have it. The layer calls
# Glue's (only bootstrap calls DynamoDB's), so OPERATIONS says glue unless a wrapper names one of the others.
SHARED_OPERATIONS: dict[str, frozenset[str]] = {
    "CreateTable": frozenset({"glue", "dynamodb"}),
    "UpdateTable": frozenset({"glue", "dynamodb"}),
}

# The service each lakebox wrapper of an AWS error is about, for an AWS error that does not say (a connection error
# to an emulator's 127.0.0.1, an operation not in OPERATIONS) or a refusal that came back per entry, with no error.
WRAPPERS: dict[type[BaseException], str] = {
    StorageError: "s3",
    MetadataError: "dynamodb",
    LedgerConflict: "dynamodb",
    PublishError: "events",
    MetricsError: "cloudwatch",
    CatalogError: "glue",
    KeyServiceError: "kms",
    KeyAccessDenied: "kms",
    FreeTextError: "comprehend",
    FreeTextUnavailable: "comprehend",  # and FreeTextAccessDenied: Comprehend unreachable or refused
    LakeFormationError: "lakeformation",
}

# The service an AWS host name is of, by its endpoint prefix (`monitoring.us-east-1.amazonaws.com` is CloudWatch's);
# the unit tests check each against botocore's service models.
HOSTS: dict[str, str] = {
    "s3": "s3", "dynamodb": "dynamodb", "glue": "glue", "kms": "kms", "events": "events", "monitoring": "cloudwatch",
    "sqs": "sqs", "kinesis": "kinesis", "sns": "sns", "lambda": "lambda", "comprehend": "comprehend",
    "lakeformation": "lakeformation", "athena": "athena", "scheduler": "scheduler",
}
AWS_DOMAINS = ("amazonaws.com", "amazonaws.com.cn", "api.aws")

# Codes that say "not now": throttled, overloaded, failing inside, or busy with a concurrent request.
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalFailure", "InternalServerError",
    "InternalServiceError", "InternalServiceException", "InternalServerException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "TransactionInProgressException", "KMSInternalException",
    "DependencyTimeoutException", "LimitExceededException", "TransactionConflictException", "BandwidthLimitExceeded",
    "EC2ThrottledException",
})
# The raw object is gone, or archived where a GET cannot reach it: the file's own state, not the bucket's.
FILE_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "InvalidObjectState"})
# Refused, or missing (a bucket, a table, a key): the deployment's configuration, whatever status carried it.
# NOT_FOUND holds NoSuchKey and NoSuchVersion, which FILE_CODES takes first.
CODE_CODES = (ACCESS_DENIED | CREDENTIALS_REFUSED | NOT_FOUND) - FILE_CODES
# The reasons a cancelled DynamoDB transaction gives that say "not now" (the quality stage's totals item is written
# by concurrent invocations); any other reason (a failed condition, a validation error) is not transient.
TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})

# A connection that failed, timed out or broke mid-response (a body cut short included).
TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    EndpointUnreachable, HTTPClientError, IncompleteReadError, TimeoutError, ConnectionError)

# Errors that are properties of the file: the same file gives them again, whatever is retried.
FILE_TYPES: tuple[type[BaseException], ...] = (
    # Its content cannot be read as its format: undecodable, malformed, too large, a gzip bomb.
    ContentRejected,
    # Its rows cannot become the table's typed columns (a value that does not cast, clashing names, more than
    # DuckDB's memory holds). Curation ends the file failed with the reason for every CurationRejected, the few about
    # the table rather than the file included (an invalid published contract, a table that kept gaining protected
    # columns), so the class follows the stage.
    CurationRejected,
    # Its raw object no longer exists (from an S3 code: the code decides, so a missing bucket stays code).
    RawObjectMissing,
    # Bytes that are not the text they claim to be.
    UnicodeDecodeError,
)
# Not here, so code: ProtectedValueInvalid (inside a stage only a data key of the wrong size from KMS raises it:
# decrypting values is `lakebox query --reveal`'s), ContractInvalid and SettingsInvalid (configuration), and
# IngestionFailed, which names a notification's objects that failed but carries none of their errors.

# DuckDB's errors for a value that does not read or cast, known by class name and module (`_duckdb` in recent
# releases, `duckdb.duckdb` in older ones): only curation's function carries DuckDB, in a layer of its own.
DUCKDB_FILE_ERRORS = frozenset({"InvalidInputException", "ConversionException"})

# Lakebox's flow control: errors that say what the stage decided, so their type decides before any AWS cause.
FLOW: dict[type[BaseException], FailureClass] = {
    # The batcher holds a young batch on purpose so that it comes back larger: retried, against its cause's
    # dependency if it has one (it has none as raised), so holding a batch never counts against a service.
    BatchHeld: FailureClass.TRANSIENT,
    # Another invocation changed the shard's ledger since it was read (a failed condition): the batch is retried
    # and reads it again, like DynamoDB's own TransactionConflictException.
    LedgerConflict: FailureClass.TRANSIENT,
    # A duplicate delivery: the file's record exists already, so the file has its outcome; a retry would find the
    # record again, and a failed condition says nothing against DynamoDB.
    StageAlreadyRecorded: FailureClass.FILE,
    # A file too large to be read within the function's time limit, though it had the invocation to itself: it would
    # be too large the next time too.
    OutOfTime: FailureClass.FILE,
    # A file stopped because the batch's earlier files took the time: retried, against no service.
    BatchOutOfTime: FailureClass.TRANSIENT,
    # A redelivered batch that does not give the pending plan again. Not the file's (no file exists yet, and an
    # outcome would drop its records) nor a service's: a Kinesis retry redelivers from the same position, so records
    # are missing only where the mapping splits batches (bisect on error) or the batcher has a bug. Alert.
    StreamPlanMismatch: FailureClass.CODE,
}

# The code of a file too large for the function's /tmp, and what the codes that are lakebox's own mean.
NO_SPACE = "ENOSPC"
FILE_FAILURE_MEANINGS = {NO_SPACE: "the function's /tmp, its ephemeral storage, cannot hold what the file needs there"}

# Longest cause chain walked: a chain is a few wrappers deep; this only stops a pathological one.
MAX_CHAIN = 32


def classify(error: BaseException) -> Failure:
    """What kind of failure `error` is, the service it is against and its code.

    The error and its `__cause__` chain are walked (lakebox raises its errors `from` boto3's): a flow-control type
    decides the kind first, then the innermost AWS error (ClientError or BotoCoreError), then the error's own type.
    The dependency comes from the AWS error's operation or host, else from the innermost lakebox wrapper.
    """
    chain = _chain(error)
    aws = next((link for link in reversed(chain) if isinstance(link, ClientError | BotoCoreError)), None)
    flow = next((kind for link in chain if (kind := _by_type(FLOW, link)) is not None), None)
    if flow is not None:
        kind = flow
    elif _no_space(chain):
        # The function's /tmp (its ephemeral storage) cannot hold what the file needs there: too large for the
        # function, the next time too.
        return Failure(FailureClass.FILE, None, NO_SPACE)
    elif aws is not None:
        kind = _aws_kind(aws)
    else:
        kind = _own_kind(error)
    code = error_code(aws) if isinstance(aws, ClientError) else ""
    return Failure(kind, _dependency(chain, aws), code or type(error if aws is None else aws).__name__)


def _no_space(chain: list[BaseException]) -> bool:
    """A disk that is full: the system's ENOSPC, or SQLite's SQLITE_FULL (validation's `unique` keys past the first
    50,000 are kept in SQLite under /tmp)."""
    return any((isinstance(link, OSError) and link.errno == errno.ENOSPC)
               or (isinstance(link, sqlite3.Error) and getattr(link, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL)
               for link in chain)


def file_failure_reason(stage: str, failure: Failure) -> str:
    """What a stage records for a file it ends `failed` on the file's own failure: the code, and what it means where
    the code alone does not say it."""
    meaning = FILE_FAILURE_MEANINGS.get(failure.code)
    return f"{stage} failed on the file itself ({failure.code}{f': {meaning}' if meaning else ''})"


def file_failure(error: BaseException) -> Failure | None:
    """The failure when it is the file's own (class `file`), for a stage to end the file with a `failed` outcome at
    once instead of retrying it; None for any other. A stage names it by `code`, never by the error's message, which
    may quote the file's values."""
    failure = classify(error)
    return failure if failure.kind is FailureClass.FILE else None


def _chain(error: BaseException) -> list[BaseException]:
    """The error, then its cause, its cause's cause...: explicit causes only (`raise ... from`), each once."""
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and len(chain) < MAX_CHAIN and all(link is not seen for seen in chain):
        chain.append(link)
        link = link.__cause__
    return chain


def _by_type(table: Mapping[type[BaseException], T], error: BaseException) -> T | None:
    """The entry of `table` for the error's type or its nearest base class in the table."""
    return next((table[cls] for cls in type(error).__mro__ if cls in table), None)


def _aws_kind(error: ClientError | BotoCoreError) -> FailureClass:
    if isinstance(error, BotoCoreError):
        return FailureClass.TRANSIENT if isinstance(error, TRANSIENT_TYPES) else FailureClass.CODE
    code = error_code(error)
    if code in FILE_CODES:
        return FailureClass.FILE
    if code in TRANSIENT_CODES:
        return FailureClass.TRANSIENT
    if code in CODE_CODES:
        return FailureClass.CODE
    if code == "TransactionCanceledException" and _cancelled_for_now(error):
        return FailureClass.TRANSIENT
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    # A code nobody listed: 429 and any 5xx say "not now" whatever the code; anything else is a caller's mistake.
    if isinstance(status, int) and (status == 429 or status >= 500):
        return FailureClass.TRANSIENT
    return FailureClass.CODE


def _cancelled_for_now(error: ClientError) -> bool:
    """Whether a cancelled transaction's reasons (one per item; "None" for an item that did not cancel it) are all
    ones that say "not now"."""
    reasons = {reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])} - {"None"}
    return bool(reasons) and reasons <= TRANSIENT_CANCELLATIONS


def _own_kind(error: BaseException) -> FailureClass:
    """An error without an AWS error in its chain, by its own type; anything not known here is code."""
    if isinstance(error, FILE_TYPES) or _duckdb_file_error(error):
        return FailureClass.FILE
    if isinstance(error, TRANSIENT_TYPES):
        return FailureClass.TRANSIENT
    return FailureClass.CODE


def _duckdb_file_error(error: BaseException) -> bool:
    return any(cls.__name__ in DUCKDB_FILE_ERRORS and cls.__module__.lstrip("_").split(".")[0] == "duckdb"
               for cls in type(error).__mro__)


def _dependency(chain: list[BaseException], aws: ClientError | BotoCoreError | None) -> str | None:
    wrapper = next((service for link in reversed(chain) if (service := _by_type(WRAPPERS, link)) is not None), None)
    if isinstance(aws, ClientError):
        if wrapper in SHARED_OPERATIONS.get(aws.operation_name, frozenset()):
            return wrapper
        return OPERATIONS.get(aws.operation_name) or wrapper
    if isinstance(aws, BotoCoreError):
        return _host_service(aws.kwargs.get("endpoint_url")) or wrapper
    return wrapper


def _host_service(endpoint_url: object) -> str | None:
    """The service an AWS endpoint URL is of (`https://bucket.s3.us-east-1.amazonaws.com` is s3); None for any other
    host (an emulator's 127.0.0.1 says nothing). The labels are read from the region back, so a bucket's name in a
    virtual-hosted URL is never taken for a service; `kms-fips` is kms."""
    try:
        host = (urlsplit(endpoint_url).hostname or "").lower() if isinstance(endpoint_url, str) else ""
    except ValueError:  # not a URL (an unclosed IPv6 bracket): classifying never raises
        return None
    domain = next((domain for domain in AWS_DOMAINS if host.endswith(f".{domain}")), None)
    if domain is None:
        return None
    labels = host.removesuffix(f".{domain}").split(".")
    return next((HOSTS[prefix] for label in reversed(labels) if (prefix := label.split("-")[0]) in HOSTS), None)
