"""Where a judged file goes: pure naming, no AWS."""

from __future__ import annotations

from dataclasses import dataclass

from lakebox_layer.records import RawObject, relative_name
from lakebox_layer.settings import Settings

PROCESSED_PREFIX = "validated"
QUARANTINE_PREFIX = "quarantine"
ERROR_REPORT_SUFFIX = ".error.json"


@dataclass(frozen=True)
class Destination:
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def processed_destination(raw: RawObject, settings: Settings) -> Destination:
    return Destination(settings.processed_bucket, f"{PROCESSED_PREFIX}/{raw.dataset}/{relative_name(raw.key)}")


def quarantine_destination(raw: RawObject, settings: Settings) -> Destination:
    return Destination(settings.quarantine_bucket, f"{QUARANTINE_PREFIX}/{raw.dataset}/{relative_name(raw.key)}")


def error_report_destination(quarantined: Destination) -> Destination:
    """The JSON error report lives beside the quarantined copy."""
    return Destination(quarantined.bucket, quarantined.key + ERROR_REPORT_SUFFIX)
