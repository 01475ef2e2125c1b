"""The AWS reads behind `lakebox docs`: every stage record (the status index), the published contracts (the metadata
table), the error reports (S3) and, per file page, what a trace reads (S3 versions and heads; no log lines)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox.trace.logs import LogLine, LogsUnavailable
from lakebox.trace.sources import LakeSources
from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.contracts import Contract
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.routing import Destination

if TYPE_CHECKING:
    from lakebox.lake.target import Target


class RecordedSources:
    """A trace's reads with the stage records already in hand: S3 is still asked for versions and outputs, the log
    lines are left out (reading CloudWatch for hundreds of files would make a site take minutes)."""

    def __init__(self, lake: LakeSources, records: list[dict[str, Any]]) -> None:
        self._lake = lake
        self.raw_bucket = lake.raw_bucket
        self.database = lake.database
        self._by_key: dict[str, list[dict[str, Any]]] = {}
        self._by_process: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            self._by_key.setdefault(str(record["RawKey"]), []).append(record)
            self._by_process.setdefault(str(record["ProcessId"]), []).append(record)

    def versions(self, key: str) -> list[dict[str, Any]]:
        return self._lake.versions(key)

    def key_records(self, key: str) -> list[dict[str, Any]]:
        return list(self._by_key.get(key, []))

    def process_records(self, process_id: str) -> list[dict[str, Any]]:
        return list(self._by_process.get(process_id, []))

    def head(self, uri: str) -> tuple[bool | None, int | None]:
        return self._lake.head(uri)

    def log_lines(self, process_id: str, start: datetime) -> list[LogLine]:
        raise LogsUnavailable("log lines are not part of the data docs: `lakebox trace` shows them")


class DocsSources:
    """What a data-docs site is built from, read from one pipeline."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._contracts = ContractStore(target.clients.dynamodb, target.settings.metadata_table)
        self.lake = LakeSources.of(target)

    def records(self) -> list[dict[str, Any]]:
        """Every stage record of every raw file (all attributes: rule counts, quarantine destinations...)."""
        return self._target.metadata.file_records(self._target.project)

    def contract(self, dataset: str) -> Contract | None:
        """The dataset's published contract; None when it has none (or it cannot be read as one)."""
        if dataset not in self._contracts.published_datasets():
            return None
        try:
            return self._contracts.contract_for(dataset)
        except ContractInvalid:
            return None

    def error_report(self, uri: str) -> dict[str, Any] | None:
        """The JSON error report at `uri`; None when it is gone or not JSON."""
        where = Destination.of(uri)
        try:
            body = self._target.clients.s3.get_object(Bucket=where.bucket, Key=where.key)["Body"].read()
            report = json.loads(body)
        except (ClientError, ValueError):
            return None
        return report if isinstance(report, dict) else None

    def trace_sources(self, records: list[dict[str, Any]]) -> RecordedSources:
        return RecordedSources(self.lake, records)
