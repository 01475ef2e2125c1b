"""`lakebox query --reveal`: the protected values of a query's result in plain, for an identity KMS lets decrypt.

A production lake's `encrypt` columns hold `lbx1` ciphertext that names its data key. The metadata table keeps each
data key wrapped, under its reference, with its encryption context: the dataset and the column, which is also each
value's authenticated data, so an alias in the SQL changes nothing. Each key is unwrapped once (`kms:Decrypt`, which
only the steward is allowed), then each value decrypted. Tokens, masks and every value that is not ciphertext stay as
they are. Outside production those columns hold masks, which nothing can reveal: refused before any call to KMS.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any, Protocol

from lakebox.lake.athena import QueryResult
from lakebox_layer import ports
from lakebox_layer.adapters.keys import COLUMN_CONTEXT
from lakebox_layer.exceptions import KeyAccessDenied, LakeboxError
from lakebox_layer.protection import Decryptor, ciphertext_ref, is_ciphertext
from lakebox_layer.settings import PRODUCTION


class RevealRefused(LakeboxError):
    """`--reveal` cannot show plain values: the lake masks them, or this identity may not decrypt."""


class KeyRecords(Protocol):
    """What reveal reads of the metadata table (:class:`lakebox.lake.metadata.MetadataReader`)."""

    def lake_environment(self) -> str | None: ...

    def data_key(self, ref: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Revealed:
    """A result with its ciphertext in plain, and how many values of which columns (result names) that was."""

    result: QueryResult
    values: int
    columns: list[str]


def refuse_outside_production(records: KeyRecords) -> None:
    """Refuse at once when the lake masks its personal data (a lake with no recorded environment is judged by its
    values)."""
    environment = records.lake_environment()
    if environment is not None and environment != PRODUCTION:
        raise RevealRefused(
            f"--reveal: this is a {environment} lake, whose protected columns hold masks, and a mask cannot be "
            f"revealed; only a lake brought up with LAKEBOX_ENVIRONMENT={PRODUCTION} keeps ciphertext")


def reveal(result: QueryResult, records: KeyRecords, keys: ports.PersonalDataKeys, steward: str) -> Revealed:
    """The result with every ciphertext value in plain; :class:`RevealRefused` in one line for an identity that
    may not decrypt (naming who may: `steward`)."""
    refuse_outside_production(records)
    by_column: dict[int, set[str]] = {}
    for row in result.rows:
        for index, value in enumerate(row):
            if is_ciphertext(value):
                by_column.setdefault(index, set()).add(ciphertext_ref(str(value)))
    if not by_column:
        return Revealed(result, 0, [])
    plain: dict[str, bytes] = {}
    source_column: dict[str, str] = {}
    for ref in sorted(set().union(*by_column.values())):
        item = records.data_key(ref)
        if item is None:
            raise LakeboxError(f"--reveal: data key {ref} is not in the metadata table: its file was curated by "
                               "another lake, or the table was recreated since")
        context = {str(k): str(v) for k, v in item["Context"].items()}
        try:
            plain[ref] = keys.unwrap(base64.b64decode(item["Wrapped"]), context)
        except KeyAccessDenied as error:
            raise RevealRefused(
                f"--reveal refused: this identity may not decrypt personal data ({error.action} on {error.key_id}); "
                f"only the steward ({steward}) may: on an emulator with --strict-iam, LAKEBOX_IDENTITY=steward"
            ) from error
        source_column[ref] = context[COLUMN_CONTEXT]
    rows = [list(row) for row in result.rows]
    decryptors: dict[str, Decryptor] = {}
    count = 0
    for index in by_column:
        for row in rows:
            value = row[index]
            if not is_ciphertext(value):
                continue
            column = source_column[ciphertext_ref(str(value))]
            decryptor = decryptors.setdefault(column, Decryptor(plain, column))
            row[index] = decryptor.decrypt_all([value])[0]
            count += 1
    return Revealed(replace(result, rows=rows), count, [result.columns[index] for index in sorted(by_column)])
