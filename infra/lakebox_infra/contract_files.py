"""The contracts bootstrap publishes: `contracts/<dataset>.json` in the project's checkout, checked before use."""

from __future__ import annotations

import json
from pathlib import Path

from lakebox_infra import project_root
from lakebox_layer.contracts import Contract, parse_contract
from lakebox_layer.exceptions import ContractInvalid


def contracts(source: Path | None = None) -> list[Contract]:
    """Every `contracts/<dataset>.json`, checked; a malformed one raises :class:`ContractInvalid` naming its file."""
    found = []
    for path in sorted((source or project_root() / "contracts").glob("*.json")):
        try:
            document = json.loads(path.read_text())
        except ValueError as error:
            raise ContractInvalid(f"{path.name}: not JSON: {error}") from error
        if not isinstance(document, dict) or document.get("dataset") != path.stem:
            raise ContractInvalid(f"{path.name}: its 'dataset' must be {path.stem!r}, the file's name")
        try:
            found.append(parse_contract(document))
        except ContractInvalid as error:
            raise ContractInvalid(f"{path.name}: {error}") from error
    return found
