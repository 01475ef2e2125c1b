"""Deterministic zips of the layer and the functions: the same sources give the same bytes, so a second bootstrap
sees an unchanged CodeSha256 and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path

from lakebox_infra import project_root

# The layer's third-party code, copied from the installed distributions (no network needed). boto3 is left out:
# the Lambda runtime provides it. All of it is pure Python, so one layer serves x86_64 and arm64. phonenumberslite
# and python-stdnum are validation's personal data detectors (lakebox_layer.classification); they import nothing
# outside the standard library, and their data (numbering plans, IBAN formats) comes with their packages.
VENDORED_DISTRIBUTIONS = ("aws-lambda-powertools", "jmespath", "typing-extensions", "fastjsonschema",
                          "phonenumberslite", "python-stdnum")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _wanted(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}


def _zip(entries: Iterable[tuple[str, Path]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return buffer.getvalue()


def _tree(root: Path, prefix: str) -> list[tuple[str, Path]]:
    return [
        (f"{prefix}{path.relative_to(root).as_posix()}", path)
        for path in root.rglob("*")
        if path.is_file() and _wanted(path.relative_to(root))
    ]


def _distribution_files(name: str) -> list[tuple[str, Path]]:
    distribution = importlib.metadata.distribution(name)
    entries = []
    for file in distribution.files or []:
        path = Path(str(file))
        if path.parts[0] == ".." or ".dist-info" in path.parts[0] or not _wanted(path):
            continue
        entries.append((f"python/{path.as_posix()}", Path(str(distribution.locate_file(file)))))
    return entries


def layer_entries() -> list[tuple[str, Path]]:
    """The layer's files: our shared library and its vendored dependencies, under `python/` as Lambda expects."""
    entries = _tree(project_root() / "layer", "python/")
    for name in VENDORED_DISTRIBUTIONS:
        entries.extend(_distribution_files(name))
    return entries


def build_layer() -> bytes:
    return _zip(layer_entries())


def build_function(stage: str, *, bundle_layer: bool = False, extra: Iterable[tuple[str, Path]] = ()) -> bytes:
    """A function's zip; with `bundle_layer`, the layer's files too, at the zip's root, for emulators that create
    layers but do not apply them. `extra` entries (name in the zip, file) are added as named: another layer's files
    bundled the same way."""
    source = project_root() / "lambdas" / stage
    if not (source / "handler.py").is_file():
        raise FileNotFoundError(f"no handler for function {stage!r} at {source}/handler.py")
    entries = _tree(source, "")
    if bundle_layer:
        entries.extend((name.removeprefix("python/"), path) for name, path in layer_entries())
    entries.extend(extra)
    return _zip(entries)


def code_sha256(archive: bytes) -> str:
    """The digest Lambda reports as CodeSha256 (base64 of SHA-256)."""
    return base64.b64encode(hashlib.sha256(archive).digest()).decode()
