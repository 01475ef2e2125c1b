"""The packages' zips are built once and read from the cache while their files are unchanged; a changed file (its
size or modification time) builds a new zip, which replaces the older one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakebox_infra import packaging


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(packaging.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def files(tmp_path: Path) -> list[tuple[str, Path]]:
    source = tmp_path / "src"
    source.mkdir()
    for name, text in {"handler.py": "def handler(event, context):\n    return 1\n", "data.json": "{}"}.items():
        (source / name).write_text(text)
    return [(path.name, path) for path in sorted(source.iterdir())]


def _zips_built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    zip_files = packaging._zip

    def counting(entries: list[tuple[str, Path]]) -> bytes:
        built.append(1)
        return zip_files(entries)

    monkeypatch.setattr(packaging, "_zip", counting)
    return built


def test_unchanged_files_are_zipped_once(cache: Path, files: list[tuple[str, Path]],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    built = _zips_built(monkeypatch)

    first = packaging.cached_zip(files, cache, "function-x")
    second = packaging.cached_zip(files, cache, "function-x")

    assert first == second == packaging._zip(files)
    assert len(built) == 2  # the first call, and the comparison's own zip above
    assert [path.name.rsplit("-", 1)[0] for path in cache.iterdir()] == ["function-x"]


def test_a_changed_file_is_zipped_again_and_replaces_the_older_zip(cache: Path, files: list[tuple[str, Path]],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = packaging.cached_zip(files, cache, "function-x")
    built = _zips_built(monkeypatch)
    handler = files[1][1]
    handler.write_text("def handler(event, context):\n    return 2\n")  # the same size: only its time differs
    stat = handler.stat()
    os.utime(handler, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    after = packaging.cached_zip(files, cache, "function-x")

    assert after != before and after == packaging._zip(files)
    assert len(built) == 2
    assert len(list(cache.glob("function-x-*.zip"))) == 1


def test_zips_under_other_prefixes_are_kept(cache: Path, files: list[tuple[str, Path]]) -> None:
    packaging.cached_zip(files, cache, "function-x")
    packaging.cached_zip(files[:1], cache, "function-x+bundled")

    assert sorted(path.name.rsplit("-", 1)[0] for path in cache.glob("*.zip")) == ["function-x", "function-x+bundled"]


def test_the_real_packages_come_from_the_cache_the_second_time(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer, function = packaging.build_layer(), packaging.build_function("ingestion")
    built = _zips_built(monkeypatch)

    assert (packaging.build_layer(), packaging.build_function("ingestion")) == (layer, function)
    assert built == []
