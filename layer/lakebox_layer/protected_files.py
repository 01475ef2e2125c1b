"""A processed file rewritten with its personal data protected, before curation writes it as Parquet.

Every value of a protected column (see :mod:`lakebox_layer.privacy`) is replaced as its plan says: ciphertext under
a data key of the file's column (`encrypt`, in production), a deterministic mask (`mask`, and `encrypt` outside
production), or nothing (`drop`, `token`); `encrypt` and `token` add the value's token in `<column>_token`. Only top
level values are protected (nested values are not classified either). A value that is not text is protected as its
text (a number as written, a nested value as JSON), and an empty value stays empty.

The file is streamed a batch of rows at a time, in memory that does not follow the file: CSV stays CSV (its
delimiter, its header with the token columns after their columns) and JSON Lines stays JSON Lines; a JSON
document (read whole, as curation reads it) becomes JSON Lines. The data keys it used are handed back: their wrapped
copies go with the file (the Parquet's metadata and the curation record), so a steward can reveal the values.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakebox_layer import ports
from lakebox_layer.adapters.keys import DataKey
from lakebox_layer.parsing import csv_dialect
from lakebox_layer.privacy import ColumnPlan
from lakebox_layer.protection import Encryptor, Masker, ProtectMode, Tokenizer, token_column
from lakebox_layer.records import FileFormat
from lakebox_layer.streams import BinaryStream, decompressed

# Rows protected at a time: each column's values go through the cipher, the hash or the mask together.
BATCH_ROWS = 4096


@dataclass
class ColumnProtector:
    """The protection of one file's columns: the dataset's token key and, in production, a data key per encrypted
    column, asked for once, the first time a value needs it."""

    dataset: str
    keys: ports.PersonalDataKeys
    production: bool
    data_keys: dict[str, DataKey] = field(default_factory=dict)
    _encryptors: dict[str, Encryptor] = field(default_factory=dict, repr=False)
    _tokens: Tokenizer | None = field(default=None, repr=False)
    _masks: Masker | None = field(default=None, repr=False)

    def _token_key(self) -> tuple[Tokenizer, Masker]:
        if self._tokens is None or self._masks is None:
            token_key = self.keys.token_key(self.dataset)
            self._tokens, self._masks = Tokenizer(token_key), Masker(token_key)
        return self._tokens, self._masks

    def _encryptor(self, column: str) -> Encryptor:
        if column not in self._encryptors:
            key = self.keys.data_key(self.dataset, column)
            self.data_keys[column] = key
            self._encryptors[column] = Encryptor(key.plaintext, key.ref, column)
        return self._encryptors[column]

    def protect(self, plan: ColumnPlan, values: list[str | None]) -> dict[str, list[str | None]]:
        """A column's values as its curated columns hold them, by curated column."""
        tokens, masks = self._token_key()
        curated: dict[str, list[str | None]] = {}
        if plan.mode is ProtectMode.ENCRYPT:
            curated[plan.column] = (self._encryptor(plan.column).encrypt_all(values) if self.production
                                    else masks.mask_all(values, plan.pii_class))
        elif plan.mode is ProtectMode.MASK:
            curated[plan.column] = masks.mask_all(values, plan.pii_class)
        if plan.mode in (ProtectMode.ENCRYPT, ProtectMode.TOKEN):
            curated[token_column(plan.column)] = tokens.token_all(values)
        return curated


def _text(value: Any) -> str | None:
    """A value as its protected form is computed from: text as it is, a number as written, nested values as JSON."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _batches(rows: Iterator[Any]) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _protect_records(records: Iterator[dict[str, Any]], plans: Mapping[str, ColumnPlan],
                     protector: ColumnProtector, out: io.TextIOBase) -> None:
    for batch in _batches(records):
        for plan in plans.values():
            if not any(plan.column in record for record in batch):
                continue
            curated = protector.protect(plan, [_text(record.get(plan.column)) for record in batch])
            for index, record in enumerate(batch):
                if plan.column not in record:
                    continue  # a record without the field gets none of its curated fields either
                del record[plan.column]
                for name, values in curated.items():
                    record[name] = values[index]
        out.writelines(json.dumps(record, ensure_ascii=False) + "\n" for record in batch)


def _json_records(stream: io.TextIOBase, file_format: FileFormat) -> Iterator[dict[str, Any]]:
    if file_format is FileFormat.JSON_LINES:
        for line in stream:
            if line.strip():
                yield json.loads(line)
        return
    document = json.load(stream)
    yield from (document if isinstance(document, list) else [document])


def _protect_csv(source: io.TextIOBase, names: list[str], delimiter: str, plans: Mapping[str, ColumnPlan],
                 protector: ColumnProtector, out: io.TextIOBase) -> None:
    """Column by column, a batch at a time: each batch's rows are turned into columns (a ragged row is padded or
    cut to the header first), the protected ones replaced by their curated columns, and written back as rows."""
    reader = csv.reader(source, delimiter=delimiter)
    next(reader, None)  # the header, as csv_dialect read it
    width = len(names)
    header: list[str] = []
    for name in names:
        header.extend(plans[name].curated if name in plans else (name,))
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    planned = [plans.get(name) for name in names]
    for batch in _batches(iter(reader)):
        if any(len(row) != width for row in batch):
            batch = [(row + [""] * width)[:width] for row in batch]
        columns: list[Any] = []
        for values, plan in zip(zip(*batch, strict=True), planned, strict=True):
            if plan is None:
                columns.append(values)
                continue
            curated = protector.protect(plan, [value or None for value in values])
            columns.extend(curated[name] for name in plan.curated)  # the writer writes None as an empty cell
        writer.writerows(zip(*columns, strict=True))


class _Readable(io.RawIOBase):
    """A stream that has only `read` (a decompressing one), as the io module's readers take one."""

    def __init__(self, stream: BinaryStream) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def protect_file(source: Path, file_format: FileFormat, compression: str | None, target: Path,
                 plans: Mapping[str, ColumnPlan], protector: ColumnProtector) -> FileFormat:
    """Write `source` to `target` with the planned columns protected; the format `target` has (CSV or JSON Lines,
    uncompressed)."""
    with source.open("rb") as raw, target.open("w", encoding="utf-8", newline="") as out:
        stream = raw if compression is None else io.BufferedReader(_Readable(decompressed(raw, compression)))
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        if file_format is FileFormat.CSV:
            names, delimiter = csv_dialect(source, compression)
            _protect_csv(text, names, delimiter, plans, protector, out)
            return FileFormat.CSV
        _protect_records(_json_records(text, file_format), plans, protector, out)
        return FileFormat.JSON_LINES
