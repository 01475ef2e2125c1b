"""Ciphertext, tokens and masks of personal data: AES-GCM bound to its column, keyed tokens that join, and masks that
keep a value's shape and reveal nothing."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakebox_layer import protection
from lakebox_layer.exceptions import KeyAccessDenied, ProtectedValueInvalid
from lakebox_layer.protection import (
    Decryptor,
    Encryptor,
    Masker,
    ProtectMode,
    Tokenizer,
    ciphertext_ref,
    curated_columns,
    decrypt,
    iban_check_digits,
    is_ciphertext,
    key_ref,
    token_column,
)
from tests.fakes.keys import FakePersonalDataKeys

KEY = bytes(range(32))
REF = key_ref(b"wrapped data key")
TOKEN_KEY = hashlib.sha256(b"token key").digest()
VALUES = ["alice@example.com", "", "José Ñúñez", "+44 20 7946 0958", "名前", "x" * 1000]
LAYER = Path(__file__).resolve().parents[3] / "layer"


def encrypt(values: Sequence[str | None], column: str = "email", key: bytes = KEY) -> list[str | None]:
    return Encryptor(key, REF, column).encrypt_all(values)


# -- ciphertext ---------------------------------------------------------------------------------------------------


def test_values_decrypt_to_themselves_and_none_stays_none() -> None:
    sealed = encrypt([*VALUES, None])
    assert sealed[-1] is None
    assert [decrypt(value, KEY, "email") for value in sealed[:-1] if value is not None] == VALUES


def test_ciphertext_is_self_describing_text_naming_its_key() -> None:
    for value in encrypt(VALUES):
        assert value is not None
        prefix, ref, body = value.split(".")
        assert (prefix, ref) == ("lbx1", REF)
        assert "=" not in body and "+" not in body and "/" not in body
        assert is_ciphertext(value) and ciphertext_ref(value) == REF
    assert len(REF) == 16 and hashlib.sha256(b"wrapped data key").hexdigest()[:16] == REF


@pytest.mark.parametrize("value", ["alice@example.com", "lbx1.0123456789abcdef.", "lbx1.XYZ.AAAA", "", None, 42,
                                   "lbx2.0123456789abcdef." + "A" * 40])
def test_anything_else_is_not_ciphertext(value: object) -> None:
    assert not is_ciphertext(value)
    with pytest.raises(ValueError, match="not lbx1 ciphertext"):
        ciphertext_ref(value)  # type: ignore[arg-type]


def test_equal_values_encrypt_differently() -> None:
    sealed = encrypt(["same"] * 100)
    assert len(set(sealed)) == 100
    assert len({value.split(".")[2][:16] for value in sealed if value is not None}) == 100  # the nonces


def test_a_value_moved_to_another_column_does_not_decrypt() -> None:
    (value,) = encrypt(["alice@example.com"], column="email")
    assert value is not None
    with pytest.raises(ProtectedValueInvalid, match="does not decrypt"):
        decrypt(value, KEY, "phone")


def test_an_altered_value_does_not_decrypt() -> None:
    (value,) = encrypt(["alice@example.com"])
    assert value is not None
    for at in (len("lbx1.") + 17, len(value) // 2, len(value) - 1):  # the nonce, the ciphertext, the tag
        altered = value[:at] + ("A" if value[at] != "A" else "B") + value[at + 1:]
        with pytest.raises(ProtectedValueInvalid):
            decrypt(altered, KEY, "email")
    with pytest.raises(ProtectedValueInvalid):
        decrypt(value[:-4], KEY, "email")


def test_another_key_does_not_decrypt() -> None:
    (value,) = encrypt(["alice@example.com"])
    assert value is not None
    with pytest.raises(ProtectedValueInvalid, match=f"under key {REF}"):
        decrypt(value, bytes(32), "email")
    with pytest.raises(ProtectedValueInvalid, match="32 bytes"):
        decrypt(value, KEY[:16], "email")


def test_an_encryptor_needs_an_aes_256_key_and_a_key_ref() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Encryptor(KEY[:16], REF, "email")
    with pytest.raises(ValueError, match="16 lowercase hex"):
        Encryptor(KEY, "alias/x", "email")


def test_one_key_encrypts_at_most_its_share_of_random_nonces(monkeypatch: pytest.MonkeyPatch) -> None:
    encryptor = Encryptor(KEY, REF, "email")
    monkeypatch.setattr(protection, "MAX_VALUES_PER_KEY", 3)
    encryptor.encrypt_all(["a", None, "b"])
    with pytest.raises(ValueError, match="use another key"):
        encryptor.encrypt_all(["c", "d"])


def test_a_reveal_decrypts_each_value_under_the_key_its_ref_names() -> None:
    other_key, other_ref = bytes(range(1, 33)), key_ref(b"another wrapped key")
    values = [*encrypt(["a", None]), *Encryptor(other_key, other_ref, "email").encrypt_all(["b"])]
    assert Decryptor({REF: KEY, other_ref: other_key}, "email").decrypt_all(values) == ["a", None, "b"]
    with pytest.raises(ProtectedValueInvalid, match=f"names data key {other_ref}, which is not given"):
        Decryptor({REF: KEY}, "email").decrypt_all(values)
    with pytest.raises(ProtectedValueInvalid, match="not lbx1"):
        Decryptor({REF: KEY}, "email").decrypt_all(["alice@example.com"])


def test_a_reveal_through_the_keys_port_and_a_caller_without_decrypt() -> None:
    keys = FakePersonalDataKeys()
    data_key = keys.data_key("orders", "email")
    sealed = Encryptor(data_key.plaintext, data_key.ref, "email").encrypt_all(["alice@example.com"])
    unwrapped = keys.unwrap(data_key.wrapped, data_key.context)
    assert Decryptor({data_key.ref: unwrapped}, "email").decrypt_all(sealed) == ["alice@example.com"]
    with pytest.raises(KeyAccessDenied, match="kms:Decrypt on alias/lakebox-pii refused"):
        FakePersonalDataKeys(decrypt_allowed=False).unwrap(data_key.wrapped, data_key.context)


def test_importing_protection_leaves_cryptography_out() -> None:
    code = "import sys, lakebox_layer.protection; print('cryptography' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(LAYER)})
    assert done.stdout.strip() == "False"


# -- tokens -------------------------------------------------------------------------------------------------------


def test_tokens_are_the_keyed_hash_of_each_value() -> None:
    for key in (TOKEN_KEY, b"k" * 100):  # a key longer than SHA-256's block is hashed first, as HMAC says
        tokens = Tokenizer(key).token_all([*VALUES, None])
        assert tokens == [hmac.digest(key, b"token\0" + value.encode(), "sha256").hex() for value in VALUES] + [None]


def test_equal_values_give_equal_tokens_and_others_differ() -> None:
    tokens = Tokenizer(TOKEN_KEY).token_all([f"user{n % 500}@example.com" for n in range(2000)])
    assert len(set(tokens)) == 500
    assert tokens[:500] == tokens[500:1000]
    assert Tokenizer(TOKEN_KEY).token_all(["a"]) != Tokenizer(bytes(32)).token_all(["a"])


def test_curated_columns_by_mode() -> None:
    assert token_column("email") == "email_token"
    assert [curated_columns("email", mode) for mode in ProtectMode] == [
        ("email", "email_token"), ("email_token",), ("email",), ()]


# -- masks --------------------------------------------------------------------------------------------------------

MASKER = Masker(TOKEN_KEY)


def classes(text: str) -> str:
    return "".join("9" if c.isdigit() else "a" if c.islower() else "A" if c.isupper() else c for c in text)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=80))
def test_a_mask_keeps_each_characters_class_and_the_rest(value: str) -> None:
    masked = MASKER.mask(value)
    assert classes(masked) == classes(value)
    assert masked == MASKER.mask(value) == Masker(TOKEN_KEY).mask_all([value], None)[0]
    if any(c.isalnum() for c in value):
        assert masked != value


def test_masks_are_deterministic_per_key_and_none_stays_none() -> None:
    values = [f"user{n}" for n in range(5000)]
    masked = MASKER.mask_all([*values, None, *values], "name")
    assert masked[5000] is None and masked[:5000] == masked[5001:]
    assert len(set(masked[:5000])) == 5000
    assert Masker(bytes(32)).mask_all(values[:10], None) != masked[:10]


def test_a_single_letter_or_digit_never_masks_to_itself() -> None:
    for n in range(50):
        masker = Masker(n.to_bytes(32))
        assert all(masker.mask(char) != char for char in "0123456789aZ")


def test_letters_and_digits_of_other_scripts_become_ascii_of_their_case() -> None:
    assert classes(MASKER.mask("José Ñúñez ٣")) == "Aaaa Aaaaa 9"
    assert MASKER.mask("Дмитрий").isascii()


def test_an_email_keeps_its_at_and_top_level_domain() -> None:
    values = ["alice.smith+news@mail.example.co.uk", "a@b.com", "Bob@Example.ORG", "no-at-sign.com", "x@localhost"]
    masked = MASKER.mask_all(values, "email")
    assert masked[0] is not None and masked[0].endswith(".uk") and classes(masked[0]) == classes(values[0])
    assert masked[0].split("@")[0] != "alice.smith+news" and "example" not in masked[0]
    assert masked[1] != "a@b.com" and masked[1] is not None and masked[1].endswith("@" + masked[1][2] + ".com")
    assert masked[2] is not None and masked[2].endswith(".ORG") and masked[2] != values[2]
    assert [classes(m or "") for m in masked[3:]] == [classes(v) for v in values[3:]]
    assert masked[4] != values[4]


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in reversed(number) if c.isdigit()]
    return sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)) % 10 == 0


@pytest.mark.parametrize("card", ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004",
                                  "378282246310005", "6011000990139424", "1234567890123456"])
def test_a_card_keeps_its_last_four_digits_and_passes_luhn(card: str) -> None:
    masked = MASKER.mask(card, "payment_card")
    assert luhn_valid(masked) and masked[-4:] == card[-4:] and classes(masked) == classes(card)
    assert masked != card and masked[:-4] != card[:-4]


def test_a_card_never_masks_to_itself() -> None:
    card = "000018"  # passes Luhn: with one digit masked, chance gives it back one key in ten
    assert luhn_valid(card)
    for n in range(100):
        masked = Masker(n.to_bytes(32)).mask(card, "payment_card")
        assert masked != card and luhn_valid(masked) and masked.endswith("0018")


def iban_valid(iban: str) -> bool:
    compact = iban.replace(" ", "").upper()
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


IBANS = ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "FR1420041010050500013M02606",
         "NL91ABNA0417164300", "CH9300762011623852957", "be68539007547034"]


@pytest.mark.parametrize("iban", IBANS)
def test_iban_check_digits_of_known_ibans(iban: str) -> None:
    compact = iban.replace(" ", "")
    assert iban_valid(iban)
    assert iban_check_digits(compact[:2], compact[4:]) == compact[2:4]


@pytest.mark.parametrize("iban", IBANS)
def test_an_iban_keeps_its_country_and_gets_valid_check_digits(iban: str) -> None:
    masked = MASKER.mask(iban, "iban")
    assert iban_valid(masked) and masked[:2] == iban[:2] and masked != iban
    assert classes(masked[4:]) == classes(iban[4:]) and masked[4:] != iban[4:]


def test_masked_ibans_pass_python_stdnums_iban_check() -> None:
    """ISO 13616's check only: the national check digits some countries keep inside the account (Belgium, Spain,
    Montenegro, Norway in stdnum) are masked like any digit."""
    stdnum_iban = pytest.importorskip("stdnum.iban")
    masked = MASKER.mask_all(IBANS, "iban")
    assert all(stdnum_iban.is_valid(value, check_country=False) for value in masked if value is not None)


@pytest.mark.parametrize("address", ["192.168.1.1", "10.0.0.255", "2001:db8::1", "fe80::1ff:fe23:4567:890a"])
def test_an_ip_address_masks_to_another_of_its_family(address: str) -> None:
    masked = MASKER.mask(address, "ip_address")
    assert ipaddress.ip_address(masked).version == ipaddress.ip_address(address).version
    assert masked != address and masked == MASKER.mask(address, "ip_address")


def test_a_value_not_of_its_class_is_masked_as_text() -> None:
    for value, pii_class in [("999.1.1.1", "ip_address"), ("1234", "payment_card"), ("not an iban", "iban")]:
        masked = MASKER.mask(value, pii_class)
        assert classes(masked) == classes(value) and masked != value
