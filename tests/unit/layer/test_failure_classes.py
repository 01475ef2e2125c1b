"""classify: what kind of failure a stage's error is (file, transient, code), the service it is against and its
code, decided by exception types, AWS error codes and HTTP statuses along the cause chain, never by message text;
its tables checked against botocore's service models and the adapters' calls."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import botocore.session
import duckdb
import pytest
from botocore import xform_name
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from botocore.exceptions import ConnectionError as EndpointUnreachable

from lakebox_layer import failures
from lakebox_layer.exceptions import (
    BatchHeld,
    CatalogError,
    ContentRejected,
    ContractInvalid,
    CurationRejected,
    FreeTextAccessDenied,
    FreeTextError,
    IngestionFailed,
    KeyAccessDenied,
    KeyServiceError,
    LakeFormationError,
    LedgerConflict,
    MetadataError,
    MetricsError,
    ProtectedValueInvalid,
    PublishError,
    RawObjectMissing,
    SettingsInvalid,
    StageAlreadyRecorded,
    StorageError,
    StreamPlanMismatch,
)
from lakebox_layer.failures import Failure, FailureClass, classify
from lakebox_layer.registry import MAPPED_STAGES
from tests.fakes.aws_errors import client_error, wrapped

FILE, TRANSIENT, CODE = FailureClass.FILE, FailureClass.TRANSIENT, FailureClass.CODE
ROOT = Path(__file__).resolve().parents[3]
SERVICES = ("s3", "dynamodb", "glue", "kms", "events", "cloudwatch", "sqs", "kinesis", "sns", "lambda", "comprehend",
            "lakeformation", "athena", "scheduler")
EMULATOR = "http://127.0.0.1:4566"


TRANSIENT_CODE_LIST = [
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "RequestThrottled", "RequestThrottledException", "SlowDown",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalError", "InternalFailure", "InternalServerError",
    "InternalServiceError", "InternalServiceException", "InternalServerException", "RequestTimeout",
    "RequestTimeoutException", "PriorRequestNotComplete", "TransactionInProgressException", "KMSInternalException",
    "DependencyTimeoutException", "LimitExceededException", "TransactionConflictException", "BandwidthLimitExceeded",
    "EC2ThrottledException",
]


def test_the_transient_codes_are_exactly_those_listed() -> None:
    assert set(TRANSIENT_CODE_LIST) == failures.TRANSIENT_CODES


@pytest.mark.parametrize("code", TRANSIENT_CODE_LIST)
def test_a_transient_code_is_retried_whatever_its_status(code: str) -> None:
    failure = classify(client_error(code, status=400))

    assert failure == Failure(TRANSIENT, "s3", code)
    assert failure.retryable


@pytest.mark.parametrize(("status", "kind"), [
    (429, TRANSIENT), (500, TRANSIENT), (502, TRANSIENT), (503, TRANSIENT), (504, TRANSIENT), (599, TRANSIENT),
    (400, CODE), (403, CODE), (404, CODE), (409, CODE), (412, CODE), (301, CODE),
])
def test_a_code_nobody_listed_is_decided_by_its_status(status: int, kind: FailureClass) -> None:
    assert classify(client_error("SomethingNew", status=status)) == Failure(kind, "s3", "SomethingNew")


@pytest.mark.parametrize("error", [
    ContentRejected("invalid JSON"), CurationRejected("'x' does not cast to bigint"), RawObjectMissing("gone"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    duckdb.InvalidInputException("bad input"), duckdb.ConversionException("could not convert"),
    wrapped(CurationRejected("'x' does not cast"), duckdb.ConversionException("could not convert")),
    wrapped(ContentRejected("cannot decode"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")),
], ids=lambda error: type(error).__name__)
def test_a_property_of_the_file_is_a_file_failure(error: BaseException) -> None:
    failure = classify(error)

    assert failure == Failure(FILE, None, type(error).__name__)
    assert not failure.retryable


@pytest.mark.parametrize("module", ["duckdb", "_duckdb", "duckdb.duckdb"])
def test_duckdbs_errors_are_known_by_class_name_and_module(module: str) -> None:
    invalid_input = type("InvalidInputException", (Exception,), {"__module__": module})
    conversion = type("ConversionException", (Exception,), {"__module__": module})
    subclass = type("Narrower", (conversion,), {"__module__": module})
    impostor = type("ConversionException", (Exception,), {"__module__": "duckdbish"})

    assert {classify(cls("x")).kind for cls in (invalid_input, conversion, subclass)} == {FILE}
    assert classify(impostor("x")).kind is CODE


@pytest.mark.parametrize(("code", "status"), [("NoSuchKey", 404), ("NoSuchVersion", 404),
                                              ("InvalidObjectState", 403)])
def test_a_raw_object_gone_or_archived_is_a_file_failure(code: str, status: int) -> None:
    assert classify(client_error(code, status)) == Failure(FILE, "s3", code)
    assert classify(wrapped(RawObjectMissing("gone"), client_error(code, status))) == Failure(FILE, "s3", code)


def test_a_missing_bucket_is_code_even_as_a_missing_raw_object() -> None:
    assert classify(wrapped(RawObjectMissing("gone"), client_error("NoSuchBucket", 404))) == Failure(
        CODE, "s3", "NoSuchBucket")


@pytest.mark.parametrize("error", [
    ImportError("x"), ModuleNotFoundError("x"), NameError("x"), UnboundLocalError("x"), AttributeError("x"),
    TypeError("x"), KeyError("x"), ValueError("x"), RuntimeError("x"), ZeroDivisionError(), Exception("x"),
    ProtectedValueInvalid("a data key is 32 bytes"), ContractInvalid("x"), SettingsInvalid("x"),
    IngestionFailed("ingestion failed for 1 of 1 objects"), NoCredentialsError(), ParamValidationError(report="x"),
], ids=lambda error: type(error).__name__)
def test_anything_else_is_code(error: BaseException) -> None:
    failure = classify(error)

    assert failure == Failure(CODE, None, type(error).__name__)
    assert not failure.retryable


@pytest.mark.parametrize(("code", "status"), [
    ("AccessDenied", 403), ("AccessDeniedException", 400), ("403", 403), ("ExpiredToken", 400),
    ("InvalidAccessKeyId", 403), ("UnrecognizedClientException", 400), ("ResourceNotFoundException", 400),
    ("NoSuchBucket", 404), ("EntityNotFoundException", 400), ("404", 404), ("ValidationException", 400),
    ("ConditionalCheckFailedException", 400), ("NotImplementedYet", 418),
    # Refused or missing is configuration even where an endpoint carries it with a 5xx.
    ("AccessDenied", 503), ("ResourceNotFoundException", 500),
])
def test_a_refusal_a_missing_resource_or_an_unlisted_4xx_is_code(code: str, status: int) -> None:
    assert classify(client_error(code, status, "GetItem")) == Failure(CODE, "dynamodb", code)


@pytest.mark.parametrize("error", [
    EndpointConnectionError(endpoint_url=EMULATOR), ConnectionClosedError(endpoint_url=EMULATOR),
    ReadTimeoutError(endpoint_url=EMULATOR, error=OSError()), EndpointUnreachable(error=OSError()),
    ConnectTimeoutError(endpoint_url=EMULATOR, error=OSError()), SSLError(endpoint_url=EMULATOR, error=OSError()),
    ProxyConnectionError(proxy_url="http://proxy", error=OSError()), ResponseStreamingError(error=OSError()),
    IncompleteReadError(actual_bytes=1, expected_bytes=2), TimeoutError(), ConnectionError(), ConnectionResetError(),
], ids=lambda error: type(error).__name__)
def test_a_lost_connection_or_a_timeout_is_transient(error: BaseException) -> None:
    assert classify(error) == Failure(TRANSIENT, None, type(error).__name__)


def test_a_storage_error_from_a_503_get_is_a_transient_failure_of_s3() -> None:
    error = wrapped(StorageError("reading s3://raw/a.csv: ServiceUnavailable"),
                    client_error("ServiceUnavailable", 503, "GetObject"))

    assert classify(error) == Failure(TRANSIENT, "s3", "ServiceUnavailable")


def test_a_catalog_error_from_throttled_partitions_is_a_transient_failure_of_glue() -> None:
    error = wrapped(CatalogError("adding partitions: ThrottlingException"),
                    client_error("ThrottlingException", 400, "BatchCreatePartition"))

    assert classify(error) == Failure(TRANSIENT, "glue", "ThrottlingException")


def test_the_innermost_aws_error_decides_however_deep() -> None:
    """A timed-out S3 body read inside gzip comes back as corrupt content: the timeout decides, not the wrapper."""
    timeout = ReadTimeoutError(endpoint_url="https://raw.s3.us-east-1.amazonaws.com/a.csv.gz", error=OSError())
    error = wrapped(CurationRejected("cannot be read"), wrapped(ContentRejected("corrupt gzip"), timeout))

    assert classify(error) == Failure(TRANSIENT, "s3", "ReadTimeoutError")


def test_a_cause_set_by_hand_counts_like_raise_from() -> None:
    """The events adapter sets `__cause__` on each entry's PublishError of a refused call."""
    error = PublishError("Data Received not sent to bus: InternalException")
    error.__cause__ = client_error("InternalException", 500, "PutEvents")

    assert classify(error) == Failure(TRANSIENT, "events", "InternalException")


def test_only_explicit_causes_are_walked() -> None:
    """An error raised while another was handled (its `__context__`) is classified by itself."""
    error = KeyError("Body")
    error.__context__ = client_error("SlowDown", 503)

    assert classify(error) == Failure(CODE, None, "KeyError")


def test_a_cause_cycle_ends() -> None:
    first, second = StorageError("a"), MetadataError("b")
    first.__cause__, second.__cause__ = second, first

    assert (classify(first).kind, classify(first).code) == (CODE, "StorageError")


@pytest.mark.parametrize(("operation", "service"), [
    ("GetObject", "s3"), ("UploadPartCopy", "s3"), ("CompleteMultipartUpload", "s3"), ("BatchGetItem", "dynamodb"),
    ("TransactWriteItems", "dynamodb"), ("GetTable", "glue"), ("BatchCreatePartition", "glue"),
    ("GenerateDataKey", "kms"), ("GenerateMac", "kms"), ("PutEvents", "events"), ("PutMetricData", "cloudwatch"),
    ("DetectPiiEntities", "comprehend"), ("AddLFTagsToResource", "lakeformation"),
])
def test_the_dependency_of_a_client_error_is_its_operations_service(operation: str, service: str) -> None:
    assert classify(client_error("InternalError", 500, operation)).dependency == service


@pytest.mark.parametrize(("wrapper", "service"), [(None, "glue"), (CatalogError("x"), "glue"),
                                                  (MetadataError("x"), "dynamodb")])
@pytest.mark.parametrize("operation", sorted(failures.SHARED_OPERATIONS))
def test_an_operation_two_services_share_is_the_wrappers(operation: str, wrapper: BaseException | None,
                                                         service: str) -> None:
    error = client_error("InternalServerError", 500, operation)

    assert classify(error if wrapper is None else wrapped(wrapper, error)).dependency == service


def test_the_operation_decides_over_the_wrapper_and_an_unknown_one_leaves_it_to_the_wrapper() -> None:
    assert classify(wrapped(StorageError("x"), client_error("SlowDown", 503, "PutItem"))).dependency == "dynamodb"
    assert classify(client_error("SlowDown", 503, "ListBuckets")).dependency is None
    assert classify(wrapped(StorageError("x"), client_error("SlowDown", 503, "ListBuckets"))).dependency == "s3"


@pytest.mark.parametrize(("url", "service"), [
    ("https://glue.us-east-1.amazonaws.com/", "glue"), ("https://monitoring.eu-west-1.amazonaws.com", "cloudwatch"),
    ("https://raw.s3.us-east-1.amazonaws.com/a.csv", "s3"), ("https://s3.amazonaws.com/raw/a.csv", "s3"),
    ("https://glue.s3.us-east-1.amazonaws.com/a.csv", "s3"),  # a bucket named glue
    ("https://a.b.s3.dualstack.us-east-1.amazonaws.com/k", "s3"), ("https://events.us-east-1.amazonaws.com", "events"),
    ("https://kms.us-east-1.amazonaws.com", "kms"), ("https://kms-fips.us-east-1.amazonaws.com", "kms"),
    ("https://dynamodb.us-east-1.amazonaws.com", "dynamodb"), ("https://sqs.cn-north-1.amazonaws.com.cn", "sqs"),
    ("https://kinesis.us-east-1.api.aws", "kinesis"), ("https://ATHENA.us-east-1.amazonaws.com", "athena"),
    (EMULATOR, None), ("http://localhost:4566", None), ("https://glue.example.com", None),
    ("https://amazonaws.com", None), ("http://[::1", None),
])
def test_the_dependency_of_a_connection_error_is_its_hosts_service(url: str, service: str | None) -> None:
    for error in (EndpointConnectionError(endpoint_url=url), ConnectTimeoutError(endpoint_url=url, error=OSError()),
                  ReadTimeoutError(endpoint_url=url, error=OSError()), ConnectionClosedError(endpoint_url=url)):
        assert classify(error) == Failure(TRANSIENT, service, type(error).__name__)


def test_an_aws_host_decides_over_the_wrapper_and_an_emulator_leaves_it_to_the_wrapper() -> None:
    on_aws = EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com")

    assert classify(wrapped(CatalogError("x"), on_aws)).dependency == "kms"
    assert classify(wrapped(CatalogError("x"), EndpointConnectionError(endpoint_url=EMULATOR))).dependency == "glue"


@pytest.mark.parametrize(("wrapper", "service"), [
    (StorageError("x"), "s3"), (MetadataError("x"), "dynamodb"), (PublishError("x"), "events"),
    (MetricsError("x"), "cloudwatch"), (CatalogError("x"), "glue"), (KeyServiceError("x"), "kms"),
    (KeyAccessDenied("alias/pii", "kms:Decrypt", "AccessDenied"), "kms"), (FreeTextError("x"), "comprehend"),
    (FreeTextAccessDenied("AccessDeniedException"), "comprehend"), (LakeFormationError("x"), "lakeformation"),
], ids=lambda value: type(value).__name__)
def test_the_wrapper_names_the_dependency_an_aws_error_does_not(wrapper: BaseException, service: str) -> None:
    # Without an AWS error (a refusal that came back per entry), the wrapper says which service, not why: code.
    assert classify(wrapper) == Failure(CODE, service, type(wrapper).__name__)
    assert classify(wrapped(wrapper, ReadTimeoutError(endpoint_url=EMULATOR, error=OSError()))) == Failure(
        TRANSIENT, service, "ReadTimeoutError")


def test_a_held_batch_is_retried_against_nothing_or_its_causes_dependency() -> None:
    assert classify(BatchHeld("3 records")) == Failure(TRANSIENT, None, "BatchHeld")
    cause = wrapped(StorageError("x"), EndpointConnectionError(endpoint_url=EMULATOR))
    assert classify(wrapped(BatchHeld("x"), cause)) == Failure(TRANSIENT, "s3", "EndpointConnectionError")


def test_a_ledger_conflict_is_retried_against_dynamodb() -> None:
    error = wrapped(LedgerConflict("claiming"), client_error("ConditionalCheckFailedException", 400, "UpdateItem"))

    assert classify(error) == Failure(TRANSIENT, "dynamodb", "ConditionalCheckFailedException")


@pytest.mark.parametrize(("code", "operation"), [("ConditionalCheckFailedException", "PutItem"),
                                                 ("TransactionCanceledException", "TransactWriteItems")])
def test_a_stage_already_recorded_is_the_files_own_outcome(code: str, operation: str) -> None:
    failure = classify(wrapped(StageAlreadyRecorded("p-1"), client_error(code, 400, operation)))

    assert failure == Failure(FILE, "dynamodb", code)
    assert not failure.retryable


def test_a_stream_plan_mismatch_stops_and_alerts() -> None:
    assert classify(StreamPlanMismatch("pending through 5")) == Failure(CODE, None, "StreamPlanMismatch")
    assert classify(wrapped(StreamPlanMismatch("x"), EndpointConnectionError(endpoint_url=EMULATOR))).kind is CODE


@pytest.mark.parametrize(("reasons", "kind"), [
    (["None", "TransactionConflict"], TRANSIENT), (["ThrottlingError", "None"], TRANSIENT),
    (["ProvisionedThroughputExceeded"], TRANSIENT), (["TransactionConflict", "ValidationError"], CODE),
    (["ConditionalCheckFailed", "None"], CODE), (["None", "None"], CODE), ([], CODE),
])
def test_a_cancelled_transaction_is_transient_when_every_reason_is(reasons: list[str], kind: FailureClass) -> None:
    error = ClientError({"Error": {"Code": "TransactionCanceledException", "Message": ""},
                         "CancellationReasons": [{"Code": code} for code in reasons]}, "TransactWriteItems")

    assert classify(wrapped(MetadataError("x"), error)) == Failure(kind, "dynamodb", "TransactionCanceledException")


@pytest.mark.parametrize("code", ["SlowDown", "AccessDenied", "NoSuchKey", "ValidationException"])
def test_the_message_never_decides(code: str) -> None:
    assert classify(client_error(code, message="please slow down")) == classify(
        client_error(code, message="Throttling: Rate exceeded; InternalError; NoSuchKey"))


def test_a_message_that_says_throttling_is_not_a_throttle() -> None:
    assert classify(client_error("ValidationException", 400, message="Throttling")) == Failure(
        CODE, "s3", "ValidationException")
    assert classify(PublishError("not accepted: ThrottlingException Rate exceeded")).kind is CODE
    assert classify(RuntimeError("ReadTimeoutError: timed out")).kind is CODE


def test_a_client_error_without_a_code_is_named_by_its_type() -> None:
    error = ClientError({"ResponseMetadata": {"HTTPStatusCode": 503}}, "GetObject")  # type: ignore[typeddict-item]

    assert classify(error) == Failure(TRANSIENT, "s3", "ClientError")


def _operations_of(service: str) -> frozenset[str]:
    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def test_every_operation_is_its_services_and_no_other_services_but_where_shared() -> None:
    owners = {service: _operations_of(service) for service in SERVICES}
    for operation, service in failures.OPERATIONS.items():
        having = {name for name, operations in owners.items() if operation in operations}
        assert service in having, f"{operation} is not an operation of {service}"
        assert having == {service} | failures.SHARED_OPERATIONS.get(operation, frozenset()), operation
    assert set(failures.SHARED_OPERATIONS) <= set(failures.OPERATIONS)


# The adapters' client attributes and the services they are clients of.
CLIENTS = {"_s3": "s3", "_db": "dynamodb", "_glue": "glue", "_kms": "kms", "_events": "events",
           "_cloudwatch": "cloudwatch", "_comprehend": "comprehend", "_lakeformation": "lakeformation"}


def test_every_operation_the_adapters_call_is_in_the_table() -> None:
    """Each `self._<client>.<method>(` call of the layer's adapters and stages that is an API call is in OPERATIONS,
    and OPERATIONS holds no other but the managed copy's (`copy` and `upload_file` are boto3's, not API calls)."""
    called: set[tuple[str, str]] = set()
    layer = ROOT / "layer" / "lakebox_layer"
    for source in [*layer.glob("adapters/*.py"), *layer.glob("stages/*.py")]:
        for client, method in re.findall(r"self\.(_\w+)\.(\w+)\(", source.read_text()):
            if client in CLIENTS:
                called.add((CLIENTS[client], method))
    api = {service: {xform_name(name): name for name in _operations_of(service)} for service in set(CLIENTS.values())}
    operations = {(service, api[service][method]) for service, method in called if method in api[service]}
    assert len(operations) >= 20, "the adapters' calls were not found"
    assert {(service, name) for service, name in operations if failures.OPERATIONS.get(name) != service} == set()
    assert set(failures.OPERATIONS) - {name for _, name in operations} == {"HeadObject", "UploadPartCopy"}


def test_every_host_prefix_is_its_services_endpoint_prefix() -> None:
    session = botocore.session.get_session()
    prefixes = {prefix: session.get_service_model(name).endpoint_prefix for prefix, name in failures.HOSTS.items()}
    assert prefixes == {prefix: prefix for prefix in failures.HOSTS}
    assert set(failures.HOSTS.values()) == set(SERVICES)
    # Every service a stage whose failures are counted calls can be named as a dependency, whichever way the error
    # names it (the healer's own failures are logged, not counted).
    named = set(failures.OPERATIONS.values()) & set(failures.WRAPPERS.values()) & set(failures.HOSTS.values())
    called = {service for spec in MAPPED_STAGES for service in spec.depends_on | spec.optional}

    assert called <= named


def test_the_module_imports_only_botocore_and_the_layer() -> None:
    script = ("import sys; import lakebox_layer.failures; "
              "print(sorted({'boto3', 'duckdb', '_duckdb', 'aws_lambda_powertools'} & set(sys.modules)))")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)

    assert found.stdout.strip() == "[]"
