"""What a failure at the command line says: one line that names what failed and what to do, and an exit code (1, or
2 for a usage error or a bad setting). `lakebox` and `python infra/bootstrap.py` both end every failure here, so
neither ever shows a traceback for something a user can get wrong or put right."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from lakebox_layer.adapters.errors import access_denied, credentials_refused, error_code, missing
from lakebox_layer.exceptions import LakeboxError

# Set to see the traceback of an unexpected failure (a bug), which is otherwise one line too.
DEBUG_VARIABLE = "LAKEBOX_DEBUG"


@dataclass(frozen=True)
class Failure:
    """One line for stderr and the exit code."""

    message: str
    exit_code: int = 1
    # Whether the failure found a resource missing, which `lakebox up` would create: the lake may no longer be as
    # it was last provisioned.
    missing_resource: bool = False


def _aws_refusal(error: ClientError, where: str) -> str:
    code = error_code(error) or "an error"
    told = str(error.response.get("Error", {}).get("Message") or "").strip()
    call = f"{error.operation_name} at {where}"
    detail = f"{code}{f': {told}' if told else ''}"
    if credentials_refused(error):
        return (f"{call} refused the credentials ({detail}): check AWS_ACCESS_KEY_ID / AWS_PROFILE, or after "
                "`lakebox up --strict-iam` run `lakebox up --strict-iam` again for fresh operator keys")
    if access_denied(error):
        return (f"{call} was denied ({detail}): the identity lakebox acts as is not allowed this; use one that "
                "is (on the embedded emulator, `lakebox up` without --strict-iam acts as root)")
    if missing(error):
        return (f"{call} found nothing ({detail}): is the pipeline provisioned there? run `lakebox up` (or "
                "`python infra/bootstrap.py`)")
    return f"{call} failed ({detail})"


def failure_of(error: Exception, where: str) -> Failure:
    """What to say about `error`, raised while talking to `where` (an endpoint, or "AWS (<region>)")."""
    if isinstance(error, LakeboxError):
        return Failure(str(error), error.exit_code)
    if isinstance(error, ConnectionError):
        return Failure(f"cannot reach {where} ({error}): start the embedded emulator with `lakebox up`, start "
                       "your own and point AWS_ENDPOINT_URL at it, or unset AWS_ENDPOINT_URL to use AWS")
    if isinstance(error, (NoCredentialsError, PartialCredentialsError, ProfileNotFound)):
        return Failure(f"no usable AWS credentials for {where} ({error}): set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                       "AWS_SECRET_ACCESS_KEY, or use the embedded emulator (`lakebox up`)")
    if isinstance(error, NoRegionError):
        return Failure(f"no AWS region for {where}: set AWS_REGION")
    if isinstance(error, ClientError):
        return Failure(_aws_refusal(error, where), missing_resource=missing(error))
    if isinstance(error, BotoCoreError):
        return Failure(f"the AWS call to {where} failed: {error}")
    if isinstance(error, (TimeoutError, FileNotFoundError, PermissionError, IsADirectoryError)):
        return Failure(str(error))
    if isinstance(error, OSError):
        return Failure(f"{type(error).__name__}: {error}")
    return Failure(f"unexpected {type(error).__name__}: {error} (a bug in lakebox; set {DEBUG_VARIABLE}=1 to see "
                   "where)")
