"""What an AWS error code means, for every adapter and for provisioning: the one place that reads `ClientError`
codes (never message text)."""

from __future__ import annotations

from botocore.exceptions import ClientError

# "Does not exist", as each service says it.
NOT_FOUND = frozenset({
    "NoSuchEntity", "ResourceNotFoundException", "EntityNotFoundException", "NoSuchBucket", "NoSuchKey",
    "NoSuchVersion", "404", "NotFound", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
    "ServerSideEncryptionConfigurationNotFoundError", "NoSuchPublicAccessBlockConfiguration", "NoSuchBucketPolicy",
    "NoSuchTagSet", "NoSuchLifecycleConfiguration", "NotFoundException",
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
    """Whether the error says the thing asked for does not exist (asked by name: a listing names nothing that could
    be missing, see `cannot_list`)."""
    return error_code(error) in NOT_FOUND


def unavailable(error: ClientError) -> bool:
    """Whether the error says the endpoint does not offer the service."""
    return error_code(error) in UNAVAILABLE


def cannot_list(error: ClientError) -> bool:
    """Whether the error, answering a call that lists a service's resources (ListWorkGroups, GetDatabases,
    ListTopics: one that names no resource), says the endpoint does not offer the service.

    Such a call has no resource to be missing, so a not-found answer means the operation itself is: an endpoint
    without it answers a plain 404 (moto's mock: "Not yet implemented"), as others say outright with the codes of
    UNAVAILABLE. On a call that names a resource (a get, describe or head, or a listing inside one resource, like
    ListTagsForResource) the same codes mean that resource is missing: see `missing`.
    """
    return unavailable(error) or missing(error)


def credentials_refused(error: ClientError) -> bool:
    """Whether the service did not accept the caller's credentials at all."""
    return error_code(error) in CREDENTIALS_REFUSED


def access_denied(error: ClientError) -> bool:
    """Whether the caller is known to the service but not allowed the call."""
    return error_code(error) in ACCESS_DENIED
