"""Folding stage records into one status row per raw file, a page of files at a time: what `lakebox status` shows.

A page is read from the status index in its own order, by raw key, so it costs what it holds however full the lake
is; the token that names the next page is the last key shown (and how many files came before), and `--next` finds
the token the previous page saved beside the emulator's state.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from lakebox.exceptions import UsageError
from lakebox.metadata import KeyPage
from lakebox_layer.records import FileStatus, Stage

# Files on a page unless told otherwise: a screenful.
DEFAULT_PAGE_FILES = 50
CURSOR_FILE = "status-cursor.json"


@dataclass(frozen=True)
class FileRow:
    key: str
    status: FileStatus
    quality_score: float | None
    errors: list[str]
    destination: str | None
    process_id: str
    records_total: int | None = None
    records_valid: int | None = None
    # Every stage that recorded this process, in pipeline order: a status is final only once the stages after it
    # (quality, curation) have recorded too.
    stages: tuple[str, ...] = ()

    @property
    def records_invalid(self) -> int | None:
        """Always records_total - records_valid, so valid + invalid == total holds by construction."""
        if self.records_total is None or self.records_valid is None:
            return None
        return self.records_total - self.records_valid

    def recorded(self, stage: Stage) -> bool:
        """Whether the stage has written its record of this process."""
        return stage.value in self.stages

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["status"] = self.status.value
        row["records_invalid"] = self.records_invalid
        row["stages"] = list(self.stages)
        return row


def _stage_order(record: dict[str, Any]) -> str:
    # The sort key ends with "#<order>-<stage>"; the later stage wins.
    return str(record["Timestamp"]).rsplit("#", 1)[-1]


def stage_of(record: dict[str, Any]) -> str:
    """The stage that wrote a record, read from its sort key."""
    return _stage_order(record).partition("-")[2]


def arrival_of(record: dict[str, Any]) -> str:
    """When the raw object version of a record arrived: the sort key before its stage."""
    return str(record["Timestamp"]).rsplit("#", 1)[0]


def row_of(record: dict[str, Any]) -> FileRow:
    """The row one record gives; a record without a status (quality, curation) says the file is in progress."""
    return FileRow(
        key=record["RawKey"],
        status=FileStatus(record.get("Status", FileStatus.IN_PROGRESS)),
        quality_score=record.get("QualityScore"),
        errors=list(record.get("Errors", [])),
        destination=record.get("Destination"),
        process_id=record["ProcessId"],
        records_total=record.get("RecordsTotal"),
        records_valid=record.get("RecordsValid"),
    )


def _furthest(records: list[dict[str, Any]]) -> dict[str, Any]:
    return max(records, key=lambda record: (_stage_order(record), str(record["Timestamp"])))


def _process_row(records: list[dict[str, Any]]) -> FileRow:
    """The status of the furthest record that has one; quality and curation records only add to the stages."""
    with_status = [record for record in records if "Status" in record]
    furthest = _furthest(with_status or records)
    orders = sorted({_stage_order(record) for record in records})
    return replace(row_of(furthest), stages=tuple(order.partition("-")[2] for order in orders))


def rows_by_process(records: Iterable[dict[str, Any]]) -> dict[str, FileRow]:
    """Each process (raw object version) at the furthest stage that recorded a status for it, with every stage
    recorded for it."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(record["ProcessId"], []).append(record)
    return {process_id: _process_row(group) for process_id, group in grouped.items()}


def latest_versions(records: Iterable[dict[str, Any]]) -> set[str]:
    """The process ids of each raw key's latest object version: the latest arrival, and, because S3's Last-Modified
    (which the arrival is) has whole seconds, between versions that arrived within one second the one ingested
    later (its first record written later)."""
    order: dict[str, tuple[str, str]] = {}
    keys: dict[str, str] = {}
    for record in records:
        pid, recorded = str(record["ProcessId"]), str(record.get("RecordedAt", ""))
        arrival, first = order.get(pid, (arrival_of(record), recorded))
        order[pid] = (arrival, min(first, recorded))
        keys[pid] = str(record["RawKey"])
    latest: dict[str, str] = {}
    for pid, key in keys.items():
        if key not in latest or order[pid] > order[latest[key]]:
            latest[key] = pid
    return set(latest.values())


def fold_status(records: Iterable[dict[str, Any]]) -> list[FileRow]:
    """One row per raw key: its latest object version, at the furthest stage recorded for it."""
    records = list(records)
    latest = latest_versions(records)
    rows = [row for pid, row in rows_by_process(records).items() if pid in latest]
    return sorted(rows, key=lambda row: row.key)


# -- pages ----------------------------------------------------------------------------------------------------------

class BadPageToken(ValueError):
    """A page token `lakebox status` did not print."""


@dataclass(frozen=True)
class PageToken:
    """Where the next page starts: after the key `after`, with `shown` files on the pages before it."""

    after: str
    shown: int

    def encode(self) -> str:
        text = json.dumps({"after": self.after, "shown": self.shown}, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PageToken:
        try:
            fields = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            after, shown = fields["after"], fields["shown"]
        except (binascii.Error, ValueError, TypeError, KeyError) as error:
            raise BadPageToken(f"not a page token of `lakebox status`: {token!r}") from error
        if not isinstance(after, str) or not isinstance(shown, int) or isinstance(shown, bool) or shown < 0:
            raise BadPageToken(f"not a page token of `lakebox status`: {token!r}")
        return cls(after, shown)


@dataclass(frozen=True)
class StatusPage:
    """One page of `lakebox status`: its rows in key order, the position of its first row (1 for the first page)
    and the token of the next page (None on the last)."""

    rows: list[FileRow]
    first: int
    next_token: str | None

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    def to_json(self) -> dict[str, Any]:
        return {"files": [row.to_json() for row in self.rows], "first": self.first,
                "next_page_token": self.next_token}


class StatusReader(Protocol):
    def key_page(self, pipeline: str, limit: int, after: str | None = None) -> KeyPage: ...

    def status_records(self, pipeline: str) -> list[dict[str, Any]]: ...


def every_row(reader: StatusReader, pipeline: str) -> list[FileRow]:
    """Every file's row at once (`--all`), read with only the attributes a row is folded from."""
    return fold_status(reader.status_records(pipeline))


def read_page(reader: StatusReader, pipeline: str, limit: int, token: PageToken | None = None) -> StatusPage:
    """The page of `limit` files that `token` names (the first page without one)."""
    page = reader.key_page(pipeline, limit, token.after if token else None)
    rows = fold_status(page.records)
    shown = token.shown if token else 0
    following = PageToken(page.last_key, shown + len(rows)).encode() if page.last_key is not None else None
    return StatusPage(rows, shown + 1, following)


@dataclass(frozen=True)
class Cursor:
    """What `--next` continues from: the next page's token for one pipeline at one place, and the page size."""

    where: str
    pipeline: str
    limit: int
    token: str | None

    @classmethod
    def load(cls, directory: Path) -> Cursor | None:
        try:
            saved = json.loads((directory / CURSOR_FILE).read_text(encoding="utf-8"))
            return cls(str(saved["where"]), str(saved["pipeline"]), int(saved["limit"]), saved["token"])
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, directory: Path) -> None:
        """Remember the cursor; a folder that cannot be written only costs `--next` (the token is printed too)."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / CURSOR_FILE).write_text(json.dumps(asdict(self)), encoding="utf-8")
        except OSError:
            return


def page_asked_for(reader: StatusReader, where: str, pipeline: str, state: Path, limit: int | None,
                   token: str | None, next_page: bool) -> StatusPage:
    """The page `lakebox status` was asked for (the first, the one `token` names, or with `next_page` the one after
    the page shown last at `where`); remembers in `state` where the next one starts. UsageError when there is no
    such page to follow or the token is not one."""
    start: PageToken | None = None
    if next_page:
        cursor = Cursor.load(state)
        if cursor is None or (cursor.where, cursor.pipeline) != (where, pipeline):
            raise UsageError(f"no page to follow at {where}: run `lakebox status` first")
        if cursor.token is None:
            raise UsageError("the last `lakebox status` showed the last page: run `lakebox status` to start again")
        token, limit = cursor.token, limit or cursor.limit
    if token is not None:
        try:
            start = PageToken.decode(token)
        except BadPageToken as error:
            raise UsageError(str(error)) from error
    size = limit or DEFAULT_PAGE_FILES
    page = read_page(reader, pipeline, size, start)
    Cursor(where, pipeline, size, page.next_token).save(state)
    return page
