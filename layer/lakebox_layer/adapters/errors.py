"""What an AWS error code means, for every adapter and for provisioning: the one place that reads `ClientError`
codes (never message text)."""

from __future__ import annotations

from botocore.exceptions import ClientError

# "Does not exist", as each service says it.
NOT_FOUND = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "EntityNotFoundException", "NoSuchBucket", "NoSuchKey",
    "NoSuchVersion", "404", "NotFound", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
    "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
    "NoSuchTagSet",
})
# The endpoint does not offer the service at all (an emulator without Glue, say).
UNAVAILABLE = frozenset({"InternalFailure", "NotImplemented", "UnknownOperationException", "InvalidAction", "501"})
# The caller's credentials were not accepted: unknown, malformed, badly signed or expired.
CREDENTIALS_REFUSED = frozenset({
    "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId", "SignatureDoesNotMatch",
    "IncompleteSignature", "MissingAuthenticationToken", "InvalidToken", "ExpiredToken", "ExpiredTokenException",
    "AuthFailure",
})
# The caller is known but not allowed to do this.
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
                           "Forbidden", "403"})


def error_code(error: ClientError) -> str:
    """The service's error code, or "" when the response carries none."""
    return str(error.response.get("Error", {}).get("Code", ""))


def missing(error: ClientError) -> bool:
    """Whether the error says the thing asked for does not exist."""
    return error_code(error) in NOT_FOUND


def unavailable(error: ClientError) -> bool:
    """Whether the error says the endpoint does not offer the service."""
    return error_code(error) in UNAVAILABLE


def credentials_refused(error: ClientError) -> bool:
    """Whether the service did not accept the caller's credentials at all."""
    return error_code(error) in CREDENTIALS_REFUSED


def access_denied(error: ClientError) -> bool:
    """Whether the caller is known to the service but not allowed the call."""
    return error_code(error) in ACCESS_DENIED
