"""DuckDB's own Lambda layer, `<project>-duckdb`, apart from the shared layer: only the function that writes Parquet
carries its ~70 MB engine.

A compiled engine imports only on the interpreter it was built for. MiniStack runs every function on its own
interpreter, whatever the declared runtime, so there the layer holds the duckdb installed here
(:attr:`Source.INSTALLED`, no network). AWS and LocalStack run the declared runtime, so there it holds that runtime's
manylinux x86_64 wheel of the same version (:attr:`Source.WHEEL`), downloaded once with pip into a cache
(`python -m lakebox_infra.duckdb_layer --fetch` fills it ahead of time). Built zips are deterministic and cached as
well, so a second bootstrap neither rebuilds nor republishes the layer.
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import importlib.metadata
import io
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

from lakebox_infra import packaging
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.topology import RUNTIME
from lakebox_layer.settings import ResourceNames

log = logging.getLogger("lakebox.bootstrap")

DISTRIBUTION = "duckdb"
# AWS refuses a layer (or function) zip over 50 MB uploaded directly rather than from S3, and a function whose code
# plus all its layers exceeds 250 MB unzipped (Lambda's MB are MiB).
MAX_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# What pip is asked for: wheels for the runtime's x86_64 Amazon Linux.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
# glibc of Amazon Linux 2023, the OS of the python3.12 runtime: a wheel needing a newer one would not load.
RUNTIME_GLIBC = (2, 34)
PIP_TIMEOUT_S = 600
CACHE_ENV = "LAKEBOX_WHEEL_CACHE"
# Part of every cached zip's key: change it when the layer's layout changes, so older zips are not reused.
_LAYOUT = 1
_RUNTIME = re.compile(r"python(\d)\.(\d+)")
_MANYLINUX = re.compile(r"manylinux(?:1|2010|2014|_(\d+)_(\d+))_x86_64")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
# Installer bookkeeping, not needed to import (direct_url.json may name the machine it was installed from).
_INSTALL_RECORDS = {"INSTALLER", "REQUESTED", "direct_url.json"}


class Source(enum.Enum):
    """Where the layer's duckdb comes from."""

    INSTALLED = "installed"  # the distribution installed in this interpreter: for emulators that run functions on it
    WHEEL = "wheel"  # the declared runtime's wheel, downloaded and cached: for AWS and LocalStack


def source_for(host_interpreter: bool) -> Source:
    """The installed distribution where functions run on the emulator's interpreter, else the runtime's wheel."""
    return Source.INSTALLED if host_interpreter else Source.WHEEL


def layer_name(names: ResourceNames) -> str:
    return f"{names.project}-duckdb"


def installed_version() -> str:
    """The duckdb version installed here, which the runtime's wheel must match."""
    return importlib.metadata.version(DISTRIBUTION)


def _runtime_version(runtime: str) -> tuple[int, int]:
    match = _RUNTIME.fullmatch(runtime)
    if match is None:
        raise ValueError(f"not a Python Lambda runtime: {runtime!r}")
    return int(match[1]), int(match[2])


def python_tag(runtime: str = RUNTIME) -> str:
    """The CPython tag of a Lambda runtime: "python3.12" -> "cp312"."""
    major, minor = _runtime_version(runtime)
    return f"cp{major}{minor}"


def cache_dir() -> Path:
    """Downloaded wheels, their unpacked trees and built layer zips: `$LAKEBOX_WHEEL_CACHE`, else
    `$XDG_CACHE_HOME/lakebox/wheels`, else `~/.cache/lakebox/wheels`."""
    if override := os.environ.get(CACHE_ENV):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lakebox" / "wheels"


def runs_on(tag: str, runtime: str = RUNTIME) -> bool:
    """Whether a wheel tag ("cp312-abi3-manylinux_2_28_x86_64") loads on the runtime's x86_64 Amazon Linux: the
    runtime's own CPython ABI, or the stable ABI of an older-or-equal CPython 3, on a manylinux it provides."""
    parts = tag.split("-")
    if len(parts) != 3:
        return False
    interpreter, abi, platform = parts
    manylinux = _MANYLINUX.fullmatch(platform)
    if manylinux is None:
        return False
    legacy = platform.removeprefix("manylinux").removesuffix("_x86_64")
    glibc = _LEGACY_GLIBC.get(legacy) or (int(manylinux[1]), int(manylinux[2]))
    if glibc > RUNTIME_GLIBC:
        return False
    major, minor = _runtime_version(runtime)
    if interpreter == abi == f"cp{major}{minor}":
        return True
    stable = re.fullmatch(r"cp(\d)(\d+)", interpreter)
    return abi == "abi3" and stable is not None and int(stable[1]) == major and int(stable[2]) <= minor


def wheel_tags(wheel: Path) -> list[str]:
    """The `Tag:` lines of the wheel's `*.dist-info/WHEEL`."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [name for name in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/WHEEL", name)]
            if len(names) != 1:
                raise ProvisioningError(f"{wheel.name} is not a wheel: it has {len(names)} *.dist-info/WHEEL files")
            text = archive.read(names[0]).decode()
    except (OSError, zipfile.BadZipFile) as error:
        raise ProvisioningError(f"cannot read wheel {wheel}: {error}") from error
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Tag:")]


def check_wheel(wheel: Path, runtime: str = RUNTIME) -> str:
    """The first of the wheel's tags the runtime loads, or :class:`ProvisioningError` listing them all."""
    tags = wheel_tags(wheel)
    for tag in tags:
        if runs_on(tag, runtime):
            return tag
    own = python_tag(runtime)
    raise ProvisioningError(
        f"{wheel.name} does not load on the {runtime} runtime (x86_64): its tags are {', '.join(tags) or 'none'}; "
        f"it needs {own}-{own}-manylinux*_x86_64 or a CPython 3 abi3 tag up to {own}"
    )


def cached_wheel(version: str | None = None, runtime: str = RUNTIME) -> Path | None:
    """The cached wheel of duckdb `version` (default: the installed one) for the runtime, if there is one."""
    version = version or installed_version()
    for wheel in sorted(cache_dir().glob(f"{DISTRIBUTION}-{version}-*.whl")):
        try:
            check_wheel(wheel, runtime)
        except ProvisioningError:
            continue
        return wheel
    return None


def download_command(version: str, runtime: str, destination: Path) -> list[str]:
    """The pip command that downloads duckdb `version`'s wheel for the runtime into `destination`."""
    major, minor = _runtime_version(runtime)
    tag = python_tag(runtime)
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    return [sys.executable, "-m", "pip", "download", f"{DISTRIBUTION}=={version}", "--only-binary=:all:",
            "--no-deps", "--disable-pip-version-check", "--python-version", f"{major}.{minor}",
            "--implementation", "cp", "--abi", tag, *platforms, "-d", str(destination)]


def fetch_wheel(version: str | None = None, runtime: str = RUNTIME) -> Path:
    """The runtime's wheel of duckdb `version` (default: the installed one): from the cache, else downloaded with pip
    into it. A failed download is a :class:`ProvisioningError` naming the command and pip's last lines."""
    version = version or installed_version()
    if (found := cached_wheel(version, runtime)) is not None:
        return found
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProvisioningError(f"cannot create the wheel cache {directory} (set {CACHE_ENV}): {error}") from error
    with tempfile.TemporaryDirectory(dir=directory, prefix=".download-") as scratch:
        command = download_command(version, runtime, Path(scratch))
        failure = f"could not download the duckdb {version} wheel for {runtime}: `{shlex.join(command)}`"
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ProvisioningError(f"{failure} failed: {error}") from error
        if done.returncode != 0:
            said = (done.stderr or "").strip() or (done.stdout or "").strip()
            tail = "\n".join(said.splitlines()[-10:]) or "(no output)"
            raise ProvisioningError(f"{failure} exited with {done.returncode}:\n{tail}")
        wheels = sorted(Path(scratch).glob(f"{DISTRIBUTION}-{version}-*.whl"))
        if not wheels:
            raise ProvisioningError(f"{failure} left no {DISTRIBUTION}-{version}-*.whl")
        check_wheel(wheels[0], runtime)
        target = directory / wheels[0].name
        wheels[0].replace(target)
    log.info("downloaded %s", target.name)
    return target


def _unpacked(wheel: Path) -> Path:
    """The wheel's files, extracted once next to it (extracted apart, then renamed: never seen half-written)."""
    target = wheel.parent / "unpacked" / wheel.name.removesuffix(".whl")
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(scratch)
    try:
        scratch.rename(target)
    except OSError:  # another run unpacked it first
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _installed() -> tuple[list[tuple[str, Path]], str]:
    distribution = importlib.metadata.distribution(DISTRIBUTION)
    entries = []
    for file in distribution.files or []:
        path = Path(str(file))
        bookkeeping = path.parts[0].endswith(".dist-info") and path.name in _INSTALL_RECORDS
        if path.parts[0] == ".." or bookkeeping or not packaging._wanted(path):
            continue
        source = Path(str(distribution.locate_file(file)))
        if source.is_file():
            entries.append((f"python/{path.as_posix()}", source))
    tags = [line.split(":", 1)[1].strip() for line in (distribution.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")]
    own = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return entries, tags[0] if tags else f"{own}-{own}-{platform}"


def _from_wheel(runtime: str) -> tuple[list[tuple[str, Path]], str]:
    wheel = fetch_wheel(installed_version(), runtime)
    tag = check_wheel(wheel, runtime)
    # *.data/ directories would need relocating by an installer; duckdb's wheel has none, and none are copied.
    entries = [(name, path) for name, path in packaging._tree(_unpacked(wheel), "python/")
               if not name.split("/")[1].endswith(".data")]
    return entries, tag


def _entries(source: Source, runtime: str) -> tuple[list[tuple[str, Path]], str]:
    return _installed() if source is Source.INSTALLED else _from_wheel(runtime)


def layer_entries(source: Source, runtime: str = RUNTIME) -> list[tuple[str, Path]]:
    """The layer's files under `python/`, as Lambda expects: duckdb's packages and its `*.dist-info` (duckdb reads
    its own version from the metadata when imported)."""
    return _entries(source, runtime)[0]


def unzipped_size(archive: bytes) -> int:
    """The bytes a zip takes once extracted, as Lambda counts them against its 250 MB limit."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return sum(info.file_size for info in opened.infolist())


def check_limits(archive: bytes, what: str) -> None:
    """Refuse a zip Lambda would refuse: over 50 MB zipped (direct upload) or 250 MB unzipped."""
    if len(archive) > MAX_DIRECT_UPLOAD_BYTES:
        raise ProvisioningError(f"{what} is {len(archive)} bytes zipped, over Lambda's direct upload limit of "
                                f"{MAX_DIRECT_UPLOAD_BYTES}")
    if (size := unzipped_size(archive)) > MAX_UNZIPPED_BYTES:
        raise ProvisioningError(f"{what} is {size} bytes unzipped, over Lambda's limit of {MAX_UNZIPPED_BYTES}")


def _cache_key(tag: str, entries: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256(str(_LAYOUT).encode())
    for name, path in sorted(entries):
        stat = path.stat()
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return f"{DISTRIBUTION}-{installed_version()}-{tag}-{digest.hexdigest()[:16]}.zip"


def _store(path: Path, archive: bytes) -> None:
    """Cache a built zip, replacing older builds of the same version and tag; a cache that cannot be written only
    costs a rebuild next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, scratch = tempfile.mkstemp(dir=path.parent, prefix=".build-")
        with os.fdopen(descriptor, "wb") as file:
            file.write(archive)
        Path(scratch).chmod(0o644)
        Path(scratch).replace(path)
        prefix = path.name.rsplit("-", 1)[0]
        for older in path.parent.glob(f"{prefix}-*.zip"):
            if older != path:
                older.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not cache the duckdb layer at %s: %s", path, error)


def build_duckdb_layer(source: Source, runtime: str = RUNTIME) -> bytes:
    """The layer's zip, byte-for-byte the same for the same files; built once, then read from the cache."""
    entries, tag = _entries(source, runtime)
    cached = cache_dir() / "layers" / _cache_key(tag, entries)
    if cached.is_file():
        return cached.read_bytes()
    archive = packaging._zip(entries)
    check_limits(archive, f"the duckdb layer ({tag})")
    _store(cached, archive)
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakebox_infra.duckdb_layer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fetch", action="store_true",
                        help=f"download the {RUNTIME} wheel of the installed duckdb into the cache (once) and "
                             "print its path")
    args = parser.parse_args(argv)
    if not args.fetch:
        parser.print_usage(sys.stderr)
        return 2
    try:
        wheel = fetch_wheel()
    except ProvisioningError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    sys.stdout.write(f"{wheel}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
