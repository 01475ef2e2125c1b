"""Personal data in a file's columns: each sampled value classified, each column judged by its share of a class.

The first `SAMPLE_RECORDS` records of a file are sampled (a CSV's columns, a JSON record's top-level fields). A
column is of a class when at least `DEFAULT_THRESHOLD` (80 %) of its non-empty sampled values are of that class;
the threshold is a parameter of `ColumnSampler.classify` (a contract sets it as `policy.pii_threshold`). What
counts as a non-empty value (the denominator): a string that is not blank, an integer or a float. None, blanks,
booleans and nested values (objects, arrays) are not counted, so blanks never dilute a column. A string longer
than `MAX_VALUE_CHARS` (after stripping) is counted but is never a candidate (free text). A column with a single
non-empty value is judged on it alone, as a small file's columns are.

The sampler keeps counts, never values: per column, the non-empty values seen and the hits per class, for at most
`MAX_COLUMNS` columns (later ones are not sampled).

What a value is, is :mod:`lakebox_layer.detectors`'s to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakebox_layer.detectors import CLASSES, MAX_VALUE_CHARS, PHONE_REGIONS, PiiClass, classify_value, value_index

__all__ = ["DEFAULT_THRESHOLD", "MAX_COLUMNS", "MAX_VALUE_CHARS", "PHONE_REGIONS", "SAMPLE_RECORDS", "ColumnSampler",
           "PiiClass", "classify_value"]

SAMPLE_RECORDS = 1000
DEFAULT_THRESHOLD = 0.8
# Columns sampled per file; fields first seen after these are not (JSON records may carry any number of keys).
MAX_COLUMNS = 1000


class ColumnSampler:
    """Samples the first `records` records of a file, column by column, in memory that does not grow with the
    file or its values: per column, the non-empty values seen and the hits per class."""

    def __init__(self, records: int = SAMPLE_RECORDS) -> None:
        if records < 0:
            raise ValueError(f"records must be 0 or more, not {records}")
        self._records = records
        self._added = 0
        # column -> [non-empty values, hits of each class in PiiClass order]
        self._counts: dict[str, list[int]] = {}

    def add(self, fields: Mapping[str, Any]) -> None:
        """Sample one record's top-level fields; a no-op once `records` records were added."""
        if self._added >= self._records:
            return
        self._added += 1
        counts = self._counts
        for name, value in fields.items():
            column = counts.get(name)
            if column is None:
                if len(counts) >= MAX_COLUMNS:
                    continue
                column = counts[name] = [0] * (len(CLASSES) + 1)
            index = value_index(value)
            if index >= 0:
                column[0] += 1
                if index:
                    column[index] += 1

    @property
    def full(self) -> bool:
        """True once `records` records were added: further records are not sampled."""
        return self._added >= self._records

    def classify(self, threshold: float = DEFAULT_THRESHOLD) -> dict[str, PiiClass]:
        """Column -> class for the columns where the class's share of the non-empty sampled values reaches
        `threshold` (0 < threshold <= 1), in the order the columns were first seen."""
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be above 0 and at most 1, not {threshold}")
        found: dict[str, PiiClass] = {}
        for name, column in self._counts.items():
            non_empty = column[0]
            if not non_empty:
                continue
            hits = max(column[1:])
            if hits and hits / non_empty >= threshold:
                found[name] = CLASSES[column.index(hits, 1) - 1]
        return found
