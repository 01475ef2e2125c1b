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


def error_code(error: ClientError) -> str:
    """The service's error code, or "" when the response carries none."""
    return str(error.response.get("Error", {}).get("Code", ""))


def missing(error: ClientError) -> bool:
    """Whether the error says the thing asked for does not exist."""
    return error_code(error) in NOT_FOUND


def unavailable(error: ClientError) -> bool:
    """Whether the error says the endpoint does not offer the service."""
    return error_code(error) in UNAVAILABLE
