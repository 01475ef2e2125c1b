"""`lakebox query --reveal` on a result: every ciphertext value back to exactly what curation encrypted, whatever the
result calls its column, each data key unwrapped once; tokens, masks and plain values untouched; an identity that
may not decrypt, and any lake that masks, refused in one line that says why and who may."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest

from lakebox.lake.athena import QueryResult
from lakebox.lake.reveal import RevealRefused, reveal
from lakebox_layer.exceptions import LakeboxError
from lakebox_layer.privacy import data_key_item
from lakebox_layer.protection import Encryptor, Tokenizer
from tests.fakes.keys import FakePersonalDataKeys

STEWARD = "lakebox-steward"


@dataclass
class Records:
    """The metadata table's lake settings and data-key items."""

    environment: str | None = "production"
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def lake_environment(self) -> str | None:
        return self.environment

    def data_key(self, ref: str) -> dict[str, Any] | None:
        self.reads.append(ref)
        return self.items.get(ref)


def curated(keys: FakePersonalDataKeys, records: Records, column: str, values: list[str | None],
            dataset: str = "orders") -> list[str | None]:
    """What curation writes for `values` of a column, its data key kept as curation keeps it."""
    key = keys.data_key(dataset, column)
    item = data_key_item(key, "pid1")
    records.items[key.ref] = {"Wrapped": item["Wrapped"], "Context": item["Context"]}
    return Encryptor(key.plaintext, key.ref, column).encrypt_all(values)


def result(columns: list[str], *columns_values: list[str | None]) -> QueryResult:
    return QueryResult("q-1", columns, ["varchar"] * len(columns), [list(row) for row in zip(*columns_values,
                                                                                             strict=True)])


def test_ciphertext_is_revealed_exactly_under_any_alias_and_nothing_else_changes() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    emails = ["ann@example.com", None, "bob@example.org", "ann@example.com"]
    phones = ["+44 20 7946 0958", "+1 555 010 9999", None, None]
    tokens = Tokenizer(keys.token_key("orders")).token_all(emails)
    query = result(["who", "customer_email_token", "phone", "amount"],
                   curated(keys, records, "customer_email", emails), tokens,
                   curated(keys, records, "phone", phones), ["1.5", "2", None, "4"])

    revealed = reveal(query, records, keys, STEWARD)

    assert [row[0] for row in revealed.result.rows] == emails
    assert [row[2] for row in revealed.result.rows] == phones
    assert [row[1] for row in revealed.result.rows] == tokens, "a token is not ciphertext and stays"
    assert [row[3] for row in revealed.result.rows] == ["1.5", "2", None, "4"]
    assert (revealed.values, revealed.columns) == (5, ["who", "phone"])
    assert sorted(call[0] for call in keys.calls if call[0] == "Decrypt") == ["Decrypt", "Decrypt"], \
        "one unwrap per data key, not per value"
    assert revealed.result.columns == query.columns and revealed.result.query_id == "q-1"


def test_values_of_several_files_open_each_under_its_own_key() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    first = curated(keys, records, "email", ["a@x.io"], dataset="crm")
    second = curated(keys, records, "email", ["b@y.io"], dataset="leads")

    revealed = reveal(result(["email"], first + second), records, keys, STEWARD)

    assert [row[0] for row in revealed.result.rows] == ["a@x.io", "b@y.io"]
    assert len(set(records.reads)) == 2


def test_an_identity_without_decrypt_is_refused_naming_the_steward() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    query = result(["customer_email"], curated(keys, records, "customer_email", ["ann@example.com"]))
    operator = FakePersonalDataKeys(decrypt_allowed=False)

    with pytest.raises(RevealRefused) as refused:
        reveal(query, records, operator, STEWARD)

    message = str(refused.value)
    assert "\n" not in message and "kms:Decrypt" in message and STEWARD in message
    assert "LAKEBOX_IDENTITY=steward" in message
    assert "ann@example.com" not in message


@pytest.mark.parametrize("environment", ["development", "staging"])
def test_a_lake_that_masks_is_refused_before_any_key_is_asked_for(environment: str) -> None:
    keys, records = FakePersonalDataKeys(), Records(environment=environment)
    query = result(["customer_email"], ["q@xkcdefg.com"])

    with pytest.raises(RevealRefused, match=f"{environment} lake.*masks.*LAKEBOX_ENVIRONMENT=production"):
        reveal(query, records, keys, STEWARD)
    assert keys.calls == [] and records.reads == []


def test_a_result_without_ciphertext_is_returned_as_it_is() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    query = result(["sku", "n"], ["lbx1.not-a-ref.x", "AB-1"], ["1", "2"])

    revealed = reveal(query, records, keys, STEWARD)

    assert revealed.result == query and revealed.values == 0 and keys.calls == []


def test_ciphertext_whose_data_key_is_not_recorded_is_an_error_naming_the_key() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    values = curated(keys, records, "customer_email", ["ann@example.com"])
    records.items.clear()

    with pytest.raises(LakeboxError, match=r"data key [0-9a-f]{16} is not in the metadata table"):
        reveal(result(["customer_email"], values), records, keys, STEWARD)


def test_ciphertext_altered_in_the_result_does_not_decrypt() -> None:
    keys, records = FakePersonalDataKeys(), Records()
    value = curated(keys, records, "customer_email", ["ann@example.com"])[0]
    assert value is not None
    body = bytearray(base64.urlsafe_b64decode(value.split(".")[2] + "=="))
    body[-1] ^= 1
    altered = ".".join([*value.split(".")[:2], base64.urlsafe_b64encode(bytes(body)).decode().rstrip("=")])

    with pytest.raises(ValueError, match="does not decrypt"):
        reveal(result(["customer_email"], [altered]), records, keys, STEWARD)
