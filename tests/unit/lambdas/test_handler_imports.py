"""Import guard, walked from the stage registry: each stage's handler imports with nothing but the standard library,
boto3, its zip and its layers (the shared layer, and the native layers its stage declares: DuckDB's,
cryptography's).

The handler runs as on Lambda: a fresh interpreter without site-packages, whose path holds the function's unpacked
zip, the unpacked layers' `python/` directories and a directory with only what the Lambda runtime provides (boto3 and
its dependencies). The native layers are built as MiniStack gets them (the compiled code installed here), since this
interpreter is the one that imports them; after the handler, each native layer its stage declares is used once (its
import check), as the stage's code would. Importing the handler also builds its stage (settings from the environment,
lazy clients); every socket is refused in that interpreter, so an import that reaches for the network fails.
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lakebox_infra.native_layers import LAYERS, Source, build_layer, layer_entries
from lakebox_infra.packaging import build_function
from lakebox_infra.packaging import build_layer as build_shared_layer
from lakebox_layer.registry import Stage
from tests.fakes.functions import FUNCTION_ENV

# Each test unpacks a function's package and imports it in a new interpreter: seconds each.
pytestmark = pytest.mark.slow

# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")
# The shared layer's personal data detectors (phonenumberslite, python-stdnum: lakebox_layer.detectors).
PII_DETECTORS = ("phonenumbers", "stdnum")

# Runs in the isolated interpreter: argv[1] is a JSON list of directories to put before the standard library, argv[2]
# Python run after the handler is imported (the native layers' checks).
PROBE = r"""
import json, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network use during import")

class NoSocket(socket.socket):
    def connect(self, *args, **kwargs):
        refuse()
    def connect_ex(self, *args, **kwargs):
        refuse()

socket.socket = NoSocket
socket.create_connection = refuse
socket.getaddrinfo = refuse

stdlib = list(sys.path)
assert not any("site-packages" in entry for entry in stdlib), stdlib
sys.path[:0] = json.loads(sys.argv[1])

import handler
import lakebox_layer

assert callable(handler.handler)

def third_party():
    # _sysconfigdata_<platform> is the standard library's build configuration, which stdlib_module_names leaves out
    # (sysconfig imports it; pydoc, which python-stdnum imports, imports sysconfig).
    return sorted({
        name.partition(".")[0] for name in sys.modules
        if name.partition(".")[0] not in sys.stdlib_module_names and not name.startswith("_sysconfigdata_")
    })

imported = third_party()
exec(sys.argv[2])
used = third_party()
origins = {name: getattr(sys.modules[name], "__file__", None) for name in used}
print(json.dumps({"handler": handler.__file__, "layer": lakebox_layer.__file__, "modules": imported, "used": used,
                  "origins": origins}))
"""


def _runtime_dir(root: Path) -> Path:
    """A directory holding only the packages the Lambda runtime provides, linked from this environment."""
    runtime = root / "runtime"
    runtime.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        assert spec is not None, f"{name} is not installed"
        if spec.submodule_search_locations:
            source = Path(next(iter(spec.submodule_search_locations)))
        else:
            assert spec.origin is not None
            source = Path(spec.origin)
        (runtime / source.name).symlink_to(source, target_is_directory=source.is_dir())
    return runtime


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shared layer's and each native layer's `python/` (by the layer's name), the runtime's packages, the root."""
    root = tmp_path_factory.mktemp("lambda")
    zipfile.ZipFile(io.BytesIO(build_shared_layer())).extractall(root / "opt")
    found = {"layer": root / "opt" / "python", "runtime": _runtime_dir(root), "root": root}
    for name, native in LAYERS.items():
        zipfile.ZipFile(io.BytesIO(build_layer(native, Source.INSTALLED))).extractall(root / name)
        found[name] = root / name / "python"
    return found


def _layers(stage: Stage, unpacked: dict[str, Path]) -> list[Path]:
    return [unpacked["layer"], *(unpacked[name] for name in stage.spec.native_layers)]


def _vendored_by(stage: Stage) -> set[str]:
    """What the stage may import from its layers besides lakebox_layer: the personal data detectors only in
    validation, the one stage that classifies columns (the shared layer carries them for every stage)."""
    return {"aws_lambda_powertools", "typing_extensions", "fastjsonschema",
            *(PII_DETECTORS if stage is Stage.VALIDATION else ()),
            *(module for name in stage.spec.native_layers for module in LAYERS[name].modules)}


def _checks(stage: Stage) -> str:
    """The import checks of the stage's native layers, one after the other."""
    return "\n".join(LAYERS[name].check for name in stage.spec.native_layers)


def _files(report: dict[str, Any]) -> set[str]:
    """The third-party modules the probe saw that have a file (a module an extension registers, such as
    cryptography's `_openssl`, has none of its own)."""
    return {name for name, origin in report["origins"].items() if origin}


def _import(path: list[Path], task: Path, checks: str = "") -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, json.dumps([str(entry) for entry in path]), checks],
        env=FUNCTION_ENV, cwd=task, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("stage", list(Stage))
def test_handler_imports_with_only_runtime_packages_and_its_layers(stage: Stage, unpacked: dict[str, Path]) -> None:
    task = unpacked["root"] / f"task-{stage.value}"
    zipfile.ZipFile(io.BytesIO(build_function(stage.value))).extractall(task)
    # Lambda's order: the function's code, then the layers, then the runtime's packages.
    report = _import([task, *_layers(stage, unpacked), unpacked["runtime"]], task, _checks(stage))

    assert Path(report["handler"]).resolve() == (task / "handler.py").resolve()
    assert Path(report["layer"]).resolve() == (unpacked["layer"] / "lakebox_layer" / "__init__.py").resolve()
    allowed = {*RUNTIME_PACKAGES, "handler", "lakebox_layer", "__main__", "__mp_main__", *_vendored_by(stage)}
    assert set(report["modules"]) <= set(report["used"]) <= allowed
    # What the native layers bring is all there once they are used, and all of it is allowed.
    assert {module for name in stage.spec.native_layers for module in LAYERS[name].modules} <= set(report["used"])
    assert "lakebox_layer" in report["modules"]
    if stage is Stage.VALIDATION:
        assert "fastjsonschema" in report["modules"]  # contracts' JSON Schemas are compiled with it
        assert set(PII_DETECTORS) <= set(report["modules"])  # the first records' columns are classified with them
    if stage.spec.duckdb:
        assert "duckdb" in report["modules"]
    # Vendored third-party code is imported from a layer, never from somewhere else on the path.
    layers = [layer.resolve() for layer in _layers(stage, unpacked)]
    for vendored in _vendored_by(stage) & _files(report):
        origin = Path(report["origins"][vendored]).resolve()
        assert any(origin.is_relative_to(layer) for layer in layers), (vendored, origin)


@pytest.mark.parametrize("stage", list(Stage))
def test_a_bundled_function_imports_without_any_layer(stage: Stage, unpacked: dict[str, Path]) -> None:
    """Where an emulator does not apply layers, the bundled zip alone must be enough."""
    task = unpacked["root"] / f"bundled-{stage.value}"
    extra = [(name.removeprefix("python/"), path) for layer in stage.spec.native_layers
             for name, path in layer_entries(LAYERS[layer], Source.INSTALLED)]
    zipfile.ZipFile(io.BytesIO(build_function(stage.value, bundle_layer=True, extra=extra))).extractall(task)
    report = _import([task, unpacked["runtime"]], task, _checks(stage))

    assert Path(report["layer"]).resolve() == (task / "lakebox_layer" / "__init__.py").resolve()
    for vendored in _vendored_by(stage) & _files(report):
        # The bundled copies are the ones imported.
        assert Path(report["origins"][vendored]).resolve().is_relative_to(task.resolve()), vendored
