"""Byte streams the parsers read: the protocol they need, and gzip decompressed on the fly with a limit, so a gzip
bomb is refused rather than expanded."""

from __future__ import annotations

import gzip
import zlib
from typing import Protocol

from lakebox_layer.exceptions import ContentRejected

# A gzip is refused as a bomb past 1 GiB decompressed, or past 16 MiB when it expands more than 100 times (text
# compresses 5-20 times; a bomb thousands of times).
MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024
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
