"""The one error boundary: what a failure says (one line: what failed and what to do) and its exit code, for the
CLI and for bootstrap; settings are refused before anything starts; an unexpected error is one line too, unless
LAKEBOX_DEBUG asks for its traceback."""

from __future__ import annotations

import importlib.util
import logging
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from typer.testing import CliRunner

from lakebox.exceptions import UsageError
from lakebox_infra import PROJECT_ROOT
from lakebox_infra.failures import Failure, failure_of
from lakebox_infra.provision import Provisioner
from lakebox_layer.exceptions import LakeboxError, SettingsInvalid

WHERE = "http://127.0.0.1:4566"
runner = CliRunner()


def client_error(code: str, message: str = "told so", operation: str = "ListBuckets") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(("error", "says", "code"), [
    (LakeboxError("the raw bucket is gone: run `lakebox up`"), "the raw bucket is gone: run `lakebox up`", 1),
    (UsageError("choose one of --json and --csv"), "choose one of --json and --csv", 2),
    (SettingsInvalid("LAKEBOX_STREAM_WINDOW_S must be a whole number"), "LAKEBOX_STREAM_WINDOW_S must be", 2),
    (EndpointConnectionError(endpoint_url=WHERE), f"cannot reach {WHERE}", 1),
    (NoCredentialsError(), f"no usable AWS credentials for {WHERE}", 1),
    (client_error("InvalidClientTokenId"), f"ListBuckets at {WHERE} refused the credentials (InvalidClientTokenId", 1),
    (client_error("AccessDeniedException"), f"ListBuckets at {WHERE} was denied (AccessDeniedException: told so)", 1),
    (client_error("ResourceNotFoundException"), "found nothing (ResourceNotFoundException: told so): is the "
                                                "pipeline provisioned there? run `lakebox up`", 1),
    (client_error("ThrottlingException", "slow down"), f"ListBuckets at {WHERE} failed (ThrottlingException: slow "
                                                       "down)", 1),
    (TimeoutError("gave up after 5 s waiting for the query"), "gave up after 5 s waiting for the query", 1),
    (FileNotFoundError("no such file or folder: x.csv"), "no such file or folder: x.csv", 1),
    (RuntimeError("boom"), "unexpected RuntimeError: boom (a bug in lakebox; set LAKEBOX_DEBUG=1", 1),
], ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None)
def test_each_kind_of_failure_says_what_failed_in_one_line(error: Exception, says: str, code: int) -> None:
    failure = failure_of(error, WHERE)

    assert says in failure.message
    assert "\n" not in failure.message
    assert failure.exit_code == code


def test_an_unreachable_endpoint_says_what_to_do() -> None:
    message = failure_of(EndpointConnectionError(endpoint_url=WHERE), WHERE).message

    assert "lakebox up" in message and "AWS_ENDPOINT_URL" in message


def bootstrap_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lakebox_bootstrap", PROJECT_ROOT / "infra" / "bootstrap.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("variable", "value"), [("LAKEBOX_STREAM_WINDOW_S", "900"), ("LAKEBOX_PROJECT", "x")])
def test_bootstrap_refuses_a_bad_setting_before_any_call(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture, variable: str,
                                                         value: str) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.delenv("LAKEBOX_DEBUG", raising=False)

    def never(*args: Any, **kwargs: Any) -> Provisioner:
        raise AssertionError("bootstrap reached for AWS before checking its settings")

    monkeypatch.setattr(Provisioner, "connect", never)
    with caplog.at_level(logging.INFO, logger="lakebox.bootstrap"):
        code = bootstrap_module().main([])

    assert code == 2
    [failed] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert failed.startswith("bootstrap failed: ") and variable.removeprefix("LAKEBOX_").lower() in failed.lower()


def test_bootstrap_ends_an_aws_refusal_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("LAKEBOX_DEBUG", raising=False)
    for variable in ("LAKEBOX_PROJECT", "LAKEBOX_STREAM_MAX_RECORDS", "LAKEBOX_STREAM_MAX_BYTES",
                     "LAKEBOX_STREAM_WINDOW_S"):
        monkeypatch.delenv(variable, raising=False)

    def refused(*args: Any, **kwargs: Any) -> Provisioner:
        raise client_error("ExpiredToken", "The security token included in the request is expired",
                           "GetCallerIdentity")

    monkeypatch.setattr(Provisioner, "connect", refused)
    with caplog.at_level(logging.INFO, logger="lakebox.bootstrap"):
        code = bootstrap_module().main([])

    assert code == 1
    [failed] = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "GetCallerIdentity" in failed and "refused the credentials (ExpiredToken" in failed


def test_failure_is_a_line_and_a_code() -> None:
    assert Failure("x") == Failure("x", 1)
