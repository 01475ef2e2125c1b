"""`lakebox status` pages as a person and a script use them: the first page by default with the way to the next,
`--next` and `--page-token` going on, `--all` and plain `--json` giving every file, and clear refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakebox import cli
from lakebox.lake.metadata import MetadataReader
from lakebox.lake.pages import DEFAULT_PAGE_FILES, PageToken
from lakebox.lake.target import Target
from tests.fakes.metadata import PIPELINE, FakeDynamoDB, file_records, lake, reader_of

runner = CliRunner()


@dataclass
class FakeTarget:
    """What the status command asks of its target: where it is, the pipeline, the metadata reader."""

    metadata: MetadataReader
    where: str = "http://127.0.0.1:9"
    project: str = PIPELINE


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def serve(monkeypatch: pytest.MonkeyPatch, db: FakeDynamoDB, where: str = "http://127.0.0.1:9") -> None:
    monkeypatch.setattr(Target, "resolve", classmethod(lambda cls, project=None: FakeTarget(reader_of(db),
                                                                                               where)))


def status(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli.app, ["status", *args])
    assert result.exit_code == code, result.output
    return result.output


def keys_in(output: str) -> list[str]:
    return [word for line in output.splitlines() for word in line.split() if word.startswith("input/")]


def test_the_first_page_by_default_then_next_until_the_last(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(2 * DEFAULT_PAGE_FILES + 5))

    first = status()
    second = status("--next")
    last = status("--next")
    after = status("--next", code=2)

    assert keys_in(first) == [f"input/f{n:03d}.json" for n in range(DEFAULT_PAGE_FILES)]
    assert "files 1-50 in key order; next page: lakebox status --next (or --page-token " in first
    assert keys_in(second) == [f"input/f{n:03d}.json" for n in range(50, 100)]
    assert "files 51-100 in key order" in second
    assert keys_in(last) == [f"input/f{n:03d}.json" for n in range(100, 105)]
    assert "files 101-105 in key order: the last page" in last
    assert "showed the last page" in after


def test_a_page_token_shows_its_page_and_limit_sets_the_size(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(30))

    output = status("--limit", "4", "--page-token", PageToken("input/f009.json", 10).encode())

    assert keys_in(output) == ["input/f010.json", "input/f011.json", "input/f012.json", "input/f013.json"]
    assert "files 11-14 in key order" in output
    assert keys_in(status("--next")) == ["input/f014.json", "input/f015.json", "input/f016.json", "input/f017.json"]


def test_json_with_a_limit_is_one_page_with_its_token(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(7))

    first = json.loads(status("--json", "--limit", "5"))
    rest = json.loads(status("--json", "--limit", "5", "--page-token", first["next_page_token"]))

    assert [row["key"] for row in first["files"]] == [f"input/f{n:03d}.json" for n in range(5)]
    assert [row["key"] for row in rest["files"]] == ["input/f005.json", "input/f006.json"]
    assert (first["first"], rest["first"], rest["next_page_token"]) == (1, 6, None)
    assert set(rest["files"][0]) >= {"key", "status", "quality_score", "errors", "destination", "process_id"}


@pytest.mark.parametrize("args", [["--json"], ["--json", "--all"]])
def test_plain_json_and_all_stay_a_list_of_every_file(
        monkeypatch: pytest.MonkeyPatch, state: Path, args: list[str]) -> None:
    serve(monkeypatch, lake(DEFAULT_PAGE_FILES + 3))

    rows = json.loads(status(*args))

    assert [row["key"] for row in rows] == [f"input/f{n:03d}.json" for n in range(DEFAULT_PAGE_FILES + 3)]


def test_all_as_a_table_shows_every_file_without_a_page_line(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(DEFAULT_PAGE_FILES + 3))

    output = status("--all")

    assert len(keys_in(output)) == DEFAULT_PAGE_FILES + 3
    assert "next page" not in output


def test_a_lake_with_fewer_files_than_a_page_says_so(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(3))

    assert "files 1-3 in key order: all of them" in status()
    serve(monkeypatch, FakeDynamoDB())
    assert "no files yet at http://127.0.0.1:9" in status()


def test_next_belongs_to_the_pipeline_it_was_shown_for(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(60))
    status("--next", code=2)
    status()

    serve(monkeypatch, lake(60), where="http://127.0.0.1:10")

    assert "no page to follow at http://127.0.0.1:10" in status("--next", code=2)


@pytest.mark.parametrize(("args", "message"), [
    (["--all", "--limit", "5"], "--all shows every file"),
    (["--page-token", "x", "--next"], "choose one of --page-token and --next"),
    (["--page-token", "not a token"], "not a page token"),
])
def test_conflicting_or_bad_options_are_usage_errors(
        monkeypatch: pytest.MonkeyPatch, state: Path, args: list[str], message: str) -> None:
    serve(monkeypatch, lake(3))

    assert message in status(*args, code=2)


def test_a_limit_below_one_is_refused(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    serve(monkeypatch, lake(3))

    status("--limit", "0", code=2)


def test_the_page_line_keeps_a_long_token_whole(monkeypatch: pytest.MonkeyPatch, state: Path) -> None:
    db = FakeDynamoDB()
    long_keys = [f"input/{'x' * 300}-{n}.json" for n in range(3)]
    for n, key in enumerate(long_keys):
        db.add(*file_records(key, f"p{n}"))
    serve(monkeypatch, db)

    line = status("--limit", "1").splitlines()[-1]

    token = line.split("--page-token ", 1)[1].split(")", 1)[0]
    assert PageToken.decode(token) == PageToken(long_keys[0], 1)


def test_a_state_folder_that_cannot_be_written_costs_only_next(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(blocker / "state"))
    serve(monkeypatch, lake(12))

    assert len(keys_in(status("--limit", "5"))) == 5
    assert "run `lakebox status` first" in status("--next", code=2)
