"""Deterministic zips of the layer and the functions: the same sources give the same bytes, so a second bootstrap
sees an unchanged CodeSha256 and changes nothing. A zip is built once and then read from a cache on this machine,
keyed by the files that went in (their names, sizes and modification times): `lakebox up` with nothing changed
zips nothing."""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
import io
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

from lakebox_infra import project_root

# The layer's third-party code, copied from the installed distributions (no network needed). boto3 is left out:
# the Lambda runtime provides it. All of it is pure Python, so one layer serves x86_64 and arm64. phonenumberslite
# and python-stdnum are validation's personal data detectors (lakebox_layer.classification); they import nothing
# outside the standard library, and their data (numbering plans, IBAN formats) comes with their packages.
VENDORED_DISTRIBUTIONS = ("aws-lambda-powertools", "jmespath", "typing-extensions", "fastjsonschema",
                          "phonenumberslite", "python-stdnum")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Part of every cached zip's key: change it when what goes into a zip changes in a way its files' stats do not show.
ZIP_LAYOUT = 2
# zlib's fastest level: DuckDB's layer zips in a third of the time level 6 takes, 26 MB instead of 23 (Lambda takes
# 50 MB uploaded directly), so a first `lakebox up` builds its packages in about a second.
COMPRESS_LEVEL = 1
CACHE_ENV = "LAKEBOX_WHEEL_CACHE"

log = logging.getLogger("lakebox.bootstrap")


def cache_dir() -> Path:
    """Downloaded wheels, their unpacked trees and built zips: `$LAKEBOX_WHEEL_CACHE`, else
    `$XDG_CACHE_HOME/lakebox/wheels`, else `~/.cache/lakebox/wheels`."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lakebox" / "wheels"


def _wanted(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}


def _zip(entries: Iterable[tuple[str, Path]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes(), compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


def files_key(entries: Iterable[tuple[str, Path]], salt: str = "") -> str:
    """What tells one set of files from another without reading them: each name, size and modification time."""
    digest = hashlib.sha256(f"{ZIP_LAYOUT}\0{salt}\n".encode())
    for name, path in sorted(entries):
        stat = path.stat()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _store(path: Path, archive: bytes, prefix: str) -> None:
    """Cache a built zip, replacing older builds under the same prefix; a cache that cannot be written only costs a
    rebuild next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=".build-")
        with os.fdopen(descriptor, "wb") as file:
            file.write(archive)
        Path(scratch).chmod(0o644)
        Path(scratch).replace(path)
        for older in path.parent.glob(f"{prefix}-*.zip"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not cache %s at %s: %s", prefix, path, error)


def cached_zip(entries: list[tuple[str, Path]], directory: Path, prefix: str, salt: str = "",
               check: Callable[[bytes], None] | None = None) -> bytes:
    """The zip of `entries`, read from `directory` when the same files were zipped before under `prefix`; else built,
    checked with `check` and kept there (older builds under the prefix removed)."""
    path = directory / f"{prefix}-{files_key(entries, salt)}.zip"
    try:
        return path.read_bytes()
    except OSError:
        pass  # not built yet (or replaced meanwhile by another build): build it
    archive = _zip(entries)
    if check is not None:
        check(archive)
    _store(path, archive, prefix)
    return archive


def _tree(root: Path, prefix: str) -> list[tuple[str, Path]]:
    return [
        (f"{prefix}{path.relative_to(root).as_posix()}", path)
        for path in root.rglob("*")
        if path.is_file() and _wanted(path.relative_to(root))
    ]


@functools.cache
def _distribution_files(name: str) -> tuple[tuple[str, Path], ...]:
    """An installed distribution's files (read once per process: reading its RECORD is most of a layer's key)."""
    distribution = importlib.metadata.distribution(name)
    entries = []
    for file in distribution.files or []:
        path = Path(str(file))
        if path.parts[0] == ".." or ".dist-info" in path.parts[0] or not _wanted(path):
            continue
        entries.append((f"python/{path.as_posix()}", Path(str(distribution.locate_file(file)))))
    return tuple(entries)


def layer_entries() -> list[tuple[str, Path]]:
    """The layer's files: our shared library and its vendored dependencies, under `python/` as Lambda expects."""
    entries = _tree(project_root() / "layer", "python/")
    for name in VENDORED_DISTRIBUTIONS:
        entries.extend(_distribution_files(name))
    return entries


def checkout_key(salt: str = "") -> str:
    """What the topology is built from, as one key (see :func:`files_key`): the infra package, the layer with its
    vendored dependencies, the functions and the contracts. Any edit to any of them gives another key."""
    root = project_root()
    entries = [*layer_entries(), *_tree(root / "infra" / "lakebox_infra", "infra/"),
               *_tree(root / "lambdas", "lambdas/"), *_tree(root / "contracts", "contracts/")]
    return files_key(entries, salt)


def build_layer() -> bytes:
    return cached_zip(layer_entries(), cache_dir() / "packages", "shared-layer")


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
    return cached_zip(entries, cache_dir() / "packages", f"function-{stage}{'+bundled' if bundle_layer else ''}")


def code_sha256(archive: bytes) -> str:
    """The digest Lambda reports as CodeSha256 (base64 of SHA-256)."""
    return base64.b64encode(hashlib.sha256(archive).digest()).decode()
