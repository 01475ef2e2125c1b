"""DuckDB's layer: built from the installed duckdb for emulators that run functions on their own interpreter, from the
declared runtime's wheel (downloaded once, cached) elsewhere; deterministic, cached, and within Lambda's limits."""

from __future__ import annotations

import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lakebox_infra import duckdb_layer, packaging
from lakebox_infra.duckdb_layer import Source
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.topology import RUNTIME
from lakebox_layer.settings import ResourceNames

VERSION = duckdb_layer.installed_version()
FETCH = "python -m lakebox_infra.duckdb_layer --fetch"
GOOD_TAG = "cp312-abi3-manylinux_2_28_x86_64"
# Imports duckdb from the directory given, with neither site-packages nor the environment on the path.
IMPORT_CHECK = (
    "import sys; sys.path.insert(0, sys.argv[1]); import duckdb; "
    "assert duckdb.__file__.startswith(sys.argv[1]), duckdb.__file__; "
    "assert duckdb.sql('select 42').fetchall() == [(42,)]; print(duckdb.__version__)"
)

MakeWheel = Callable[..., Path]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of its own for the test."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(duckdb_layer.CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def make_wheel(tmp_path: Path) -> MakeWheel:
    """A tiny wheel of duckdb with the given tags, written to `directory` (default: a scratch directory)."""

    def make(*tags: str, directory: Path | None = None, version: str = VERSION) -> Path:
        directory = directory or tmp_path / "wheels"
        directory.mkdir(parents=True, exist_ok=True)
        wheel = directory / f"duckdb-{version}-{tags[0] if tags else 'py3-none-any'}.whl"
        info = f"duckdb-{version}.dist-info"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr("duckdb/__init__.py", "VERSION = 1\n")
            archive.writestr("_duckdb.abi3.so", b"\x7fELF not really")
            archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: duckdb\nVersion: {version}\n")
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
                             + "".join(f"Tag: {tag}\n" for tag in tags))
            archive.writestr(f"duckdb-{version}.data/scripts/tool", "#!/bin/sh\n")
        return wheel

    return make


def names_in(archive: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(archive)).namelist()


def failing_pip(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"pip must not run: {args}")


@pytest.fixture(scope="module")
def installed_layer(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(duckdb_layer.CACHE_ENV, str(tmp_path_factory.mktemp("installed-cache")))
        return duckdb_layer.build_duckdb_layer(Source.INSTALLED)


# ---- the installed distribution (MiniStack) ----------------------------------------------------------------------

def test_the_installed_layer_imports_duckdb_with_nothing_else_on_the_path(installed_layer: bytes,
                                                                          tmp_path: Path) -> None:
    zipfile.ZipFile(io.BytesIO(installed_layer)).extractall(tmp_path)

    done = subprocess.run([sys.executable, "-I", "-S", "-c", IMPORT_CHECK, str(tmp_path / "python")],
                          capture_output=True, text=True, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == VERSION


def test_the_installed_layer_holds_the_package_the_engine_and_its_metadata(installed_layer: bytes) -> None:
    names = names_in(installed_layer)
    assert all(name.startswith("python/") for name in names)
    assert "python/duckdb/__init__.py" in names
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    assert [name for name in names if re.fullmatch(rf"python/_duckdb\.cpython-{tag[2:]}-.*\.so", name)]
    # duckdb reads its own version from its metadata when imported.
    assert f"python/duckdb-{VERSION}.dist-info/METADATA" in names
    assert not [name for name in names if name.rsplit("/", 1)[-1] in {"INSTALLER", "REQUESTED", "direct_url.json"}]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_layer_is_byte_for_byte_deterministic(installed_layer: bytes, cache: Path) -> None:
    rebuilt = duckdb_layer.build_duckdb_layer(Source.INSTALLED)

    assert rebuilt == installed_layer
    infos = zipfile.ZipFile(io.BytesIO(rebuilt)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)


def test_a_built_layer_is_read_back_from_the_cache(make_wheel: MakeWheel, cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheel(GOOD_TAG, directory=cache)
    built = duckdb_layer.build_duckdb_layer(Source.WHEEL)
    monkeypatch.setattr(packaging, "_zip", lambda entries: pytest.fail("rebuilt a cached layer"))

    assert duckdb_layer.build_duckdb_layer(Source.WHEEL) == built
    assert len(list((cache / "layers").glob("*.zip"))) == 1


# ---- the runtime's wheel (AWS, LocalStack) -----------------------------------------------------------------------

@pytest.mark.parametrize("tags", [
    ["cp312-cp312-manylinux_2_17_x86_64"],
    ["cp312-abi3-manylinux_2_27_x86_64", "cp312-abi3-manylinux_2_28_x86_64"],
    ["cp38-abi3-manylinux2014_x86_64"],
    ["cp312-cp312-macosx_11_0_arm64", "cp312-cp312-manylinux_2_28_x86_64"],
])
def test_wheels_for_the_runtime_pass_the_tag_check(tags: list[str], make_wheel: MakeWheel) -> None:
    assert duckdb_layer.check_wheel(make_wheel(*tags)) in tags


@pytest.mark.parametrize("tag", [
    "cp311-cp311-manylinux_2_28_x86_64",
    "cp313-cp313-manylinux_2_28_x86_64",
    "cp313-abi3-manylinux_2_28_x86_64",
    "cp312-cp312-manylinux_2_28_aarch64",
    "cp312-abi3-manylinux_2_28_aarch64",
    "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-macosx_10_9_x86_64",
    "cp312-cp312-musllinux_1_2_x86_64",
    "cp312-cp312-win_amd64",
    "cp312-cp312-manylinux_2_39_x86_64",
    "py3-none-any",
])
def test_wheels_for_another_interpreter_or_platform_are_refused(tag: str, make_wheel: MakeWheel) -> None:
    with pytest.raises(ProvisioningError, match=re.escape(tag)) as raised:
        duckdb_layer.check_wheel(make_wheel(tag))
    assert RUNTIME in str(raised.value)


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    (tmp_path / "duckdb-1.0-cp312-cp312-manylinux_2_28_x86_64.whl").write_bytes(b"not a zip")

    with pytest.raises(ProvisioningError, match="cannot read wheel"):
        duckdb_layer.check_wheel(tmp_path / "duckdb-1.0-cp312-cp312-manylinux_2_28_x86_64.whl")


def test_the_runtime_decides_the_python_tag() -> None:
    assert duckdb_layer.python_tag("python3.12") == "cp312"
    assert duckdb_layer.python_tag("python3.9") == "cp39"
    with pytest.raises(ValueError, match=re.escape("nodejs20.x")):
        duckdb_layer.python_tag("nodejs20.x")


def test_the_wheel_layer_holds_the_wheel_under_python_without_data_dirs(make_wheel: MakeWheel, cache: Path) -> None:
    make_wheel(GOOD_TAG, directory=cache)

    names = names_in(duckdb_layer.build_duckdb_layer(Source.WHEEL))

    assert names == sorted(["python/_duckdb.abi3.so", "python/duckdb/__init__.py",
                            f"python/duckdb-{VERSION}.dist-info/METADATA", f"python/duckdb-{VERSION}.dist-info/WHEEL"])


def test_the_wheel_layer_is_deterministic_across_caches(make_wheel: MakeWheel, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    for name in ("one", "two"):
        monkeypatch.setenv(duckdb_layer.CACHE_ENV, str(tmp_path / name))
        make_wheel(GOOD_TAG, directory=tmp_path / name)
        built.append(duckdb_layer.build_duckdb_layer(Source.WHEEL))

    assert built[0] == built[1]


def fake_pip(make_wheel: MakeWheel, calls: list[list[str]], *tags: str) -> Callable[..., Any]:
    """A pip that "downloads" a tiny wheel with `tags` into its -d directory."""

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        make_wheel(*tags, directory=Path(command[command.index("-d") + 1]))
        return subprocess.CompletedProcess(command, 0, "Saved\n", "")

    return run


def test_the_wheel_is_downloaded_once_then_read_from_the_cache(make_wheel: MakeWheel, cache: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", fake_pip(make_wheel, calls, GOOD_TAG))

    first = duckdb_layer.fetch_wheel()
    second = duckdb_layer.fetch_wheel()

    assert first == second and first.parent == cache and first.is_file()
    assert len(calls) == 1
    [command] = calls
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert f"duckdb=={VERSION}" in command
    pairs = set(itertools.pairwise(command))
    assert {("--python-version", "3.12"), ("--implementation", "cp"), ("--abi", "cp312"),
            ("--platform", "manylinux_2_28_x86_64"), ("--platform", "manylinux_2_17_x86_64"),
            ("--platform", "manylinux2014_x86_64")} <= pairs
    assert {"--only-binary=:all:", "--no-deps"} <= set(command)


def test_a_downloaded_wheel_with_the_wrong_tags_is_refused_and_not_cached(make_wheel: MakeWheel, cache: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run",
                        fake_pip(make_wheel, calls, "cp312-cp312-manylinux_2_28_aarch64"))

    with pytest.raises(ProvisioningError, match="aarch64"):
        duckdb_layer.fetch_wheel()

    assert duckdb_layer.cached_wheel() is None
    assert not list(cache.glob("*.whl"))


def test_a_failed_download_says_which_command_failed_and_why(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip_said = "Looking in indexes: ...\nERROR: No matching distribution found for duckdb==9.9.9\n"
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 1, "", pip_said))

    with pytest.raises(ProvisioningError) as raised:
        duckdb_layer.fetch_wheel("9.9.9")

    message = str(raised.value)
    assert "pip download duckdb==9.9.9" in message
    assert "exited with 1" in message
    assert "No matching distribution found for duckdb==9.9.9" in message


@pytest.mark.parametrize("error", [subprocess.TimeoutExpired(["pip"], 600), OSError("no such interpreter")])
def test_a_download_that_cannot_run_is_a_provisioning_error(error: Exception, cache: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*args: Any, **kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(subprocess, "run", run)

    with pytest.raises(ProvisioningError, match="pip download"):
        duckdb_layer.fetch_wheel()


def test_the_fetch_command_prints_the_cached_wheel(make_wheel: MakeWheel, cache: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    wheel = make_wheel(GOOD_TAG, directory=cache)
    monkeypatch.setattr(subprocess, "run", failing_pip)

    assert duckdb_layer.main(["--fetch"]) == 0
    assert capsys.readouterr().out == f"{wheel}\n"


def test_the_fetch_command_fails_with_the_reason(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 1, "", "ERROR: offline"))

    assert duckdb_layer.main(["--fetch"]) == 1
    assert "ERROR: offline" in capsys.readouterr().err
    assert duckdb_layer.main([]) == 2


def test_the_cache_defaults_under_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(duckdb_layer.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert duckdb_layer.cache_dir() == tmp_path / "lakebox" / "wheels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert duckdb_layer.cache_dir() == tmp_path / "home" / ".cache" / "lakebox" / "wheels"


def test_a_layer_over_lambdas_limits_is_refused(make_wheel: MakeWheel, cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheel(GOOD_TAG, directory=cache)
    monkeypatch.setattr(duckdb_layer, "MAX_DIRECT_UPLOAD_BYTES", 100)

    with pytest.raises(ProvisioningError, match="direct upload limit"):
        duckdb_layer.build_duckdb_layer(Source.WHEEL)
    assert not (cache / "layers").exists() or not list((cache / "layers").glob("*.zip"))


def test_the_source_and_the_name() -> None:
    assert duckdb_layer.source_for(host_interpreter=True) is Source.INSTALLED
    assert duckdb_layer.source_for(host_interpreter=False) is Source.WHEEL
    assert duckdb_layer.layer_name(ResourceNames("lakebox", "000000000000", "us-east-1")) == "lakebox-duckdb"


# ---- the packaging proof: the real wheel for the declared runtime, within Lambda's limits -------------------------

@pytest.fixture(scope="module")
def runtime_wheel() -> Path:
    """The wheel the fetch command cached; its absence fails under CI=true (the fetch step is part of CI)."""
    wheels = sorted(duckdb_layer.cache_dir().glob(f"duckdb-{VERSION}-{duckdb_layer.python_tag(RUNTIME)}-*.whl"))
    if not wheels:
        reason = (f"no {RUNTIME} wheel of duckdb {VERSION} in {duckdb_layer.cache_dir()}: run `{FETCH}` first "
                  "(it downloads it once)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return wheels[0]


@pytest.fixture(scope="module")
def runtime_layer(runtime_wheel: Path) -> bytes:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "run", failing_pip)
        return duckdb_layer.build_duckdb_layer(Source.WHEEL)


def test_the_cached_wheel_is_for_the_declared_runtime_on_x86_64(runtime_wheel: Path) -> None:
    assert RUNTIME == "python3.12"
    tags = duckdb_layer.wheel_tags(runtime_wheel)
    # The runtime's own ABI, or the stable ABI from that CPython on: both load on python3.12.
    assert [tag for tag in tags if re.fullmatch(r"cp312-(cp312|abi3)-manylinux(_2_\d+|2014)_x86_64", tag)], tags
    assert not [tag for tag in tags if not tag.endswith("_x86_64")], tags


def test_the_runtime_layer_fits_lambdas_limits(runtime_layer: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run", failing_pip)
    assert duckdb_layer.MAX_DIRECT_UPLOAD_BYTES == 50 * 1024 * 1024
    assert duckdb_layer.MAX_UNZIPPED_BYTES == 250 * 1024 * 1024
    names = names_in(runtime_layer)
    assert "python/duckdb/__init__.py" in names and f"python/duckdb-{VERSION}.dist-info/METADATA" in names
    assert [name for name in names if re.fullmatch(r"python/_duckdb\.(abi3|cpython-312-x86_64-linux-gnu)\.so", name)]

    assert len(runtime_layer) <= duckdb_layer.MAX_DIRECT_UPLOAD_BYTES
    curation = packaging.build_function("curation")
    total = sum(map(duckdb_layer.unzipped_size, (runtime_layer, curation, packaging.build_layer())))
    assert total <= duckdb_layer.MAX_UNZIPPED_BYTES

    # Where layers are not applied (LocalStack Community) both are bundled into the function's zip.
    entries = [(name.removeprefix("python/"), path) for name, path in duckdb_layer.layer_entries(Source.WHEEL)]
    bundled = packaging.build_function("curation", bundle_layer=True, extra=entries)
    assert len(bundled) <= duckdb_layer.MAX_DIRECT_UPLOAD_BYTES
    assert duckdb_layer.unzipped_size(bundled) <= duckdb_layer.MAX_UNZIPPED_BYTES


def _python312() -> str | None:
    found = shutil.which("python3.12")
    if found is None:
        return None
    probe = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                           capture_output=True, text=True, check=False)
    return found if probe.stdout.strip() == "True" else None


def test_the_runtime_layer_imports_on_the_runtimes_python_and_not_on_another(runtime_layer: bytes,
                                                                             tmp_path: Path) -> None:
    zipfile.ZipFile(io.BytesIO(runtime_layer)).extractall(tmp_path)
    layer = str(tmp_path / "python")
    if sys.version_info[:2] != (3, 12):
        # What MiniStack would do with it: its own interpreter cannot load the runtime's engine.
        other = subprocess.run([sys.executable, "-I", "-S", "-c", IMPORT_CHECK, layer],
                               capture_output=True, text=True, check=False)
        assert other.returncode != 0
    python312 = _python312()
    if python312 is None:
        pytest.skip("no python3.12 on PATH to import the runtime's layer with")
    done = subprocess.run([python312, "-I", "-S", "-c", IMPORT_CHECK, layer], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == VERSION
