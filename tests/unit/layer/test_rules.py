"""RecordJudge: each lakebox field rule, for CSV text values and for JSON values as they are."""

from __future__ import annotations

from typing import Any

import pytest

from lakebox_layer.contracts import parse_contract
from lakebox_layer.records import FileFormat
from lakebox_layer.rules import RecordJudge, Violation, is_valid_email, is_valid_phone

CSV = FileFormat.CSV
JSON = FileFormat.JSON
JSONL = FileFormat.JSON_LINES


def judge_of(file_format: FileFormat, schema: dict[str, Any] | None = None, **fields: dict[str, Any]) -> RecordJudge:
    document: dict[str, Any] = {"dataset": "t", "version": "1", "fields": fields}
    if schema is not None:
        document["schema"] = schema
    return RecordJudge(parse_contract(document), file_format)


def broken(rules: dict[str, Any], value: Any, file_format: FileFormat) -> list[Violation]:
    """The violations of a record whose only field `f` holds `value`, under `rules`."""
    return judge_of(file_format, f=rules).judge({"f": value})


def rules_broken(rules: dict[str, Any], value: Any, file_format: FileFormat) -> list[str]:
    return [v.rule for v in broken(rules, value, file_format)]


# -- one table per rule: (value, file format, passes) -----------------------------------------------------------


def case(value: Any, file_format: FileFormat, passes: bool) -> Any:
    return pytest.param(value, file_format, passes, id=f"{file_format.value}-{value!r}-{'ok' if passes else 'bad'}")


TYPE_CASES = {
    "string": [
        case("abc", CSV, True), case("123", CSV, True),
        case("abc", JSON, True), case(123, JSON, False), case(True, JSON, False), case(["a"], JSON, False),
        case({"a": 1}, JSONL, False),
    ],
    "integer": [
        case("42", CSV, True), case("-7", CSV, True), case("+3", CSV, True), case(" 12 ", CSV, True),
        case("4.2", CSV, False), case("1e3", CSV, False), case("x", CSV, False), case("4,000", CSV, False),
        case("1_000", CSV, False),
        case(42, JSON, True), case(-7, JSONL, True), case("42", JSON, False), case(4.2, JSON, False),
        case(4.0, JSON, False), case(True, JSON, False), case(None, JSON, True),  # null is blank: skipped
    ],
    "number": [
        case("4.2", CSV, True), case("-0.5", CSV, True), case("1e3", CSV, True), case("42", CSV, True),
        case("abc", CSV, False), case("nan", CSV, False), case("inf", CSV, False), case("4,2", CSV, False),
        # Python's float() takes "1_000" (a Python literal); no CSV reader does, and integer already refuses it.
        case("1_000", CSV, False),
        case(4.2, JSON, True), case(3, JSON, True), case(-1e300, JSON, True),
        case("4.2", JSON, False), case(True, JSON, False), case(float("nan"), JSON, False),
        case(float("inf"), JSON, False), case([1], JSON, False),
    ],
    "boolean": [
        *(case(text, CSV, True) for text in ("true", "FALSE", "1", "0", "yes", "No", "t", "f", "y", "n")),
        case("maybe", CSV, False), case("2", CSV, False), case("truee", CSV, False),
        case(True, JSON, True), case(False, JSON, True),
        case("true", JSON, False), case(1, JSON, False), case(0, JSON, False),
    ],
    "date": [
        case("2026-01-15", CSV, True), case("2024-02-29", CSV, True), case("2026-01-15", JSON, True),
        case("2026-02-30", CSV, False), case("15/01/2026", CSV, False), case("yesterday", CSV, False),
        case("2026-13-01", JSON, False), case(20260115, JSON, False),
    ],
    "datetime": [
        case("2026-01-15T10:30:00", CSV, True), case("2026-01-15T10:30:00+02:00", CSV, True),
        case("2026-01-15T10:30:00.123Z", JSON, True),
        case("2026-01-15T25:00:00", CSV, False), case("not a time", CSV, False), case(1768473000, JSON, False),
    ],
}


@pytest.mark.parametrize(
    ("kind", "value", "file_format", "passes"),
    [pytest.param(kind, *p.values, id=f"{kind}-{p.id}") for kind, cases in TYPE_CASES.items() for p in cases],
)
def test_type(kind: str, value: Any, file_format: FileFormat, passes: bool) -> None:
    assert rules_broken({"type": kind}, value, file_format) == ([] if passes else ["type"])


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [("integer", "x", "not an integer"), ("number", "x", "not a number"), ("boolean", "x", "not a boolean"),
     ("date", "x", "not a date (YYYY-MM-DD)"), ("datetime", "x", "not an ISO 8601 date-time")],
)
def test_type_messages_name_the_type_and_the_violation_keeps_the_value(kind: str, value: str, message: str) -> None:
    assert broken({"type": kind}, value, CSV) == [Violation("type", "f", message, value)]


FORMAT_CASES = {
    "email": [
        case("ann@example.com", CSV, True), case("first.last+tag@sub.example.co.uk", JSON, True),
        case(" ann@example.com ", CSV, True),
        case("ann@", CSV, False), case("ann@example", JSON, False), case("ann smith@example.com", CSV, False),
        case(5, JSON, False),
    ],
    "phone": [
        case("+1-555-123-4567", CSV, True), case("(555) 123-4567", JSON, True), case("+44 20 7946 0958", CSV, True),
        case("123", CSV, False), case("555-CALL-NOW", JSON, False), case(15551234567, JSON, False),
    ],
    "date": [case("2026-01-15", CSV, True), case("2026-01-32", CSV, False), case(True, JSON, False)],
    "datetime": [case("2026-01-15T10:30:00", JSON, True), case("10:30", CSV, False)],
}


@pytest.mark.parametrize(
    ("kind", "value", "file_format", "passes"),
    [pytest.param(kind, *p.values, id=f"{kind}-{p.id}") for kind, cases in FORMAT_CASES.items() for p in cases],
)
def test_format(kind: str, value: Any, file_format: FileFormat, passes: bool) -> None:
    assert rules_broken({"format": kind}, value, file_format) == ([] if passes else ["format"])


def test_format_messages() -> None:
    assert broken({"format": "email"}, "nope", CSV) == [Violation("format", "f", "invalid email", "nope")]
    assert broken({"format": "phone"}, "12", JSON) == [Violation("format", "f", "invalid phone", "12")]


@pytest.mark.parametrize(
    ("pattern", "value", "file_format", "passes"),
    [
        (r"^[A-Z]{2}-\d{3}$", "AB-123", CSV, True),
        (r"^[A-Z]{2}-\d{3}$", "ab-123", CSV, False),
        (r"^[A-Z]{2}-\d{3}$", "AB-1234", JSON, False),
        # Unanchored patterns search, as JSON Schema's `pattern` does.
        (r"[0-9]", "a1b", CSV, True),
        (r"[0-9]", "abc", JSON, False),
        # A JSON number is matched as its text.
        (r"^\d{3}$", 123, JSON, True),
        (r"^\d{3}$", 1234, JSON, False),
    ],
)
def test_pattern(pattern: str, value: Any, file_format: FileFormat, passes: bool) -> None:
    found = broken({"pattern": pattern}, value, file_format)
    assert found == ([] if passes else [Violation("pattern", "f", "does not match the pattern", value)])


@pytest.mark.parametrize(
    ("enum", "value", "file_format", "passes"),
    [
        (["EUR", "USD"], "EUR", CSV, True),
        (["EUR", "USD"], "eur", CSV, False),
        (["EUR", "USD"], " EUR", CSV, False),
        (["EUR", "USD"], "USD", JSON, True),
        (["EUR", "USD"], "GBP", JSON, False),
        # CSV cells are text: a numeric enum matches the number's text.
        ([1, 2], "1", CSV, True),
        ([1, 2], "3", CSV, False),
        # JSON values are compared as they are.
        ([1, 2], 1, JSON, True),
        ([1, 2], "1", JSON, False),
        (["a"], ["a"], JSON, False),
        (["a"], {"a": 1}, JSONL, False),
    ],
)
def test_enum(enum: list[Any], value: Any, file_format: FileFormat, passes: bool) -> None:
    assert rules_broken({"enum": enum}, value, file_format) == ([] if passes else ["enum"])


def test_enum_message_lists_the_allowed_values() -> None:
    [violation] = broken({"enum": ["EUR", "USD"]}, "GBP", CSV)
    assert violation.message == "not one of: EUR, USD"
    assert violation.value == "GBP"


@pytest.mark.parametrize(
    ("enum", "value"),
    [([1], True), ([True], 1)],
    ids=["true-is-not-1", "1-is-not-true"],
)
def test_json_enum_tells_booleans_from_numbers(enum: list[Any], value: Any) -> None:
    # JSON true and 1 are different values (JSON Schema's enum says so too); Python's True == 1 must not leak in.
    assert rules_broken({"enum": enum}, value, JSON) == ["enum"]


@pytest.mark.parametrize(
    ("value", "file_format", "message"),
    [
        ("0", CSV, None), ("10", CSV, None), ("5.5", CSV, None), (" 7 ", CSV, None),
        ("-1", CSV, "below the minimum 0"), ("10.01", CSV, "above the maximum 10"), ("abc", CSV, "not a number"),
        ("nan", CSV, "not a number"),
        (0, JSON, None), (10, JSON, None), (2.5, JSON, None),
        (-1, JSON, "below the minimum 0"), (11, JSON, "above the maximum 10"), (True, JSON, "not a number"),
        ([5], JSON, "not a number"),
    ],
)
def test_range(value: Any, file_format: FileFormat, message: str | None) -> None:
    found = broken({"minimum": 0, "maximum": 10}, value, file_format)
    assert found == ([] if message is None else [Violation("range", "f", message, value)])


def test_range_with_one_bound_only() -> None:
    assert rules_broken({"minimum": 1}, "1000000", CSV) == []
    assert rules_broken({"minimum": 1}, "0.5", CSV) == ["range"]
    assert rules_broken({"maximum": 1}, -1e9, JSON) == []
    assert rules_broken({"maximum": 1}, 2, JSON) == ["range"]


def test_json_range_does_not_parse_strings() -> None:
    # "JSON values are checked as they are": the JSON string "5" is not a number, whatever its text says (the
    # JSON string "abc" already is "not a number", and so is a JSON number wrapped in a list).
    assert broken({"minimum": 0, "maximum": 10}, "5", JSON) == [Violation("range", "f", "not a number", "5")]


# -- required and blanks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", [CSV, JSON])
@pytest.mark.parametrize("blank", [None, "", "   ", "\t"], ids=["null", "empty", "spaces", "tab"])
def test_required_field_blank_is_missing(file_format: FileFormat, blank: Any) -> None:
    judge = judge_of(file_format, f={"required": True})
    assert judge.judge({"f": blank}) == [Violation("required", "f", "missing required field")]


@pytest.mark.parametrize("file_format", [CSV, JSON])
def test_required_field_absent_is_missing(file_format: FileFormat) -> None:
    assert judge_of(file_format, f={"required": True}).judge({"g": "x"}) == [
        Violation("required", "f", "missing required field"),
    ]


@pytest.mark.parametrize("value", ["x", "0", 0, False, [], {}], ids=repr)
def test_required_field_with_a_value_is_present(value: Any) -> None:
    # Zero, false and empty containers are values, not blanks.
    assert judge_of(JSON, f={"required": True}).judge({"f": value}) == []


def test_a_blank_required_field_reports_only_that_it_is_missing() -> None:
    judge = judge_of(CSV, f={"required": True, "type": "integer", "format": "email", "pattern": "^x$",
                             "enum": ["a"], "minimum": 1})
    assert [v.rule for v in judge.judge({"f": ""})] == ["required"]


@pytest.mark.parametrize(
    "rules",
    [{"type": "integer"}, {"type": "boolean"}, {"format": "email"}, {"format": "phone"}, {"pattern": "^x$"},
     {"enum": ["a"]}, {"minimum": 1, "maximum": 2}, {"type": "date", "format": "date"}],
    ids=lambda rules: ",".join(rules),
)
@pytest.mark.parametrize(("blank", "file_format"), [("", CSV), ("  ", CSV), (None, JSON), ("", JSON)])
def test_blank_optional_values_skip_every_other_check(rules: dict[str, Any], blank: Any,
                                                      file_format: FileFormat) -> None:
    assert broken(rules, blank, file_format) == []
    assert judge_of(file_format, f=rules).judge({}) == []


def test_several_rules_of_one_field_are_all_reported() -> None:
    found = broken({"type": "integer", "minimum": 10, "pattern": "^1"}, "5", CSV)
    assert sorted(v.rule for v in found) == ["pattern", "range"]
    found = broken({"type": "integer", "minimum": 10, "pattern": "^1"}, "x", CSV)
    assert sorted(v.rule for v in found) == ["pattern", "range", "type"]


def test_fields_without_rules_are_not_checked() -> None:
    judge = judge_of(JSON, a={"type": "integer"})
    assert judge.judge({"a": 1, "b": "anything", "c": None}) == []


# -- unique -------------------------------------------------------------------------------------------------------


def test_unique_reports_each_repeat_of_a_value_with_the_value() -> None:
    judge = judge_of(CSV, id={"unique": True})
    verdicts = [judge.judge({"id": value}) for value in ["1", "2", "1", "3", "1"]]
    assert verdicts == [
        [], [], [Violation("unique", "id", "duplicate value within the file", "1")], [],
        [Violation("unique", "id", "duplicate value within the file", "1")],
    ]


def test_unique_is_per_file() -> None:
    contract = parse_contract({"dataset": "t", "version": "1", "fields": {"id": {"unique": True}}})
    first, second = RecordJudge(contract, CSV), RecordJudge(contract, CSV)
    assert first.judge({"id": "7"}) == []
    assert second.judge({"id": "7"}) == []  # another file: a fresh judge
    assert [v.rule for v in first.judge({"id": "7"})] == ["unique"]


def test_unique_ignores_blanks_and_compares_text_exactly() -> None:
    judge = judge_of(CSV, id={"unique": True})
    assert [judge.judge({"id": value}) for value in ["", "", "  ", "a", "A", " a"]] == [[]] * 6


def test_unique_fields_are_independent() -> None:
    judge = judge_of(JSON, a={"unique": True}, b={"unique": True})
    assert judge.judge({"a": 1, "b": 1}) == []
    assert [(v.rule, v.field) for v in judge.judge({"a": 2, "b": 1})] == [("unique", "b")]


def test_unique_compares_json_values_by_content() -> None:
    judge = judge_of(JSON, v={"unique": True})
    assert judge.judge({"v": {"a": 1, "b": [1, 2]}}) == []
    assert [v.rule for v in judge.judge({"v": {"b": [1, 2], "a": 1}})] == ["unique"]
    assert judge.judge({"v": [2, 1]}) == []
    assert judge.judge({"v": 1}) == []
    assert [v.rule for v in judge.judge({"v": 1})] == ["unique"]


@pytest.mark.parametrize(("first", "second"), [(1, "1"), (True, "true")], ids=["number-and-string",
                                                                                "boolean-and-string"])
def test_unique_tells_json_types_apart(first: Any, second: Any) -> None:
    # The JSON number 1 and the JSON string "1" (or true and "true") are different values: not duplicates.
    judge = judge_of(JSON, id={"unique": True})
    assert judge.judge({"id": first}) == []
    assert judge.judge({"id": second}) == []


# -- JSON Schema --------------------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "required": ["id", "ts"], "properties": {"id": {"type": "integer"}}}


@pytest.mark.parametrize("file_format", [JSON, JSONL])
def test_schema_violations_are_named_schema_keyword(file_format: FileFormat) -> None:
    judge = judge_of(file_format, schema=SCHEMA)
    assert judge.judge({"id": 1, "ts": "t"}) == []
    found = judge.judge({"id": "x"})
    assert [(v.rule, v.field) for v in found] == [("schema:required", "ts"), ("schema:type", "id")]
    assert found[0].message == "missing required field"
    assert all(v.value is None for v in found)  # schema messages never carry the value


def test_csv_records_get_the_field_rules_but_never_the_schema() -> None:
    judge = judge_of(CSV, schema=SCHEMA, email={"format": "email"})
    assert judge.judge({"name": "Ann"}) == []
    assert [v.rule for v in judge.judge({"name": "Ann", "email": "x"})] == ["format"]


def test_field_rules_and_schema_both_apply_to_json() -> None:
    judge = judge_of(JSON, schema=SCHEMA, id={"required": True, "minimum": 10})
    assert [v.rule for v in judge.judge({"ts": "t"})] == ["required", "schema:required"]
    assert [v.rule for v in judge.judge({"id": 5, "ts": "t"})] == ["range"]


# -- the building blocks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["ann@example.com", "A_B%c-d@x-y.io", "  ann@example.com  "])
def test_valid_emails(value: str) -> None:
    assert is_valid_email(value)


@pytest.mark.parametrize("value", ["ann@", "@example.com", "ann@example.c", "ann@@example.com", "", None, 42])
def test_invalid_emails(value: Any) -> None:
    assert not is_valid_email(value)


@pytest.mark.parametrize("value", ["+1-555-123-4567", "+15551234567", "555.123.4567", "1234567"])
def test_valid_phones(value: str) -> None:
    assert is_valid_phone(value)


@pytest.mark.parametrize("value", ["123", "+0-555-123-4567", "+1 555 123 4567 8901 2", "", None, 15551234567])
def test_invalid_phones(value: Any) -> None:
    assert not is_valid_phone(value)
