"""A processed file rewritten with its personal data protected before Parquet: CSV stays CSV (its delimiter, quoting,
ragged rows evened to the header, token columns after their columns), JSON Lines and JSON documents become JSON
Lines, compressed inputs are read through; every protected value is what its plan says, empty stays empty, nothing
else changes, and a data key is asked for once per column, only in production and only when a value needs it."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from lakebox_layer.privacy import ColumnPlan
from lakebox_layer.protected_files import BATCH_ROWS, ColumnProtector, protect_file
from lakebox_layer.protection import Decryptor, Masker, ProtectMode, Tokenizer, is_ciphertext
from lakebox_layer.records import FileFormat
from tests.fakes.keys import FakePersonalDataKeys

PLANS = {"email": ColumnPlan("email", ProtectMode.ENCRYPT, "email"), "card": ColumnPlan("card", ProtectMode.MASK,
                                                                                       "payment_card"),
         "ssn": ColumnPlan("ssn", ProtectMode.DROP), "phone": ColumnPlan("phone", ProtectMode.TOKEN)}


def protector(production: bool = True) -> tuple[ColumnProtector, FakePersonalDataKeys]:
    keys = FakePersonalDataKeys()
    return ColumnProtector("crm", keys, production), keys


def opened(keys: FakePersonalDataKeys, protector_: ColumnProtector, column: str, values: list[str | None]) -> list[
        str | None]:
    key = protector_.data_keys[column]
    return Decryptor({key.ref: keys.unwrap(key.wrapped, key.context)}, column).decrypt_all(values)


def test_a_csv_keeps_its_shape_with_each_protected_column_as_its_plan_says(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text('id;email;card;note;ssn;phone\n1;a@x.io;4111111111111111;"semi;colon";123-45-6789;+1 555\n'
                      "2;;5500005555555559;plain;;\n3;b@y.io\n", encoding="utf-8")
    protect, keys = protector()

    written = protect_file(source, FileFormat.CSV, None, tmp_path / "out", PLANS, protect)

    assert written is FileFormat.CSV
    header, *rows = list(csv.reader(io.StringIO((tmp_path / "out").read_text()), delimiter=";"))
    assert header == ["id", "email", "email_token", "card", "note", "phone_token"]
    assert [row[0] for row in rows] == ["1", "2", "3"] and [row[4] for row in rows] == ["semi;colon", "plain", ""]
    emails = [row[1] or None for row in rows]
    assert is_ciphertext(emails[0]) and emails[1] is None and is_ciphertext(emails[2])
    assert opened(keys, protect, "email", emails) == ["a@x.io", None, "b@y.io"]
    token_key = keys.token_key("crm")
    assert [row[2] or None for row in rows] == Tokenizer(token_key).token_all(["a@x.io", None, "b@y.io"])
    assert [row[3] or None for row in rows] == Masker(token_key).mask_all(
        ["4111111111111111", "5500005555555559", None], "payment_card")
    assert [row[5] or None for row in rows] == Tokenizer(token_key).token_all(["+1 555", None, None])
    text = (tmp_path / "out").read_text()
    assert not any(v in text for v in ("a@x.io", "4111111111111111", "123-45-6789", "+1 555"))
    assert [call[0] for call in keys.calls].count("GenerateDataKey") == 1  # one data key per column and file


def test_outside_production_encrypt_writes_masks_and_asks_for_no_data_key(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,email\n1,a@example.com\n2,a@example.com\n", encoding="utf-8")
    protect, keys = protector(production=False)

    protect_file(source, FileFormat.CSV, None, tmp_path / "out", {"email": PLANS["email"]}, protect)

    rows = list(csv.DictReader((tmp_path / "out").open()))
    assert rows[0]["email"] == rows[1]["email"] != "a@example.com" and rows[0]["email"].endswith(".com")
    assert not is_ciphertext(rows[0]["email"]) and rows[0]["email_token"] == rows[1]["email_token"]
    assert protect.data_keys == {} and "GenerateDataKey" not in [call[0] for call in keys.calls]


@pytest.mark.parametrize("compression", [None, "gzip"])
def test_json_lines_are_protected_record_by_record_and_other_fields_kept(tmp_path: Path,
                                                                         compression: str | None) -> None:
    records = [{"id": 1, "email": "a@x.io", "nested": {"k": [1, 2]}, "phone": 5551234},
               {"id": 2, "note": "no email here"}, {"id": 3, "email": None, "card": "4111111111111111"}]
    body = "".join(json.dumps(r) + "\n" for r in records).encode()
    source = tmp_path / "in.jsonl"
    source.write_bytes(gzip.compress(body) if compression else body)
    protect, keys = protector()

    written = protect_file(source, FileFormat.JSON_LINES, compression, tmp_path / "out", PLANS, protect)

    out = [json.loads(line) for line in (tmp_path / "out").read_text().splitlines()]
    assert written is FileFormat.JSON_LINES
    assert [sorted(r) for r in out] == [["email", "email_token", "id", "nested", "phone_token"],
                                        ["id", "note"], ["card", "email", "email_token", "id"]]
    assert out[0]["nested"] == {"k": [1, 2]} and out[1] == {"id": 2, "note": "no email here"}
    assert opened(keys, protect, "email", [out[0]["email"], out[2]["email"]]) == ["a@x.io", None]
    assert out[0]["phone_token"] == Tokenizer(keys.token_key("crm")).token_all(["5551234"])[0]  # a number as text
    assert out[2]["card"] != "4111111111111111" and out[2]["card"].endswith("1111")


def test_a_json_document_becomes_json_lines(tmp_path: Path) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"email": "a@x.io"}, {"email": "b@y.io"}]))
    protect, keys = protector()

    written = protect_file(source, FileFormat.JSON, None, tmp_path / "out", {"email": PLANS["email"]}, protect)

    out = [json.loads(line) for line in (tmp_path / "out").read_text().splitlines()]
    assert written is FileFormat.JSON_LINES
    assert opened(keys, protect, "email", [r["email"] for r in out]) == ["a@x.io", "b@y.io"]


def test_a_file_longer_than_a_batch_is_protected_whole_in_order(tmp_path: Path) -> None:
    count = BATCH_ROWS * 2 + 17
    source = tmp_path / "in.csv"
    source.write_text("n,email\n" + "".join(f"{n},u{n}@x.io\n" for n in range(count)))
    protect, keys = protector()

    protect_file(source, FileFormat.CSV, None, tmp_path / "out", {"email": PLANS["email"]}, protect)

    rows = list(csv.DictReader((tmp_path / "out").open()))
    assert [int(r["n"]) for r in rows] == list(range(count))
    assert opened(keys, protect, "email", [r["email"] for r in rows]) == [f"u{n}@x.io" for n in range(count)]
