"""Test streams shared by the parser tests."""

from __future__ import annotations


class Trickle:
    """A stream that returns at most `step` bytes per read, like a network body delivering small chunks."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._step = step
        self._position = 0

    def read(self, size: int = -1, /) -> bytes:
        amount = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._position : self._position + amount]
        self._position += len(chunk)
        return chunk
