"""The versions the emulator image and the ready.d hook are pinned to stay inside the ranges the project declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from lakebox_infra.native_layers import LAYERS

ROOT = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    lines = (ROOT / "docker" / "hook-requirements.txt").read_text().splitlines()
    pins = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            [specifier] = requirement.specifier
            assert specifier.operator == "==", f"{line!r} is not pinned"
            pins[requirement.name] = specifier.version
    return pins


def test_every_hook_dependency_is_pinned_within_the_declared_range() -> None:
    declared = {Requirement(text).name: Requirement(text).specifier
                for text in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    pins = _pins()
    assert set(pins) == {"boto3", "aws-lambda-powertools", "fastjsonschema", "duckdb", "cryptography", "cffi"}
    for name, version in pins.items():
        if name not in declared:  # a dependency of a dependency (cffi, of cryptography)
            continue
        assert declared[name].contains(version), f"{name}=={version} is outside pyproject's {declared[name]}"


def test_the_hook_interpreter_has_every_native_layer() -> None:
    """Inside the emulator's container the functions run on the hook's interpreter, whose installed distributions
    make the native layers: each one must be pinned, else provisioning fails there."""
    pins = _pins()
    for layer in LAYERS.values():
        missing = [name for name in layer.distributions if name not in pins]
        assert not missing, f"the {layer.name} layer needs {missing} in docker/hook-requirements.txt"
