"""Personal data detection: each detector's positives and the look-alikes it must leave alone (ids, amounts, dates,
SKUs, UUIDs, versions, free text), then whole columns: the threshold, blanks, random ids that pass a checksum by
chance, the bound on sampled records and columns, and state that does not grow with the records added."""

from __future__ import annotations

import random
import string
import sys
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.fr import nir

from lakebox_layer.classification import (
    DEFAULT_THRESHOLD,
    MAX_COLUMNS,
    MAX_VALUE_CHARS,
    SAMPLE_RECORDS,
    ColumnSampler,
    PiiClass,
    classify_value,
)

EMAIL, PHONE, CARD = PiiClass.EMAIL, PiiClass.PHONE, PiiClass.PAYMENT_CARD
IBAN, IP, NATIONAL_ID = PiiClass.IBAN, PiiClass.IP_ADDRESS, PiiClass.NATIONAL_ID


def with_check_digit(body: str) -> str:
    return body + luhn.calc_check_digit(body)


def random_digits(rng: random.Random, length: int) -> str:
    return rng.choice("123456789") + "".join(rng.choice(string.digits) for _ in range(length - 1))


def sampled(values: list[Any], threshold: float = DEFAULT_THRESHOLD, column: str = "c") -> PiiClass | None:
    """The class of a column holding `values`, one record each."""
    sampler = ColumnSampler(records=len(values))
    for value in values:
        sampler.add({column: value})
    return sampler.classify(threshold).get(column)


# -- values: what each detector finds -----------------------------------------------------------------------------

POSITIVES: dict[PiiClass, list[Any]] = {
    EMAIL: ["john.doe@example.com", "john.doe+newsletter@mail.example.co.uk", "o'brien@example.ie",
            "first_last-99@sub.domain.example.org", "ALL.CAPS@EXAMPLE.COM", "  padded@example.com  ",
            "josé@exämple.de", "user@xn--exmple-cua.de"],
    PHONE: [
        # International: '+', a country code, a possible length (fictional +1 555 numbers included).
        "+44 20 7946 0958", "+1 415-555-2671", "+14155552671", "+49 30 901820", "+33 1 70 36 39 50",
        "+49 (0)30 1234567", "+81 3-1234-5678", "+1 555 010 2000",
        # National written forms of the default regions: US, GB, DE, FR, and 00 before a country code.
        "(415) 555-2671", "415-555-2671", "415.555.2671", "1-800-555-0199", "020 7946 0958", "07700 900123",
        "030 12345678", "030/12345678", "0151 23456789", "01 23 45 67 89", "06 12 34 56 78", "0049 30 12345678",
    ],
    CARD: ["4111111111111111", "4012888888881881", "4222222222222", "4111 1111 1111 1111", "4111-1111-1111-1111",
           "5555555555554444", "5105105105105100", "2223003122003222", "378282246310005", "371449635398431",
           "3782 822463 10005", "6011111111111117", "3530111333300000", "30569309025904", "3056 930902 5904",
           "6200000000000005", 4111111111111111, 5555555555554444],
    IBAN: ["GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432", "DE89370400440532013000",
           "DE89 3704 0044 0532 0130 00", "FR1420041010050500013M02606", "NL91ABNA0417164300",
           "ES9121000418450200051332", "IT60X0542811101000000123456", "CH9300762011623852957", "BE71096123456769"],
    IP: ["203.0.113.7", "8.8.8.8", "192.168.1.20", "10.0.0.1", "172.16.5.4", "169.254.10.20", "2001:db8::1",
         "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1ff:fe23:4567:890a", "fd12:3456:789a::1",
         "::ffff:192.0.2.128"],
    NATIONAL_ID: [
        "536-90-4399",  # US SSN
        "AB123456C", "AB 12 34 56 C",  # UK National Insurance number
        "54362315K", "54362315-K",  # Spanish DNI
        "X2482300W", "Y-1234567-X",  # Spanish NIE
        "RCCMNL83S18D969H",  # Italian codice fiscale
        "2 95 10 99 126 111 93", "295109912611193", 295109912611193,  # French NIR
        "880320-0016", "19880320-0016",  # Swedish personnummer
        "131052-308T",  # Finnish HETU
        "390.533.447-05",  # Brazilian CPF
        "756.9217.0769.85",  # Swiss AHV number
    ],
}


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(value, cls, id=f"{cls.value}-{value!r}") for cls, values in POSITIVES.items() for value in values
])
def test_each_detector_finds_its_class(value: Any, expected: PiiClass) -> None:
    assert classify_value(value) is expected


NEGATIVES: dict[str, list[Any]] = {
    "sku": ["AB-1234", "SKU-000042", "ABC123", "X-200-BLK", "GHK-99812", "AB123456", "AB1234567C"],
    "order id": ["123456", "1234567890", "123456789012", "2024000123456", "1234567890123456789", "ORD-12345678",
                 "000123456789", 123456, 123456789012, 1234567890123456789],
    "amount": ["12.50", "1,234.56", "-7.00", "1234567.89", "+12.50", "€12.50", "12,50 EUR", 12.5, -3, 0],
    "date": ["2024-01-15", "15.01.2024", "01/15/2024", "2024/01/15", "20240115", "15-01-2024", "2024-01-15T10:30:00Z",
             "2024-01-15 10:30:00", "2024-01-15T10:30:00.123+02:00", "10:30:00", "Mon, 15 Jan 2024"],
    "uuid": ["550e8400-e29b-41d4-a716-446655440000", "0b7d5b3c-1f1e-4c1a-9d3e-2f4a5b6c7d8e",
             "550e8400e29b41d4a716446655440000"],
    "version": ["1.2.3", "10.4.17", "v1.2.3", "2.0.0-rc.1"],
    "zip code": ["12345", "12345-6789", "SW1A 1AA", "75008", "1012 AB"],
    "text": ["The quick brown fox jumps over the lazy dog", "call me tomorrow", "Order 12345 shipped to Berlin",
             "deliver after 5pm, ring twice", "n/a", "-", "unknown"],
    "hash": ["d41d8cd98f00b204e9800998ecf8427e", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    "not a scalar": [True, False, None, {}, [], {"email": "john.doe@example.com"}, ["john.doe@example.com"], "true"],
    "email look-alike": ["user@localhost", "@handle", "name@1.2.3", "a..b@example.com", ".a@example.com",
                         "a.@example.com", "John Doe <john@example.com>", "user@example", "user @example.com",
                         "user@exa_mple.com", "user@-example.com", "a@b@example.com", "image@sha256:abc123def"],
    "ip look-alike": ["0.0.0.0", "0.1.2.3", "127.0.0.1", "255.255.255.255", "240.1.2.3", "224.0.0.1", "::1", "::",
                      "1::2", "ff02::1", "00:1a:2b:3c:4d:5e", "192.168.001.001", "256.1.1.1", "1.2.3.4.5",
                      "fe80::1%eth0"],
    "phone look-alike": ["555-1234", "+1", "+12", "+1234", "1234 5678", "(12) 34", "12-34-56", "123 456 7890",
                         "tel:+14155552671", "+1 415 555 2671 ext. 12", "1-800-FLOWERS", "0000 000000"],
    "card look-alike": ["4111111111111112", with_check_digit("123456781234567"), with_check_digit("0" * 15),
                        with_check_digit("4" + "1" * 13),  # Visa prefix, 15 digits: no Visa has them
                        with_check_digit("34" + "1" * 14),  # Amex prefix, 16 digits
                        "490154203237518",  # an IMEI: Luhn-valid, 15 digits
                        "4111 1111 1111 111", "4111  1111 1111 1111", "4111-1111 1111-1111"],
    "iban look-alike": ["GB00 WEST 1234 5698 7654 32", "DE89370400440532013001", "XX89370400440532013000", "GB82"],
    "national id look-alike": ["078-05-1120", "000-12-3456", "666-12-3456", "900-12-3456", "QQ123456C",
                               "AB123456E", "54362315A", "X2482300A", "RCCMNL83S18D969A", "295109912611194",
                               "990320-0016", "390.533.447-06", "756.9217.0769.86"],
}


@pytest.mark.parametrize("value", [
    pytest.param(value, id=f"{kind}-{value!r}") for kind, values in NEGATIVES.items() for value in values
])
def test_look_alikes_are_of_no_class(value: Any) -> None:
    assert classify_value(value) is None


def test_a_value_longer_than_the_cap_is_not_looked_at() -> None:
    padding = " " * MAX_VALUE_CHARS
    assert classify_value(padding + "john.doe@example.com" + padding) is EMAIL  # stripped first
    def address(labels: int) -> str:
        return "a" * 60 + "@" + ".".join(["b" * 50] * labels) + ".example.com"

    assert len(address(3)) <= MAX_VALUE_CHARS < len(address(4))  # both valid by syntax (domain <= 253)
    assert classify_value(address(3)) is EMAIL
    assert classify_value(address(4)) is None


def test_a_value_that_is_a_card_and_a_nir_is_a_card() -> None:
    value = "370010000022096"  # Amex prefix and length, Luhn-valid; a NIR's shape with its mod-97 key
    assert luhn.is_valid(value) and nir.is_valid(value)
    assert classify_value(value) is CARD


@given(st.text(max_size=MAX_VALUE_CHARS + 20))
def test_any_text_gets_a_class_or_none_without_raising(text: str) -> None:
    assert classify_value(text) in (None, *PiiClass)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@given(json_values)
def test_any_json_value_gets_a_class_or_none_without_raising(value: Any) -> None:
    assert classify_value(value) in (None, *PiiClass)


@given(st.text(alphabet=string.digits, min_size=1, max_size=12))
def test_a_short_run_of_digits_is_of_no_class(digits: str) -> None:
    assert classify_value(digits) is None
    assert classify_value(int(digits)) is None


@given(st.text(alphabet=string.digits, min_size=1, max_size=40))
def test_a_bare_run_of_digits_is_never_a_phone(digits: str) -> None:
    assert classify_value(digits) in (None, CARD, NATIONAL_ID)


@pytest.mark.parametrize("value", [
    "+" + "1 " * 127 + "x",
    "(" + "1(" * 127,
    "1-" * 127 + "x",
    "a" * 64 + "@" + "a." * 95 + "1",
    "a." * 64 + "@example.com",
    "1" * 30 + "." + "1" * 30 + "x",
    ":" * MAX_VALUE_CHARS,
])
def test_adversarial_values_are_classified_in_linear_time(value: str) -> None:
    """Shapes that a backtracking pattern would take exponential time over: microseconds here (the best of three
    runs, so a busy machine does not fail it), where catastrophic backtracking would take minutes."""
    def once() -> float:
        started = time.perf_counter()
        classify_value(value)
        return time.perf_counter() - started

    assert min(once() for _ in range(3)) < 0.05


# -- columns ------------------------------------------------------------------------------------------------------


def test_a_column_of_mostly_emails_with_blanks_and_typos_is_email() -> None:
    rng = random.Random(1)
    emails = [f"customer{n}@example.com" for n in range(90)]
    typos = ["customer.example.com", "customer@", "customer@@example.com", "customer@example"] * 3  # 12
    blanks: list[Any] = ["", "   ", None] * 30
    values = emails + typos + blanks
    rng.shuffle(values)
    assert sampled(values) is EMAIL  # 90 of 102 non-empty values: 88 %


def test_blanks_do_not_dilute_a_column() -> None:
    values: list[Any] = ["john.doe@example.com"] * 10 + [""] * 500 + [None] * 400 + [True, {"a": 1}, ["x"]]
    assert sampled(values) is EMAIL


@pytest.mark.parametrize(("emails", "others", "threshold", "expected"), [
    (70, 30, DEFAULT_THRESHOLD, None),
    (79, 21, DEFAULT_THRESHOLD, None),
    (80, 20, DEFAULT_THRESHOLD, EMAIL),
    (70, 30, 0.7, EMAIL),
    (69, 31, 0.7, None),
    (100, 0, 1.0, EMAIL),
    (99, 1, 1.0, None),
    (51, 49, 0.5, EMAIL),
], ids=lambda v: str(v))
def test_the_threshold_is_a_share_of_non_empty_values(emails: int, others: int, threshold: float,
                                                      expected: PiiClass | None) -> None:
    values: list[Any] = [f"user{n}@example.com" for n in range(emails)] + [f"Customer {n}" for n in range(others)]
    assert sampled(values + [""] * 50, threshold) is expected


def test_a_mixed_column_of_several_classes_below_the_threshold_is_of_none() -> None:
    values = ["john.doe@example.com", "+44 20 7946 0958", "4111111111111111", "203.0.113.7"] * 25
    assert sampled(values) is None
    assert sampled(values, threshold=0.25) is EMAIL  # a tie goes to the first class


@pytest.mark.parametrize("threshold", [0, -0.1, 1.01, 2])
def test_a_threshold_outside_0_to_1_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        ColumnSampler().classify(threshold)


def test_random_16_digit_ids_are_not_a_card_column_though_some_pass_luhn_and_a_prefix() -> None:
    rng = random.Random(16)
    ids = [random_digits(rng, 16) for _ in range(SAMPLE_RECORDS)]
    luhn_valid = sum(luhn.is_valid(i) for i in ids) / len(ids)
    cards = sum(classify_value(i) is CARD for i in ids) / len(ids)
    assert 0.07 < luhn_valid < 0.13  # a tenth pass Luhn by chance...
    assert 0.005 < cards < 0.06  # ...and a third of those an issuer's prefix and length
    assert sampled(ids) is None
    assert sampled([int(i) for i in ids]) is None


def test_ids_with_a_luhn_check_digit_are_not_a_card_column_without_issuer_prefixes() -> None:
    rng = random.Random(17)
    ids = [with_check_digit(random_digits(rng, 15)) for _ in range(SAMPLE_RECORDS)]
    assert all(luhn.is_valid(i) for i in ids)
    assert sampled(ids) is None


@pytest.mark.parametrize("cls", list(POSITIVES))
def test_a_column_of_each_class_is_that_class(cls: PiiClass) -> None:
    assert sampled(POSITIVES[cls] * 5) is cls


@pytest.mark.parametrize("kind", [k for k in NEGATIVES if k != "not a scalar"])
def test_a_column_of_look_alikes_is_of_no_class(kind: str) -> None:
    assert sampled(NEGATIVES[kind] * 5) is None


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), length=st.integers(6, 19), prefix=st.sampled_from(["", "ORD-", "#"]))
def test_columns_of_random_order_ids_are_never_phones_or_cards(seed: int, length: int, prefix: str) -> None:
    rng = random.Random(seed)
    ids = [prefix + random_digits(rng, length) for _ in range(200)]
    assert sampled(ids) is None
    if not prefix:
        assert sampled([int(i) for i in ids]) is None


def test_a_record_classifies_each_column_in_first_seen_order() -> None:
    sampler = ColumnSampler()
    for n in range(20):
        record: dict[str, Any] = {"order_id": str(100000 + n), "amount": f"{n}.50", "email": f"u{n}@example.com",
                                  "ip": f"203.0.113.{n + 1}", "note": "fragile"}
        if n >= 10:
            record = {"card": "4111 1111 1111 1111", **record}  # a column first seen later comes last
        sampler.add(record)
    assert list(sampler.classify().items()) == [("email", EMAIL), ("ip", IP), ("card", CARD)]


def test_the_sampler_stops_after_its_records() -> None:
    sampler = ColumnSampler(records=3)
    for _ in range(3):
        assert not sampler.full
        sampler.add({"contact": "john.doe@example.com"})
    assert sampler.full
    for _ in range(100):
        sampler.add({"contact": "not an address", "other": "john.doe@example.com"})
    assert sampler.classify() == {"contact": EMAIL}


def test_the_default_sample_is_the_first_thousand_records() -> None:
    sampler = ColumnSampler()
    for n in range(SAMPLE_RECORDS + 500):
        sampler.add({"contact": "john.doe@example.com" if n < SAMPLE_RECORDS else "Customer"})
    assert SAMPLE_RECORDS == 1000
    assert sampler.full
    assert sampler.classify(threshold=1.0) == {"contact": EMAIL}


def test_an_empty_sampler_classifies_nothing() -> None:
    assert ColumnSampler().classify() == {}
    none = ColumnSampler(records=0)
    assert none.full
    none.add({"contact": "john.doe@example.com"})
    assert none.classify() == {}
    with pytest.raises(ValueError, match="records"):
        ColumnSampler(records=-1)


def test_columns_past_the_limit_are_not_sampled() -> None:
    sampler = ColumnSampler()
    record = {f"c{n}": "john.doe@example.com" for n in range(MAX_COLUMNS + 10)}
    sampler.add(record)
    found = sampler.classify()
    assert len(found) == MAX_COLUMNS
    assert f"c{MAX_COLUMNS - 1}" in found and f"c{MAX_COLUMNS}" not in found


def state_size(sampler: ColumnSampler) -> int:
    """The bytes of the sampler's state: its attributes, its columns and their counters."""
    counts: dict[str, list[int]] = sampler._counts
    return (sys.getsizeof(vars(sampler)) + sum(sys.getsizeof(v) for v in vars(sampler).values())
            + sum(sys.getsizeof(c) + sum(sys.getsizeof(n) for n in c) for c in counts.values()))


def test_the_sampler_state_does_not_grow_with_the_records_added() -> None:
    def filled(records: int) -> ColumnSampler:
        sampler = ColumnSampler(records=200_000)
        for n in range(records):
            sampler.add({"id": str(10**9 + n), "email": f"customer{n}@example.com", "note": f"note number {n}"})
        return sampler

    few, many = filled(10), filled(100_000)
    assert state_size(few) == state_size(many)
    assert many._counts["email"][0] == 100_000  # every value was counted, none kept
    assert many.classify() == few.classify() == {"email": EMAIL}
