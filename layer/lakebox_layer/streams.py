"""Byte streams the parsers read: the protocol they need, gzip decompressed on the fly with a limit, so a gzip
bomb is refused rather than expanded, and a stream cut into pieces at record boundaries."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import Protocol

from lakebox_layer.exceptions import ContentRejected

# A gzip is refused as a bomb past 4 GiB decompressed, or past 16 MiB when it expands more than 100 times (text
# compresses 5-20 times; a bomb thousands of times). A file of 1 GiB, gzipped, goes through; one too large for a
# stage's time limit ends failed there (lakebox_layer.time_limit).
MAX_DECOMPRESSED_BYTES = 4 * 1024 * 1024 * 1024
SUSPICIOUS_BYTES = 16 * 1024 * 1024
MAX_RATIO = 100


class BinaryStream(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Counted:
    """Counts the compressed bytes read, for the expansion ratio."""

    def __init__(self, stream: BinaryStream) -> None:
        self._stream = stream
        self.total = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.total += len(data)
        return data


class _Limited:
    """A decompressed stream that refuses to grow past a limit (a gzip bomb), and reports corrupt input clearly."""

    def __init__(self, stream: BinaryStream, limit: int) -> None:
        self._counted = _Counted(stream)
        self._gzip = gzip.GzipFile(fileobj=self._counted, mode="rb")  # type: ignore[call-overload]
        self._limit = limit
        self.total = 0

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._gzip.read(size)
        except (OSError, EOFError, zlib.error) as error:
            raise ContentRejected(f"corrupt gzip: {error}") from error
        self.total += len(data)
        if self.total > self._limit:
            raise ContentRejected(f"gzip expands beyond {self._limit:,} bytes: refused as a possible gzip bomb")
        if self.total > min(SUSPICIOUS_BYTES, self._limit) and self.total > MAX_RATIO * self._counted.total:
            raise ContentRejected(
                f"gzip expands more than {MAX_RATIO} times ({self._counted.total:,} bytes to over "
                f"{self.total:,}): refused as a possible gzip bomb"
            )
        return data


def decompressed(stream: BinaryStream, compression: str | None, limit: int = MAX_DECOMPRESSED_BYTES) -> BinaryStream:
    if compression is None:
        return stream
    if compression == "gzip":
        return _Limited(stream, limit)
    raise ContentRejected(f"unsupported compression: {compression}")


def record_end(data: bytes, quoted: bool, last: bool = True, limit: int | None = None) -> int:
    """Where the last (or the first) complete record of `data[:limit]` ends: just after a newline outside quotes (an
    even count of `"` before it, as CSV doubles a quote inside a quoted value); 0 when there is none. `data` starts
    outside quotes. JSON Lines (`quoted` False) ends a record at every newline."""
    limit = len(data) if limit is None else min(limit, len(data))
    if not last:
        start = 0
        while (newline := data.find(b"\n", start, limit)) >= 0:
            if not quoted or data.count(b'"', 0, newline) % 2 == 0:
                return newline + 1
            start = newline + 1
        return 0
    end = data.rfind(b"\n", 0, limit)
    if not quoted:
        return end + 1
    quotes = data.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        previous = data.rfind(b"\n", 0, end)
        quotes -= data.count(b'"', previous + 1, end)
        end = previous
    return end + 1


def record_pieces(stream: BinaryStream, chunk_bytes: int, quoted: bool) -> Iterator[bytes]:
    """The stream in pieces of at most `chunk_bytes`, each ending at a record boundary (the last one where the
    stream ends); a record longer than `chunk_bytes` is a piece of its own."""
    pending = b""
    while True:
        block = stream.read(max(chunk_bytes - len(pending), min(chunk_bytes, 64 * 1024)))
        if not block:
            if pending:
                yield pending
            return
        pending += block
        while len(pending) >= chunk_bytes:
            cut = record_end(pending, quoted, limit=chunk_bytes) or record_end(pending, quoted, last=False)
            if not cut:
                break  # a record longer than what is read so far: read on
            yield pending[:cut]
            pending = pending[cut:]
