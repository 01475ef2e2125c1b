"""The native layers (DuckDB's, cryptography's): built from the installed distributions for emulators that run
functions on their own interpreter, from the declared runtime's wheels (downloaded once, cached) elsewhere;
deterministic, cached, and within Lambda's limits together."""

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
from unittest.mock import Mock

import pytest

from lakebox_infra import native_layers, packaging
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.native_layers import CRYPTOGRAPHY, DUCKDB, LAYERS, NativeLayer, Source
from lakebox_infra.topology import RUNTIME
from lakebox_layer.registry import STAGES, Stage
from lakebox_layer.settings import ResourceNames

FETCH = "python -m lakebox_infra.native_layers --fetch"
GOOD_TAG = "cp312-abi3-manylinux_2_28_x86_64"
VERSIONS = {name: native_layers.installed_version(name) for layer in LAYERS.values() for name in layer.distributions}
BY_NAME = pytest.mark.parametrize("layer", list(LAYERS.values()), ids=list(LAYERS))
SLOW_BY_NAME = pytest.mark.parametrize("layer", [pytest.param(layer, marks=pytest.mark.slow)  # a layer built: seconds
                                                 for layer in LAYERS.values()], ids=list(LAYERS))
# The compiled files each layer must hold, `{abi}` standing for the interpreter's extension suffix.
ENGINES = {"duckdb": [r"python/_duckdb\.{abi}\.so"],
           "cryptography": [r"python/cryptography/hazmat/bindings/_rust\.abi3\.so", r"python/_cffi_backend\.{abi}\.so"]}
# Each wheel's tags for python3.12: its own ABI, or the stable ABI of an older-or-equal CPython (cffi has no abi3).
RUNTIME_ABI = "(abi3|cpython-312-x86_64-linux-gnu)"
RUNTIME_TAGS = {"duckdb": r"cp312-(cp312|abi3)", "cryptography": r"cp31[12]-abi3", "cffi": r"cp312-cp312"}

MakeWheel = Callable[..., Path]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of its own for the test."""
    directory = tmp_path / "cache"
    monkeypatch.setenv(packaging.CACHE_ENV, str(directory))
    return directory


@pytest.fixture
def make_wheel(tmp_path: Path) -> MakeWheel:
    """A tiny wheel of `distribution` (duckdb, installed version) with `tags`, in `directory` (or a scratch one)."""

    def make(*tags: str, directory: Path | None = None, distribution: str = "duckdb", version: str = "") -> Path:
        version = version or VERSIONS[distribution]
        (directory := directory or tmp_path / "wheels").mkdir(parents=True, exist_ok=True)
        wheel = directory / f"{distribution}-{version}-{tags[0] if tags else 'py3-none-any'}.whl"
        info = f"{distribution}-{version}.dist-info"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"{distribution}/__init__.py", "VERSION = 1\n")
            archive.writestr(f"_{distribution}.abi3.so", b"\x7fELF not really")
            archive.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
            archive.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
                             + "".join(f"Tag: {tag}\n" for tag in tags))
            archive.writestr(f"{distribution}-{version}.data/scripts/tool", "#!/bin/sh\n")
        return wheel

    return make


def make_wheels(make_wheel: MakeWheel, layer: NativeLayer, directory: Path) -> None:
    for distribution in layer.distributions:
        make_wheel(GOOD_TAG, directory=directory, distribution=distribution)


def names_in(archive: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(archive)).namelist()


def failing_pip(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"pip must not run: {args}")


def probe(layer: NativeLayer, python: str, archive: bytes, where: Path) -> subprocess.CompletedProcess[str]:
    """The layer's import check, on `python`, with the unpacked layer and the standard library alone on the path."""
    zipfile.ZipFile(io.BytesIO(archive)).extractall(where)
    return subprocess.run([python, "-I", "-S", "-c", layer.import_probe(), str(where / "python")],
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def installed_layers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(packaging.CACHE_ENV, str(tmp_path_factory.mktemp("installed-cache")))
        return {name: native_layers.build_layer(layer, Source.INSTALLED) for name, layer in LAYERS.items()}


# ---- the installed distributions (MiniStack) ---------------------------------------------------------------------

@SLOW_BY_NAME
def test_the_installed_layer_imports_with_nothing_else_on_the_path(layer: NativeLayer, tmp_path: Path,
                                                                   installed_layers: dict[str, bytes]) -> None:
    done = probe(layer, sys.executable, installed_layers[layer.name], tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == layer.version


@SLOW_BY_NAME
def test_the_installed_layer_holds_the_packages_the_engines_and_their_metadata(
        layer: NativeLayer, installed_layers: dict[str, bytes]) -> None:
    names = names_in(installed_layers[layer.name])
    assert all(name.startswith("python/") for name in names)
    assert f"python/{layer.distributions[0]}/__init__.py" in names
    abi = rf"(abi3|cpython-{sys.version_info.major}{sys.version_info.minor}-.*)"
    for engine in ENGINES[layer.name]:
        assert [name for name in names if re.fullmatch(engine.format(abi=abi), name)], engine
    # duckdb reads its own version from its metadata when imported.
    for distribution in layer.distributions:
        assert f"python/{distribution}-{VERSIONS[distribution]}.dist-info/METADATA" in names
    assert not [name for name in names if name.rsplit("/", 1)[-1] in {"INSTALLER", "REQUESTED", "direct_url.json"}]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # cffi needs pycparser to compile declarations, not to import _cffi_backend.
    assert not [name for name in names if name.startswith("python/pycparser")]


@SLOW_BY_NAME
def test_the_layer_is_byte_for_byte_deterministic(layer: NativeLayer, installed_layers: dict[str, bytes],
                                                  cache: Path) -> None:
    rebuilt = native_layers.build_layer(layer, Source.INSTALLED)

    assert rebuilt == installed_layers[layer.name]
    infos = zipfile.ZipFile(io.BytesIO(rebuilt)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert [info.filename for info in infos] == sorted(info.filename for info in infos)


# ---- the runtime's wheels (AWS, LocalStack) ----------------------------------------------------------------------

@pytest.mark.parametrize("tags", [
    ["cp312-cp312-manylinux_2_17_x86_64"], ["cp312-abi3-manylinux_2_27_x86_64", "cp312-abi3-manylinux_2_28_x86_64"],
    ["cp38-abi3-manylinux2014_x86_64"], ["cp311-abi3-manylinux_2_34_x86_64"],
    ["cp312-cp312-macosx_11_0_arm64", "cp312-cp312-manylinux_2_28_x86_64"],
])
def test_wheels_for_the_runtime_pass_the_tag_check(tags: list[str], make_wheel: MakeWheel) -> None:
    assert native_layers.check_wheel(make_wheel(*tags)) in tags


@pytest.mark.parametrize("tag", [
    "cp311-cp311-manylinux_2_28_x86_64", "cp313-cp313-manylinux_2_28_x86_64", "cp313-abi3-manylinux_2_28_x86_64",
    "cp312-cp312-manylinux_2_28_aarch64", "cp312-abi3-manylinux_2_28_aarch64", "cp312-cp312-macosx_11_0_arm64",
    "cp312-cp312-macosx_10_9_x86_64", "cp312-cp312-musllinux_1_2_x86_64", "cp312-cp312-win_amd64",
    "cp312-cp312-manylinux_2_39_x86_64", "cp311-abi3-manylinux_2_35_x86_64", "py3-none-any",
])
def test_wheels_for_another_interpreter_or_platform_are_refused(tag: str, make_wheel: MakeWheel) -> None:
    with pytest.raises(ProvisioningError, match=re.escape(tag)) as raised:
        native_layers.check_wheel(make_wheel(tag))
    assert RUNTIME in str(raised.value)


def test_a_file_that_is_not_a_wheel_is_refused(tmp_path: Path) -> None:
    (tmp_path / "duckdb-1.0-cp312-cp312-manylinux_2_28_x86_64.whl").write_bytes(b"not a zip")

    with pytest.raises(ProvisioningError, match="cannot read wheel"):
        native_layers.check_wheel(tmp_path / "duckdb-1.0-cp312-cp312-manylinux_2_28_x86_64.whl")


def test_the_runtime_decides_the_python_tag() -> None:
    assert native_layers.python_tag("python3.12") == "cp312"
    assert native_layers.python_tag("python3.9") == "cp39"
    with pytest.raises(ValueError, match=re.escape("nodejs20.x")):
        native_layers.python_tag("nodejs20.x")


@BY_NAME
def test_the_wheel_layer_holds_the_wheels_under_python_without_data_dirs_and_is_cached(
        layer: NativeLayer, make_wheel: MakeWheel, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheels(make_wheel, layer, cache)
    built = native_layers.build_layer(layer, Source.WHEEL)
    monkeypatch.setattr(packaging, "_zip", lambda entries: pytest.fail("rebuilt a cached layer"))

    assert native_layers.build_layer(layer, Source.WHEEL) == built
    assert len(list((cache / "layers").glob("*.zip"))) == 1
    infos = {dist: f"python/{dist}-{VERSIONS[dist]}.dist-info" for dist in layer.distributions}
    assert names_in(built) == sorted(name for dist, info in infos.items() for name in (
        f"python/_{dist}.abi3.so", f"python/{dist}/__init__.py", f"{info}/METADATA", f"{info}/WHEEL"))


@BY_NAME
def test_the_wheel_layer_is_deterministic_across_caches(layer: NativeLayer, make_wheel: MakeWheel, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    for name in ("one", "two"):
        monkeypatch.setenv(packaging.CACHE_ENV, str(tmp_path / name))
        make_wheels(make_wheel, layer, tmp_path / name)
        built.append(native_layers.build_layer(layer, Source.WHEEL))

    assert built[0] == built[1]


def fake_pip(make_wheel: MakeWheel, calls: list[list[str]], *tags: str) -> Callable[..., Any]:
    """A pip that "downloads" a tiny wheel of the distribution asked for, with `tags`, into its -d directory."""

    def run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        distribution, version = next(arg for arg in command if "==" in arg).split("==")
        make_wheel(*tags, directory=Path(command[command.index("-d") + 1]), distribution=distribution,
                   version=version)
        return subprocess.CompletedProcess(command, 0, "Saved\n", "")

    return run


@BY_NAME
def test_the_wheels_are_downloaded_once_then_read_from_the_cache(layer: NativeLayer, make_wheel: MakeWheel,
                                                                 cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", fake_pip(make_wheel, calls, GOOD_TAG))

    first = native_layers.fetch_wheels(layer)
    second = native_layers.fetch_wheels(layer)

    assert first == second and {wheel.parent for wheel in first} == {cache} and all(w.is_file() for w in first)
    assert len(calls) == len(layer.distributions)
    for command, distribution in zip(calls, layer.distributions, strict=True):
        assert command[:4] == [sys.executable, "-m", "pip", "download"]
        assert f"{distribution}=={VERSIONS[distribution]}" in command
        pairs = set(itertools.pairwise(command))
        assert {("--python-version", "3.12"), ("--implementation", "cp"), ("--abi", "cp312"),
                ("--platform", "manylinux_2_28_x86_64"), ("--platform", "manylinux_2_17_x86_64"),
                ("--platform", "manylinux2014_x86_64")} <= pairs
        assert {"--only-binary=:all:", "--no-deps"} <= set(command)


def test_a_downloaded_wheel_with_the_wrong_tags_is_refused_and_not_cached(make_wheel: MakeWheel, cache: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(subprocess, "run", fake_pip(make_wheel, calls, "cp312-cp312-manylinux_2_28_aarch64"))

    with pytest.raises(ProvisioningError, match="aarch64"):
        native_layers.fetch_wheel("duckdb")

    assert native_layers.cached_wheel("duckdb") is None
    assert not list(cache.glob("*.whl"))


def test_a_failed_download_says_which_command_failed_and_why(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pip_said = "Looking in indexes: ...\nERROR: No matching distribution found for duckdb==9.9.9\n"
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 1, "", pip_said))

    with pytest.raises(ProvisioningError) as raised:
        native_layers.fetch_wheel("duckdb", "9.9.9")

    message = str(raised.value)
    assert "could not download the duckdb 9.9.9 wheel for python3.12" in message
    assert "pip download duckdb==9.9.9" in message
    assert "exited with 1" in message
    assert "No matching distribution found for duckdb==9.9.9" in message


@pytest.mark.parametrize("error", [subprocess.TimeoutExpired(["pip"], 600), OSError("no such interpreter")])
def test_a_download_that_cannot_run_is_a_provisioning_error(error: Exception, cache: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "run", Mock(side_effect=error))

    with pytest.raises(ProvisioningError, match="pip download"):
        native_layers.fetch_wheel("duckdb")


def test_the_fetch_command_fails_with_the_reason_then_prints_every_layers_cached_wheels(
        make_wheel: MakeWheel, cache: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 1, "", "ERROR: offline"))
    assert native_layers.main(["--fetch"]) == 1
    assert "ERROR: offline" in capsys.readouterr().err
    assert native_layers.main([]) == 2

    wheels = [make_wheel(GOOD_TAG, directory=cache, distribution=name) for name in ("duckdb", "cryptography", "cffi")]
    monkeypatch.setattr(subprocess, "run", failing_pip)
    assert native_layers.main(["--fetch"]) == 0
    assert capsys.readouterr().out == "".join(f"{wheel}\n" for wheel in wheels)


def test_the_cache_defaults_under_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(packaging.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert packaging.cache_dir() == tmp_path / "lakebox" / "wheels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert packaging.cache_dir() == tmp_path / "home" / ".cache" / "lakebox" / "wheels"


@BY_NAME
def test_a_layer_over_lambdas_limits_is_refused(layer: NativeLayer, make_wheel: MakeWheel, cache: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    make_wheels(make_wheel, layer, cache)
    monkeypatch.setattr(native_layers, "MAX_DIRECT_UPLOAD_BYTES", 100)

    with pytest.raises(ProvisioningError, match=rf"the {layer.name} layer \(.*direct upload limit"):
        native_layers.build_layer(layer, Source.WHEEL)
    assert not (cache / "layers").exists() or not list((cache / "layers").glob("*.zip"))


def test_the_source_the_names_and_the_registrys_declarations() -> None:
    assert native_layers.source_for(host_interpreter=True) is Source.INSTALLED
    assert native_layers.source_for(host_interpreter=False) is Source.WHEEL
    names = ResourceNames("lakebox", "000000000000", "us-east-1")
    assert [layer.layer_name(names) for layer in LAYERS.values()] == ["lakebox-duckdb", "lakebox-cryptography"]
    assert {name for spec in STAGES.values() for name in spec.native_layers} <= set(LAYERS)
    assert STAGES[Stage.CURATION].native_layers == ("duckdb", "cryptography")
    assert native_layers.named("cryptography") is CRYPTOGRAPHY and native_layers.named("duckdb") is DUCKDB
    with pytest.raises(ProvisioningError, match=r"'pyarrow'.*duckdb, cryptography"):
        native_layers.named("pyarrow")


# ---- the packaging proof: the real wheels for the declared runtime, within Lambda's limits ------------------------

def runtime_wheel(distribution: str) -> Path:
    """The wheel the fetch command cached; its absence fails under CI=true (the fetch step is part of CI)."""
    if (wheel := native_layers.cached_wheel(distribution)) is None:
        reason = (f"no {RUNTIME} wheel of {distribution} {VERSIONS[distribution]} in "
                  f"{packaging.cache_dir()}: run `{FETCH}` first (it downloads it once)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return wheel


def runtime_layer(layer: NativeLayer) -> bytes:
    """The layer built from the cached wheels, with no download."""
    for distribution in layer.distributions:
        runtime_wheel(distribution)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(subprocess, "run", failing_pip)
        return native_layers.build_layer(layer, Source.WHEEL)


@pytest.mark.parametrize("distribution", [name for layer in LAYERS.values() for name in layer.distributions])
def test_the_cached_wheels_are_for_the_declared_runtime_on_x86_64(distribution: str) -> None:
    assert RUNTIME == "python3.12"
    tags = native_layers.wheel_tags(runtime_wheel(distribution))
    pattern = rf"{RUNTIME_TAGS[distribution]}-manylinux(_2_\d+|2014)_x86_64"
    assert [tag for tag in tags if re.fullmatch(pattern, tag)], tags
    assert not [tag for tag in tags if not tag.endswith("_x86_64")], tags


@pytest.mark.slow
def test_the_runtime_layers_fit_lambdas_limits_with_the_curation_function() -> None:
    built = {name: runtime_layer(layer) for name, layer in LAYERS.items()}
    assert (native_layers.MAX_DIRECT_UPLOAD_BYTES, native_layers.MAX_UNZIPPED_BYTES) == (50 * 2**20, 250 * 2**20)
    for name, archive in built.items():
        names = names_in(archive)
        assert f"python/{LAYERS[name].distributions[0]}/__init__.py" in names
        for engine in ENGINES[name]:
            assert [entry for entry in names if re.fullmatch(engine.format(abi=RUNTIME_ABI), entry)], engine
        assert len(archive) <= native_layers.MAX_DIRECT_UPLOAD_BYTES
    assert {name for spec in STAGES.values() for name in spec.native_layers} == set(built)

    curation = packaging.build_function("curation")
    layers = [built[name] for name in STAGES[Stage.CURATION].native_layers]
    total = sum(map(native_layers.unzipped_size, (curation, packaging.build_layer(), *layers)))
    assert total <= native_layers.MAX_UNZIPPED_BYTES

    # Where layers are not applied (LocalStack Community) all of them are bundled into the function's zip.
    entries = [(name.removeprefix("python/"), path) for layer in STAGES[Stage.CURATION].native_layers
               for name, path in native_layers.layer_entries(LAYERS[layer], Source.WHEEL)]
    assert len({name for name, _ in entries}) == len(entries)  # no file of one layer is also another's
    bundled = packaging.build_function("curation", bundle_layer=True, extra=entries)
    assert len(bundled) <= native_layers.MAX_DIRECT_UPLOAD_BYTES
    assert native_layers.unzipped_size(bundled) <= native_layers.MAX_UNZIPPED_BYTES


def _python312() -> str | None:
    found = shutil.which("python3.12")
    if found is None:
        return None
    answer = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                            capture_output=True, text=True, check=False)
    return found if answer.stdout.strip() == "True" else None


@SLOW_BY_NAME
def test_the_runtime_layer_imports_on_the_runtimes_python_and_not_on_another(layer: NativeLayer,
                                                                             tmp_path: Path) -> None:
    archive = runtime_layer(layer)
    if sys.version_info[:2] != (3, 12):
        # What MiniStack would do with it: its own interpreter cannot load the runtime's compiled code.
        assert probe(layer, sys.executable, archive, tmp_path / "here").returncode != 0
    python312 = _python312()
    if python312 is None:
        pytest.skip("no python3.12 on PATH to import the runtime's layer with")
    done = probe(layer, python312, archive, tmp_path / "runtime")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == layer.version
