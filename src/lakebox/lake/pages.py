"""`lakebox status` a page of files at a time.

A page is read from the status index in its own order, by raw key, so it costs what it holds however full the lake
is; the token that names the next page is the last key shown (and how many files came before), and `--next` finds
the token the previous page saved beside the emulator's state.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from lakebox.exceptions import UsageError
from lakebox.lake.metadata import KeyPage
from lakebox_layer.status import FileRow, fold_status, status_json

# Files on a page unless told otherwise: a screenful.
DEFAULT_PAGE_FILES = 50
CURSOR_FILE = "status-cursor.json"


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

    def to_json(self, held: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The page's rows (each with why it waits, from `held` by process id), where it starts, the next page."""
        return {"files": [status_json(row, held or {}) for row in self.rows], "first": self.first,
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
