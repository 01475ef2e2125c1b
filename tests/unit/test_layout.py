"""The repository's shape: test modules collectable together, and no module grown past what one person reads."""

from __future__ import annotations

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
