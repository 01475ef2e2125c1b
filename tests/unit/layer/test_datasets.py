"""Dataset names: which are valid, why the others are refused, and the table each valid one becomes."""

from __future__ import annotations

import pytest

from lakebox_layer.datasets import (
    DATASET_NAME_RULE,
    MAX_DATASET_NAME_LENGTH,
    dataset_name_problem,
    table_name,
)
from lakebox_layer.records import dataset_of


@pytest.mark.parametrize(
    ("dataset", "table"),
    [
        ("default", "default"),
        ("sales", "sales"),
        ("sales_eu", "sales_eu"),
        ("sales-eu", "sales_eu"),
        ("orders2026", "orders2026"),
        ("a", "a"),
        ("x-1_y-2", "x_1_y_2"),
        ("a" * MAX_DATASET_NAME_LENGTH, "a" * MAX_DATASET_NAME_LENGTH),
    ],
)
def test_a_valid_name_and_its_table(dataset: str, table: str) -> None:
    assert dataset_name_problem(dataset) is None
    assert dataset_name_problem(dataset) is None
    assert table_name(dataset) == table


@pytest.mark.parametrize(
    "dataset",
    [
        "",
        "Sales",  # uppercase is refused, not lower-cased: `Sales/` and `sales/` stay apart
        "UPPER",
        "Bad Name",
        "..",
        ".hidden",
        "1sales",
        "_sales",
        "-sales",
        "sales eu",
        "sales.eu",
        "sales/eu",
        "données",
        "sales\n",
        "a" * (MAX_DATASET_NAME_LENGTH + 1),
    ],
)
def test_an_invalid_name_is_refused_with_the_rule(dataset: str) -> None:
    problem = dataset_name_problem(dataset)

    assert problem is not None
    assert problem.endswith(DATASET_NAME_RULE)
    assert dataset_name_problem(dataset) is not None
    with pytest.raises(ValueError, match="is not a valid dataset name"):
        table_name(dataset)


def test_the_reason_quotes_the_name_unambiguously() -> None:
    expected = f'dataset "Bad Name" is not a valid dataset name: use {DATASET_NAME_RULE}'
    assert dataset_name_problem("Bad Name") == expected
    assert 'dataset "sales\\n"' in (dataset_name_problem("sales\n") or "")
    assert 'dataset "données"' in (dataset_name_problem("données") or "")


def test_a_very_long_name_is_shortened_in_the_reason() -> None:
    problem = dataset_name_problem("A" * 1000) or ""
    assert "A" * 120 + '..."' in problem
    assert len(problem) < 300


def test_the_rule_names_every_part() -> None:
    for part in ("lowercase letters", "digits", '"_"', '"-"', "starting with a letter", str(MAX_DATASET_NAME_LENGTH)):
        assert part in DATASET_NAME_RULE


@pytest.mark.parametrize(
    ("key", "valid"),
    [
        ("input/a.json", True),  # default
        ("input/default/a.json", True),
        ("input/sales-eu/2026/01/a.csv", True),  # nested keys belong to their first folder
        ("input/Bad Name/x.json", False),
        ("input/UPPER/x.csv", False),
        ("input/sales/Nested Upper/x.csv", True),  # only the first folder names the dataset
    ],
)
def test_the_dataset_of_a_raw_key_is_checked_by_its_first_folder(key: str, valid: bool) -> None:
    assert (dataset_name_problem(dataset_of(key)) is None) is valid
