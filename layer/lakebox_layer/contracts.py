"""Dataset contracts: what a dataset's records must satisfy and how its files are judged.

A dataset without a contract of its own gets the recipe's rules, which stay the rules of the `default` dataset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from lakebox_layer.settings import DEFAULT_QUALITY_THRESHOLD


@dataclass(frozen=True)
class Contract:
    """Rules for one dataset's records and the threshold its files must reach."""

    name: str
    version: str
    required_fields: tuple[str, ...] = ()
    email_fields: tuple[str, ...] = ("email",)
    phone_fields: tuple[str, ...] = ("phone",)
    quality_threshold: float = DEFAULT_QUALITY_THRESHOLD
    # Required fields apply to JSON records; CSV has a header instead, checked structurally (the recipe's choice).
    required_in_csv: bool = False
    notes: list[str] = field(default_factory=list)


RECIPE_CONTRACT = Contract(
    name="default",
    version="recipe-1",
    required_fields=("id", "timestamp", "data"),
)


def contract_for(dataset: str, threshold: float | None = None) -> Contract:
    """The contract of a dataset: every dataset has the recipe's until per-dataset contracts are published."""
    if threshold is None:
        return RECIPE_CONTRACT
    return replace(RECIPE_CONTRACT, quality_threshold=threshold)
