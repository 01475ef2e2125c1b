"""The repository's shape: test modules collectable together and standing alone, the unit tests in folders that
mirror the code, the CLI's top level short, and no module grown past what one person reads."""

from __future__ import annotations

import ast
import subprocess
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400


def _tracked_python() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=False)
    if listed.returncode == 0 and listed.stdout.strip():
        return [ROOT / line for line in listed.stdout.splitlines() if (ROOT / line).is_file()]
    return [path for path in ROOT.rglob("*.py") if not {".git", "build", ".venv", "venv"} & set(path.parts)]


def test_no_two_test_modules_share_a_basename() -> None:
    """pytest imports test modules by basename (tests/ has no packages): a clash stops the whole collection."""
    names = Counter(path.name for path in (ROOT / "tests").rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_every_module_is_under_the_size_limit() -> None:
    too_long = {str(path.relative_to(ROOT)): lines for path in _tracked_python()
                if (lines := len(path.read_text(errors="replace").splitlines())) >= MAX_MODULE_LINES}
    assert too_long == {}


# Each folder of tests/unit and the code it tests.
MIRRORED = {"layer": "layer/lakebox_layer", "infra": "infra/lakebox_infra", "lambdas": "lambdas", "cli": "src/lakebox"}
MAX_TOP_LEVEL_MODULES = 12


def _code_folder(test_folder: Path) -> Path:
    top, *rest = test_folder.relative_to(ROOT / "tests" / "unit").parts
    return ROOT / MIRRORED[top] / Path(*rest) if rest else ROOT / MIRRORED[top]


def test_the_unit_tests_mirror_the_code() -> None:
    """tests/unit/<part>/<package>/ tests <part>'s <package>/ (cli is src/lakebox; its commands/ and feature packages
    each have their folder)."""
    unit = ROOT / "tests" / "unit"
    folders = sorted({path.parent for path in unit.rglob("test_*.py")} - {unit})
    assert folders, "no test folders under tests/unit"
    assert [str(f.relative_to(ROOT)) for f in folders if not _code_folder(f).is_dir()] == []
    # Every package of the CLI has its tests' folder.
    packages = [p.name for p in (ROOT / "src" / "lakebox").iterdir() if (p / "__init__.py").is_file()]
    assert [name for name in packages if not (unit / "cli" / name).is_dir()] == []


def _imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_test_module_imports_another() -> None:
    """What tests share lives in tests/fakes/ or a support module, never in another test module."""
    importing = {str(path.relative_to(ROOT)): sorted(m for m in _imported_modules(path)
                                                     if m.rsplit(".", 1)[-1].startswith("test_"))
                 for path in (ROOT / "tests").rglob("*.py")}
    assert {path: modules for path, modules in importing.items() if modules} == {}


def test_the_clis_top_level_holds_at_most_a_dozen_modules() -> None:
    modules = [path.name for path in (ROOT / "src" / "lakebox").glob("*.py")]
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules
