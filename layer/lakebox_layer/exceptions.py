"""Every failure the layer raises; adapters map AWS error codes to these, never message text."""

from __future__ import annotations

from typing import ClassVar


class LakeboxError(Exception):
    """Base class of every lakebox error. At the command line one ends in one line on stderr (its message, which
    says what failed and what to do) and `exit_code`."""

    exit_code: ClassVar[int] = 1


class SettingsInvalid(LakeboxError, ValueError):
    """A setting (an environment variable such as `LAKEBOX_STREAM_MAX_RECORDS`, or a project name) holds a value
    lakebox cannot use; refused before anything starts, like a bad option (exit code 2)."""

    exit_code = 2


class ContentRejected(LakeboxError):
    """The file's content cannot be read as its format (undecodable, malformed, too large); the file is quarantined."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ContractInvalid(LakeboxError):
    """A contract document is malformed; it is refused at publish time and never applied."""


class OutOfTime(LakeboxError):
    """A file whose records could not all be read within the function's time limit, though it had the invocation to
    itself: too large for the stage; it ends `failed` with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BatchOutOfTime(LakeboxError):
    """A file stopped when the time was up, after other files of its batch took most of it: retried."""


class RawObjectMissing(LakeboxError):
    """The raw object named by an event no longer exists."""


class StageAlreadyRecorded(LakeboxError):
    """A stage record for this process id exists already: a duplicate delivery."""


class IngestionFailed(LakeboxError):
    """Some objects of a notification could not be ingested; the event is retried and the rest deduplicated."""


class StorageError(LakeboxError):
    """S3 refused a read or write for a reason other than a missing raw object."""


class MetadataError(LakeboxError):
    """The metadata table refused a read or write."""


class PublishError(LakeboxError):
    """EventBridge did not accept an event."""


class MetricsError(LakeboxError):
    """CloudWatch did not accept the quality metrics."""


class CurationRejected(LakeboxError):
    """A processed file's rows cannot become the table's typed columns (a value that does not cast to the column's
    type, clashing column names); its curation ends failed with this reason and the validated copy stays."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CatalogError(LakeboxError):
    """The Glue catalog refused a read or write."""


class LedgerConflict(LakeboxError):
    """A shard's stream ledger changed since it was read (another invocation claimed or committed): the batch is
    retried and reads the ledger again."""


class BatchHeld(LakeboxError):
    """A young batch, below the bounds, held back so that more records join it: where the stream's mapping ignores
    its batching window, the batcher applies it by failing the invocation, and the batch comes back larger."""


class StreamPlanMismatch(LakeboxError):
    """A redelivered batch does not give again the plan its shard's ledger holds as pending (records missing, or
    different bytes): nothing is written and the batch is retried rather than guessed at."""


class ProtectedValueInvalid(LakeboxError, ValueError):
    """A protected value is not lbx1 ciphertext, or does not decrypt under its key for its column; nothing is shown."""


class KeyAccessDenied(LakeboxError):
    """KMS refused the caller a personal-data key for an action; the message names the key and the action."""

    def __init__(self, key_id: str, action: str, code: str) -> None:
        super().__init__(f"{action} on {key_id} refused: this identity is not allowed it ({code})")
        self.key_id = key_id
        self.action = action


class KeyServiceError(LakeboxError):
    """KMS failed a personal-data key operation for a reason other than access (missing key, wrong context, ...)."""


class FreeTextUnavailable(LakeboxError):
    """Comprehend's DetectPiiEntities cannot be asked about free text: the endpoint does not offer it (an emulator)
    or cannot be reached, or the caller may not call it (:class:`FreeTextAccessDenied`); free text is then judged by
    patterns only. `reason` says which, naming no value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FreeTextAccessDenied(FreeTextUnavailable):
    """The caller may not call comprehend:DetectPiiEntities: free text goes unasked, as where Comprehend is absent."""

    def __init__(self, code: str) -> None:
        super().__init__(f"comprehend:DetectPiiEntities refused: this identity is not allowed it ({code})")
        self.code = code


class FreeTextError(LakeboxError):
    """Comprehend failed DetectPiiEntities for another reason (throttled past the retries, an internal error): the
    file fails and is retried with its event."""


class LakeFormationError(LakeboxError):
    """Lake Formation refused to tag a table's columns for a reason other than not being offered (access, a missing
    tag or column, ...); the message names the table, the columns and the code."""


class ProducerRefused(LakeboxError, ValueError):
    """A producer cannot be made, found or revoked as asked: a bad name or dataset, a name in use, an unknown name
    (exit code 2, like any usage error)."""

    exit_code = 2


class NotAJsonObject(LakeboxError):
    """A record to send to the ingest stream is not a JSON object; refused before anything is sent."""


class RecordTooLarge(LakeboxError):
    """An entry larger than Kinesis takes in one record; refused before its call is made."""
