"""AWS errors as botocore raises them, and lakebox's wrappers of them, for tests of how failures are classified."""

from __future__ import annotations

from botocore.exceptions import ClientError


def client_error(code: str, status: int = 400, operation: str = "GetObject", message: str = "") -> ClientError:
    """A refusal with this code and HTTP status (its message is never read by the classifier)."""
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)  # type: ignore[typeddict-item]


def wrapped(wrapper: BaseException, cause: BaseException) -> BaseException:
    """`wrapper` as `raise wrapper from cause` leaves it, as the adapters raise their errors."""
    wrapper.__cause__ = cause
    return wrapper
