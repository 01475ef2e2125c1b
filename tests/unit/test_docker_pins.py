"""The versions the emulator image and the ready.d hook are pinned to stay inside the ranges the project declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

from lakebox_infra.native_layers import LAYERS
from lakebox_infra.packaging import VENDORED_DISTRIBUTIONS

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
    for name, version in pins.items():
        if name not in declared:  # a dependency of a dependency (cffi, of cryptography; jmespath, of boto3)
            continue
        assert declared[name].contains(version), f"{name}=={version} is outside pyproject's {declared[name]}"


def test_the_hook_interpreter_has_everything_the_layers_are_made_of() -> None:
    """Inside the emulator's container the hook's interpreter provisions, and its installed distributions make the
    shared layer and the native layers (the functions run on it): each one must be pinned, else provisioning fails
    there."""
    pins = _pins()
    assert {"boto3", *VENDORED_DISTRIBUTIONS} <= set(pins), set(VENDORED_DISTRIBUTIONS) - set(pins)
    for layer in LAYERS.values():
        missing = [name for name in layer.distributions if name not in pins]
        assert not missing, f"the {layer.name} layer needs {missing} in docker/hook-requirements.txt"
