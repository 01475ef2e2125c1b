"""`unmarshal` decodes DynamoDB's wire form in one pass to exactly what boto3's deserializer followed by
`from_dynamo` gives: integral numbers as int, the others as float, maps and lists all the way down, and sets and
binaries as boto3 gives them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from lakebox_layer.adapters.metadata import from_dynamo, marshal, unmarshal

WIRE: dict[str, Any] = {
    "S": {"S": "quality"}, "Int": {"N": "4"}, "IntAsDecimal": {"N": "4.000"}, "Exponent": {"N": "1E+3"},
    "Float": {"N": "87.5"}, "Negative": {"N": "-0.25"}, "True": {"BOOL": True}, "False": {"BOOL": False},
    "Null": {"NULL": True}, "Map": {"M": {"a": {"N": "1"}, "b": {"L": [{"S": "x"}, {"N": "2.5"}, {"NULL": True}]}}},
    "List": {"L": [{"M": {"deep": {"M": {"n": {"N": "7"}}}}}]}, "Strings": {"SS": ["a", "b"]},
    "Numbers": {"NS": ["1", "2.5"]}, "Binary": {"B": b"\x00\x01"}, "Binaries": {"BS": [b"\x02"]},
}


def test_every_type_decodes_as_boto3_then_from_dynamo_do() -> None:
    expected = from_dynamo({k: TypeDeserializer().deserialize(v) for k, v in WIRE.items()})
    decoded = unmarshal(WIRE)
    assert decoded == expected
    assert {k: type(v) for k, v in decoded.items()} == {k: type(v) for k, v in expected.items()}


def test_numbers_are_plain_python_numbers() -> None:
    decoded = unmarshal(WIRE)
    assert (decoded["Int"], decoded["IntAsDecimal"], decoded["Exponent"]) == (4, 4, 1000)
    assert all(type(decoded[k]) is int for k in ("Int", "IntAsDecimal", "Exponent"))
    assert (decoded["Float"], decoded["Negative"]) == (87.5, -0.25)
    assert decoded["Map"] == {"a": 1, "b": ["x", 2.5, None]}
    assert decoded["List"] == [{"deep": {"n": 7}}]
    assert decoded["Numbers"] == {Decimal("1"), Decimal("2.5")}
    assert decoded["Binary"] == Binary(b"\x00\x01")


@pytest.mark.parametrize("item", [
    {"ProcessId": "p", "QualityScore": 87.5, "RecordsTotal": 4, "Passed": True, "Errors": ["a", {"row": 3}]},
    {"Nested": {"list": [1, 2.25, "s", None, False]}, "Empty": "", "Zero": 0},
])
def test_marshal_then_unmarshal_gives_the_item_back(item: dict[str, Any]) -> None:
    assert unmarshal(marshal(item)) == item
