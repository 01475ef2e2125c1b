"""Personal data on its way to the curated zone: the columns a contract marks, the undeclared ones validation found
and those the table protects already never reach curated Parquet in the clear. In production a column `encrypt`
protects holds ciphertext a steward can open with the wrapped data key kept with the file (and only with it), next
to its keyed tokens; elsewhere it holds deterministic masks and no data key is made; `token`, `mask` and `drop`
write what they say; the table's columns carry the comments a later file and a reader go by."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from lakebox_layer.columns import Column
from lakebox_layer.contracts import parse_contract
from lakebox_layer.exceptions import KeyAccessDenied
from lakebox_layer.parquet import ParquetEngine
from lakebox_layer.privacy import DATA_KEY_PREFIX, TOKEN_COMMENT
from lakebox_layer.protection import Decryptor, Masker, Tokenizer, ciphertext_ref, is_ciphertext
from lakebox_layer.records import FileFormat
from lakebox_layer.settings import PRODUCTION
from lakebox_layer.stages.curation import CURATED
from tests.fakes.curation import ORDERS_CSV, World
from tests.fakes.stages import PROCESSED, SETTINGS

PRODUCTION_SETTINGS = dataclasses.replace(SETTINGS, environment=PRODUCTION)
EMAILS = ["a@example.com", "b@example.com", "c@example.com"]
TOKEN = re.compile(r"[0-9a-f]{64}")

CRM = {
    "dataset": "crm", "version": "1.0.0",
    "fields": {
        "id": {"required": True, "type": "integer"},
        "email": {"pii": {"protect": "token"}},
        "card": {"pii": {"protect": "mask"}},
        "ssn": {"pii": {"protect": "drop"}},
        "tier": {},
    },
}
CRM_CSV = ("id,email,card,ssn,tier\n"
           "1,a@example.com,4111111111111111,123-45-6789,gold\n"
           "2,b@example.com,5500005555555559,,silver\n"
           "3,a@example.com,,987-65-4321,gold\n")


@pytest.fixture
def production() -> World:
    return World(PRODUCTION_SETTINGS)


@pytest.fixture
def development() -> World:
    return World()


def parquet_file(world: World, key: str, tmp_path: Path) -> Path:
    path = tmp_path / key.replace("/", "_")
    path.write_bytes(world.objects.objects[(PROCESSED, key)])
    return path


def kv_metadata(world: World, key: str, tmp_path: Path) -> dict[str, str]:
    engine = ParquetEngine(tmp_path / "kv-work", memory="128MB", threads=1)
    try:
        return engine.kv_metadata(parquet_file(world, key, tmp_path))
    finally:
        engine.close()


def column(world: World, keys: list[str], name: str, tmp_path: Path) -> list[Any]:
    """A column's values across curated objects, in the order of the file's first column."""
    return [value for key in keys for (_, value) in world.read(key, tmp_path, f"1, \"{name}\"")]


def all_curated_bytes(world: World) -> bytes:
    return b"".join(body for (_, key), body in world.objects.objects.items() if key.startswith("curated/"))


def reveal(world: World, keys: list[str], name: str, tmp_path: Path) -> list[str | None]:
    """What a steward sees: each object's data key unwrapped from its metadata, the column decrypted."""
    revealed: list[str | None] = []
    for key in keys:
        kept = json.loads(kv_metadata(world, key, tmp_path)["lakebox.keys"])[name]
        data_key = world.keys.unwrap(base64.b64decode(kept["wrapped"]), kept["context"])
        revealed.extend(Decryptor({kept["ref"]: data_key}, name).decrypt_all(column(world, [key], name, tmp_path)))
    return revealed


# -- production: encrypt ------------------------------------------------------------------------------------------


def test_in_production_a_declared_column_is_ciphertext_a_steward_opens_with_the_key_kept_with_the_file(
        production: World, tmp_path: Path) -> None:
    outcome = production.stage.curate(production.processed("orders", "day.csv", ORDERS_CSV.encode()))

    assert outcome is not None and outcome.status == CURATED, outcome
    keys = production.curated()
    emails = column(production, keys, "customer_email", tmp_path)
    assert all(is_ciphertext(value) for value in emails), emails
    assert not any(email.encode() in all_curated_bytes(production) for email in EMAILS)
    assert b"+1-555-123-4567" not in all_curated_bytes(production)
    # Ordered by order_id across the two days' objects: 2 and 3 are on the 14th, 1 on the 15th.
    assert reveal(production, keys, "customer_email", tmp_path) == [EMAILS[1], EMAILS[2], EMAILS[0]]
    assert reveal(production, keys, "phone", tmp_path) == [None, None, "+1-555-123-4567"]
    tokens = Tokenizer(production.keys.token_key("orders")).token_all([EMAILS[1], EMAILS[2], EMAILS[0]])
    assert column(production, keys, "customer_email_token", tmp_path) == tokens
    assert all(TOKEN.fullmatch(token or "") for token in tokens)


def test_each_data_key_is_kept_wrapped_under_its_reference_and_named_by_the_record(
        production: World, tmp_path: Path) -> None:
    outcome = production.stage.curate(production.processed("orders", "day.csv", ORDERS_CSV.encode()))

    assert outcome is not None
    refs = {ciphertext_ref(value) for value in column(production, production.curated(), "customer_email", tmp_path)}
    assert refs == {outcome.data_keys["customer_email"]}, "one data key per file and column"
    assert set(outcome.data_keys) == {"customer_email", "phone"}
    items = {pid: item for (pid, _), item in production.metadata.items.items() if pid.startswith(DATA_KEY_PREFIX)}
    assert set(items) == {f"{DATA_KEY_PREFIX}{ref}" for ref in outcome.data_keys.values()}
    for name, ref in outcome.data_keys.items():
        item = items[f"{DATA_KEY_PREFIX}{ref}"]
        assert item["Context"] == {"lakebox:dataset": "orders", "lakebox:column": name}
        assert item["CuratedBy"] == "pid1"
        plain = production.keys.data_key("orders", name).plaintext
        assert base64.b64decode(item["Wrapped"]) != plain and plain not in all_curated_bytes(production)
    record = production.records()[0]
    assert record["DataKeys"] == outcome.data_keys
    assert record["Protected"] == {"customer_email": "lakebox:pii=encrypt;class=email",
                                   "phone": "lakebox:pii=encrypt;class=phone"}
    # The keys are stored before any curated object that needs them, and the record comes last.
    log = production.log
    assert log.index("ensure orders") < min(i for i, line in enumerate(log) if line.startswith("upload"))
    assert log[-1] == "record curation"


def test_a_key_from_another_column_or_an_identity_without_decrypt_opens_nothing(
        production: World, tmp_path: Path) -> None:
    production.stage.curate(production.processed("orders", "day.csv", ORDERS_CSV.encode()))
    key = production.curated()[0]
    kept = json.loads(kv_metadata(production, key, tmp_path)["lakebox.keys"])

    with pytest.raises(ValueError, match="does not decrypt"):
        wrong = production.keys.unwrap(base64.b64decode(kept["phone"]["wrapped"]), kept["phone"]["context"])
        Decryptor({kept["customer_email"]["ref"]: wrong}, "customer_email").decrypt_all(
            column(production, [key], "customer_email", tmp_path))
    production.keys.decrypt_allowed = False
    with pytest.raises(KeyAccessDenied):
        reveal(production, [key], "customer_email", tmp_path)


def test_the_table_says_which_columns_are_protected_and_how(production: World, tmp_path: Path) -> None:
    production.stage.curate(production.processed("orders", "day.csv", ORDERS_CSV.encode()))

    comments = {c.name: (c.type, c.comment) for c in production.catalog.tables["orders"]}
    # The class is the field's format when the file's sample found none.
    assert comments["customer_email"] == ("string", "lakebox:pii=encrypt;class=email")
    assert comments["customer_email_token"] == ("string", f"{TOKEN_COMMENT}customer_email")
    assert comments["phone"] == ("string", "lakebox:pii=encrypt;class=phone")
    assert comments["amount"] == ("double", None)
    metadata = kv_metadata(production, production.curated()[0], tmp_path)
    assert json.loads(metadata["lakebox.protection"]) == {
        "customer_email": "lakebox:pii=encrypt;class=email", "phone": "lakebox:pii=encrypt;class=phone"}


# -- token, mask, drop --------------------------------------------------------------------------------------------


def test_token_mask_and_drop_write_what_they_say_and_need_no_data_key(production: World, tmp_path: Path) -> None:
    production.contracts.published["crm"] = parse_contract(CRM)
    outcome = production.stage.curate(production.processed("crm", "people.csv", CRM_CSV.encode()))

    assert outcome is not None and outcome.status == CURATED, outcome
    keys = production.curated()
    names = [c.name for c in production.catalog.tables["crm"]]
    assert names == ["id", "email_token", "card", "tier"], "token keeps only the token, drop leaves the column out"
    token_key = production.keys.token_key("crm")
    assert column(production, keys, "email_token", tmp_path) == Tokenizer(token_key).token_all(
        ["a@example.com", "b@example.com", "a@example.com"])
    cards = column(production, keys, "card", tmp_path)
    assert cards == Masker(token_key).mask_all(["4111111111111111", "5500005555555559", None], None)
    assert cards[0] != "4111111111111111" and cards[2] is None
    body = all_curated_bytes(production)
    assert not any(value in body for value in (b"a@example.com", b"4111111111111111", b"123-45-6789"))
    assert outcome.data_keys == {}
    assert not any(call[0] == "GenerateDataKey" for call in production.keys.calls)
    assert outcome.protected == {"email": "lakebox:pii=token", "card": "lakebox:pii=mask", "ssn": "lakebox:pii=drop"}


# -- outside production ---------------------------------------------------------------------------------------------


def test_outside_production_encrypt_masks_deterministically_and_makes_no_data_key(
        development: World, tmp_path: Path) -> None:
    first = development.stage.curate(development.processed("orders", "day.csv", ORDERS_CSV.encode()))
    second = development.stage.curate(development.processed("orders", "again.csv", ORDERS_CSV.encode(),
                                                            process_id="pid2"))

    assert first is not None and second is not None and first.data_keys == second.data_keys == {}
    keys = development.curated()
    emails = column(development, [k for k in keys if "pid1" in k], "customer_email", tmp_path)
    again = column(development, [k for k in keys if "pid2" in k], "customer_email", tmp_path)
    assert emails == again, "the same value masks the same way in every file"
    assert all(re.fullmatch(r"[a-z]@[a-z]{7}\.com", value) for value in emails), emails
    assert not set(emails) & set(EMAILS)
    assert not any(call[0] == "GenerateDataKey" for call in development.keys.calls)
    assert "lakebox.keys" not in kv_metadata(development, keys[0], tmp_path) or json.loads(
        kv_metadata(development, keys[0], tmp_path)["lakebox.keys"]) == {}
    assert not any(pid.startswith(DATA_KEY_PREFIX) for pid, _ in development.metadata.items)


# -- undeclared personal data, and what the table already protects ------------------------------------------------


CONTACTS_JSONL = b"".join(json.dumps(row).encode() + b"\n" for row in [
    {"id": 1, "contact": "ann@example.org", "note": "first", "nested": {"k": 1}},
    {"id": 2, "contact": "bob@example.org", "note": "second"},
    {"id": 3, "note": "no contact"},
])


def test_undeclared_personal_data_validation_found_is_encrypted_with_its_class(
        production: World, tmp_path: Path) -> None:
    validated = production.processed("contacts", "c.jsonl.gz", gzip.compress(CONTACTS_JSONL),
                                     file_format=FileFormat.JSON_LINES, compression="gzip",
                                     pii={"contact": "email"}, undeclared_pii=["contact"])
    outcome = production.stage.curate(validated)

    assert outcome is not None and outcome.status == CURATED, outcome
    assert outcome.protected == {"contact": "lakebox:pii=encrypt;class=email"}
    keys = production.curated()
    assert reveal(production, keys, "contact", tmp_path) == ["ann@example.org", "bob@example.org", None]
    assert column(production, keys, "note", tmp_path) == ["first", "second", "no contact"]
    assert b"ann@example.org" not in all_curated_bytes(production)
    comments = {c.name: c.comment for c in production.catalog.tables["contacts"]}
    assert comments["contact"] == "lakebox:pii=encrypt;class=email"


def test_a_column_the_table_protects_stays_protected_when_a_later_file_shows_none(
        production: World, tmp_path: Path) -> None:
    production.stage.curate(production.processed(
        "contacts", "c1.jsonl", CONTACTS_JSONL, file_format=FileFormat.JSON_LINES, pii={"contact": "email"}))
    later = b'{"id": 4, "contact": "carol@example.org", "note": "sample missed it"}\n'
    outcome = production.stage.curate(production.processed(
        "contacts", "c2.jsonl", later, process_id="pid2", file_format=FileFormat.JSON_LINES))

    assert outcome is not None and outcome.status == CURATED, outcome
    assert outcome.protected == {"contact": "lakebox:pii=encrypt;class=email"}
    assert b"carol@example.org" not in all_curated_bytes(production)
    assert reveal(production, [k for k in production.curated() if "pid2" in k], "contact", tmp_path) == [
        "carol@example.org"]


def test_a_contract_that_allows_undeclared_personal_data_curates_it_as_it_came(
        production: World, tmp_path: Path) -> None:
    production.contracts.published["contacts"] = parse_contract(
        {"dataset": "contacts", "version": "1", "policy": {"undeclared_pii": "allow"}})
    outcome = production.stage.curate(production.processed(
        "contacts", "c.jsonl", CONTACTS_JSONL, file_format=FileFormat.JSON_LINES, pii={"contact": "email"}))

    assert outcome is not None and outcome.status == CURATED and outcome.protected == {}
    assert column(production, production.curated(), "contact", tmp_path) == [
        "ann@example.org", "bob@example.org", None]


def test_a_json_document_is_protected_record_by_record(production: World, tmp_path: Path) -> None:
    document = json.dumps([{"id": 1, "contact": "ann@example.org"}, {"id": 2, "contact": 42}]).encode()
    outcome = production.stage.curate(production.processed(
        "contacts", "c.json", document, file_format=FileFormat.JSON, pii={"contact": "email"}))

    assert outcome is not None and outcome.status == CURATED, outcome
    assert reveal(production, production.curated(), "contact", tmp_path) == ["ann@example.org", "42"]


def test_a_column_another_file_protects_meanwhile_is_protected_before_anything_leaves(
        production: World, tmp_path: Path) -> None:
    """This file's sample found nothing in `contact` and the table did not protect it when read; another file
    marked it protected before this one's update: the file is protected again, with it, before any upload."""
    production.catalog.meanwhile["contacts"] = [
        Column("id", "bigint"), Column("contact", "string", "lakebox:pii=encrypt;class=email"),
        Column("contact_token", "string", f"{TOKEN_COMMENT}contact")]
    outcome = production.stage.curate(production.processed(
        "contacts", "c.jsonl", CONTACTS_JSONL, file_format=FileFormat.JSON_LINES))

    assert outcome is not None and outcome.status == CURATED, outcome
    assert outcome.protected == {"contact": "lakebox:pii=encrypt;class=email"}
    assert b"ann@example.org" not in all_curated_bytes(production)
    assert reveal(production, production.curated(), "contact", tmp_path) == ["ann@example.org", "bob@example.org",
                                                                            None]
    assert [line for line in production.log if line.startswith("ensure")] == ["ensure contacts"] * 2
