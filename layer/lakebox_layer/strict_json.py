"""JSON decoding strict enough for records: no NaN or Infinity, duplicate keys noticed."""

from __future__ import annotations

import json
from typing import Any


class StrictJson:
    """JSON decoding that refuses NaN and Infinity (not JSON) and notices duplicate keys (ambiguous records).

    `duplicates` lists the keys seen twice in the last decoded value; a value nested too deeply raises
    RecursionError, which callers turn into a reason.
    """

    def __init__(self) -> None:
        self.duplicates: list[str] = []
        self.decoder = json.JSONDecoder(object_pairs_hook=self._object, parse_constant=self._constant)

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs):
            seen: set[str] = set()
            self.duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return value

    @staticmethod
    def _constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    def loads(self, text: str) -> Any:
        self.duplicates = []
        return self.decoder.decode(text)

    def raw_decode(self, text: str, position: int) -> tuple[Any, int]:
        self.duplicates = []
        return self.decoder.raw_decode(text, position)

    def problem(self) -> str | None:
        """Why the last decoded value is not an acceptable record, beyond its syntax."""
        if self.duplicates:
            return f"duplicate key {self.duplicates[0]!r}"
        return None
