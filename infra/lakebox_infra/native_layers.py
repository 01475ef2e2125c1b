"""Layers of compiled code, each a Lambda layer apart from the shared one, for the functions whose stage declares it
(`native_layers` in the stage registry): `<project>-duckdb` (DuckDB's ~70 MB engine, to write Parquet) and
`<project>-cryptography` (AES-GCM for personal data). Each is declared once here, as a :class:`NativeLayer`.

Compiled code imports only on the interpreter it was built for. MiniStack runs every function on its own
interpreter, whatever the declared runtime, so there a layer holds the distributions installed here
(:attr:`Source.INSTALLED`, no network). AWS and LocalStack run the declared runtime, so there it holds that runtime's
manylinux x86_64 wheels of the same versions (:attr:`Source.WHEEL`), downloaded once with pip into a cache
(`python -m lakebox_infra.native_layers --fetch` fills it ahead of time). Built zips are deterministic and cached as
well, so a second bootstrap neither rebuilds nor republishes a layer.
"""

from __future__ import annotations

import argparse
import enum
import importlib.metadata
import io
import logging
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lakebox_infra import packaging
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.packaging import CACHE_ENV, cache_dir
from lakebox_infra.specs import RUNTIME
from lakebox_layer.settings import ResourceNames

log = logging.getLogger("lakebox.bootstrap")

# AWS refuses a layer (or function) zip over 50 MB uploaded directly rather than from S3, and a function whose code
# plus all its layers exceeds 250 MB unzipped (Lambda's MB are MiB).
MAX_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
# What pip is asked for: wheels for the runtime's x86_64 Amazon Linux.
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
# glibc of Amazon Linux 2023, the OS of the python3.12 runtime: a wheel needing a newer one would not load.
RUNTIME_GLIBC = (2, 34)
PIP_TIMEOUT_S = 600
# Part of every cached zip's key: change it when the layer's layout changes, so older zips are not reused.
_LAYOUT = 1
_RUNTIME = re.compile(r"python(\d)\.(\d+)")
_MANYLINUX = re.compile(r"manylinux(?:1|2010|2014|_(\d+)_(\d+))_x86_64")
_LEGACY_GLIBC = {"1": (2, 5), "2010": (2, 12), "2014": (2, 17)}
# Installer bookkeeping, not needed to import (direct_url.json may name the machine it was installed from).
_INSTALL_RECORDS = {"INSTALLER", "REQUESTED", "direct_url.json"}
# Run as `python -I -S -c PROBE DIR`: the layer's check with DIR (an unpacked layer's python/) alone on the path
# besides the standard library; then every module the layer declares must be loaded, from DIR if it has a file.
_PROBE = """import sys
sys.path.insert(0, sys.argv[1])
{check}
loaded = {{name: vars(sys.modules[name]).get("__file__") if name in sys.modules else "missing" for name in {modules!r}}}
assert all(file is None or file.startswith(sys.argv[1]) for file in loaded.values()), loaded
"""


class Source(enum.Enum):
    """Where a layer's distributions come from."""

    INSTALLED = "installed"  # the distributions installed in this interpreter: for emulators that run functions on it
    WHEEL = "wheel"  # the declared runtime's wheels, downloaded and cached: for AWS and LocalStack


@dataclass(frozen=True)
class NativeLayer:
    """One layer of compiled code: `name` as stages declare it (the layer is `<project>-<name>`), `title` as messages
    say it, the distributions it holds (the first one's version is the layer's), the modules importing it loads
    besides the standard library, and `check`: Python that imports it, uses it once and prints the layer's version."""

    name: str
    title: str
    distributions: tuple[str, ...]
    modules: tuple[str, ...]
    check: str

    def layer_name(self, names: ResourceNames) -> str:
        return f"{names.project}-{self.name}"

    @property
    def version(self) -> str:
        """The installed version of the layer's first distribution, which its runtime wheel must match."""
        return installed_version(self.distributions[0])

    def describe(self) -> str:
        """Its distributions and their installed versions: "cryptography 51.0.1, cffi 2.1.1"."""
        return ", ".join(f"{name} {installed_version(name)}" for name in self.distributions)

    def import_probe(self) -> str:
        """The check as a script for `python -I -S -c SCRIPT DIR`, DIR being the unpacked layer's `python/`; it also
        fails when a module the layer declares was not loaded, or was loaded from somewhere else."""
        return _PROBE.format(check=self.check, modules=self.modules)


DUCKDB = NativeLayer("duckdb", "DuckDB", ("duckdb",), ("duckdb", "_duckdb"),
                     "import duckdb\nassert duckdb.sql('select 42').fetchall() == [(42,)]\nprint(duckdb.__version__)")
# cryptography's wheels are abi3 (CPython 3.11 on); the `_cffi_backend` its Rust extension loads is cffi's, built per
# CPython version. The AEAD ciphers import neither cffi's Python package nor pycparser; `_openssl` is a module the
# Rust extension registers, with no file of its own.
CRYPTOGRAPHY = NativeLayer(
    "cryptography", "cryptography", ("cryptography", "cffi"), ("cryptography", "_cffi_backend", "_openssl"),
    "import cryptography\nfrom cryptography.hazmat.primitives.ciphers.aead import AESGCM\naead = AESGCM(bytes(32))\n"
    "assert aead.decrypt(bytes(12), aead.encrypt(bytes(12), b'personal', b'id'), b'id') == b'personal'\n"
    "print(cryptography.__version__)")
LAYERS: dict[str, NativeLayer] = {layer.name: layer for layer in (DUCKDB, CRYPTOGRAPHY)}


def named(name: str) -> NativeLayer:
    """The layer a stage's declaration names, or :class:`ProvisioningError` listing those there are."""
    if (layer := LAYERS.get(name)) is None:
        raise ProvisioningError(f"no native layer is called {name!r} (see lakebox_infra.native_layers): there are "
                                f"{', '.join(LAYERS)}")
    return layer


def source_for(host_interpreter: bool) -> Source:
    """The installed distributions where functions run on the emulator's interpreter, else the runtime's wheels."""
    return Source.INSTALLED if host_interpreter else Source.WHEEL


def installed_version(distribution: str) -> str:
    """The version of `distribution` installed here, which the runtime's wheel must match."""
    return importlib.metadata.version(distribution)


def _runtime_version(runtime: str) -> tuple[int, int]:
    if (match := _RUNTIME.fullmatch(runtime)) is None:
        raise ValueError(f"not a Python Lambda runtime: {runtime!r}")
    return int(match[1]), int(match[2])


def python_tag(runtime: str = RUNTIME) -> str:
    """The CPython tag of a Lambda runtime: "python3.12" -> "cp312"."""
    major, minor = _runtime_version(runtime)
    return f"cp{major}{minor}"


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


def _wheels_of(directory: Path, distribution: str, version: str) -> list[Path]:
    """`distribution`'s wheels of `version` in `directory` (a wheel's file name spells the name with underscores)."""
    return sorted(directory.glob(f"{re.sub(r'[-_.]+', '_', distribution).lower()}-{version}-*.whl"))


def cached_wheel(distribution: str, version: str | None = None, runtime: str = RUNTIME) -> Path | None:
    """The cached wheel of `distribution` `version` (default: the installed one) for the runtime, if there is one."""
    for wheel in _wheels_of(cache_dir(), distribution, version or installed_version(distribution)):
        try:
            check_wheel(wheel, runtime)
        except ProvisioningError:
            continue
        return wheel
    return None


def download_command(distribution: str, version: str, runtime: str, destination: Path) -> list[str]:
    """The pip command that downloads `distribution` `version`'s wheel for the runtime into `destination`."""
    major, minor = _runtime_version(runtime)
    tag = python_tag(runtime)
    platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
    return [sys.executable, "-m", "pip", "download", f"{distribution}=={version}", "--only-binary=:all:",
            "--no-deps", "--disable-pip-version-check", "--python-version", f"{major}.{minor}",
            "--implementation", "cp", "--abi", tag, *platforms, "-d", str(destination)]


def fetch_wheel(distribution: str, version: str | None = None, runtime: str = RUNTIME) -> Path:
    """The runtime's wheel of `distribution` `version` (default: the installed one): from the cache, else downloaded
    with pip into it. A failed download is a :class:`ProvisioningError` naming the command and pip's last lines."""
    version = version or installed_version(distribution)
    if (found := cached_wheel(distribution, version, runtime)) is not None:
        return found
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ProvisioningError(f"cannot create the wheel cache {directory} (set {CACHE_ENV}): {error}") from error
    with tempfile.TemporaryDirectory(dir=directory, prefix=".download-") as scratch:
        command = download_command(distribution, version, runtime, Path(scratch))
        failure = f"could not download the {distribution} {version} wheel for {runtime}: `{shlex.join(command)}`"
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ProvisioningError(f"{failure} failed: {error}") from error
        if done.returncode != 0:
            said = (done.stderr or "").strip() or (done.stdout or "").strip()
            tail = "\n".join(said.splitlines()[-10:]) or "(no output)"
            raise ProvisioningError(f"{failure} exited with {done.returncode}:\n{tail}")
        wheels = _wheels_of(Path(scratch), distribution, version)
        if not wheels:
            raise ProvisioningError(f"{failure} left no {distribution}-{version}-*.whl")
        check_wheel(wheels[0], runtime)
        target = directory / wheels[0].name
        wheels[0].replace(target)
    log.info("downloaded %s", target.name)
    return target


def fetch_wheels(layer: NativeLayer, runtime: str = RUNTIME) -> list[Path]:
    """The runtime's wheel of each of the layer's installed distributions, each from the cache when it is there."""
    return [fetch_wheel(distribution, runtime=runtime) for distribution in layer.distributions]


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


def _installed(name: str) -> tuple[list[tuple[str, Path]], str]:
    distribution = importlib.metadata.distribution(name)
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


def _from_wheel(distribution: str, runtime: str) -> tuple[list[tuple[str, Path]], str]:
    wheel = fetch_wheel(distribution, installed_version(distribution), runtime)
    tag = check_wheel(wheel, runtime)
    # *.data/ directories would need relocating by an installer; nothing these layers import lives there: not copied.
    entries = [(name, path) for name, path in packaging._tree(_unpacked(wheel), "python/")
               if not name.split("/")[1].endswith(".data")]
    return entries, tag


def _entries(layer: NativeLayer, source: Source, runtime: str) -> tuple[list[tuple[str, Path]], str]:
    """The layer's files and its tag: its distributions' tags joined by "+" (a layer of one has that one's)."""
    built = [_installed(name) if source is Source.INSTALLED else _from_wheel(name, runtime)
             for name in layer.distributions]
    return [entry for entries, _ in built for entry in entries], "+".join(tag for _, tag in built)


def layer_entries(layer: NativeLayer, source: Source, runtime: str = RUNTIME) -> list[tuple[str, Path]]:
    """The layer's files under `python/`, as Lambda expects: its distributions' packages and their `*.dist-info`
    (duckdb reads its own version from the metadata when imported)."""
    return _entries(layer, source, runtime)[0]


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


def build_layer(layer: NativeLayer, source: Source, runtime: str = RUNTIME) -> bytes:
    """The layer's zip, byte-for-byte the same for the same files; built once, then read from the cache."""
    entries, tag = _entries(layer, source, runtime)
    what = f"the {layer.name} layer ({tag})"
    return packaging.cached_zip(entries, cache_dir() / "layers", f"{layer.name}-{layer.version}-{tag}",
                                salt=str(_LAYOUT), check=lambda archive: check_limits(archive, what))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lakebox_infra.native_layers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    held = ", ".join(name for layer in LAYERS.values() for name in layer.distributions)
    parser.add_argument("--fetch", action="store_true", help=f"download the {RUNTIME} wheels of the installed "
                        f"distributions the native layers hold ({held}) into the cache (once) and print their paths")
    args = parser.parse_args(argv)
    if not args.fetch:
        parser.print_usage(sys.stderr)
        return 2
    try:
        wheels = [wheel for layer in LAYERS.values() for wheel in fetch_wheels(layer)]
    except ProvisioningError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    sys.stdout.write("".join(f"{wheel}\n" for wheel in wheels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
