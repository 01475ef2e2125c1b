"""`lakebox ingest --dataset`: a name that cannot become a table is refused before anything is uploaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lakebox import cli
from lakebox.exceptions import DatasetNameRefused
from lakebox.ingest import uploads
from lakebox.ingest.uploads import ingest_paths
from lakebox.lake.target import Target
from lakebox_layer.datasets import DATASET_NAME_RULE
from lakebox_layer.exceptions import LakeboxError

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No recorded emulator, and an endpoint where nothing listens instead of AWS."""
    monkeypatch.setenv("LAKEBOX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")


@pytest.fixture
def uploaded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every call to the upload step, which stands in for S3."""
    calls: list[tuple[Any, ...]] = []

    def fake_upload(target: Target, found: list[tuple[Path, str]], dataset: str) -> list[Any]:
        calls.append((found, dataset))
        return []

    monkeypatch.setattr(uploads, "upload", fake_upload)
    return calls


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / "a.csv"
    path.write_text("id\n1\n")
    return path


@pytest.mark.parametrize("dataset", ["Bad Name/..", "Sales", "UPPER", "1st", "sales.eu", ""])
def test_ingest_refuses_an_invalid_dataset_before_any_upload(
        uploaded: list[tuple[Any, ...]], sample: Path, dataset: str) -> None:
    result = runner.invoke(cli.app, ["ingest", str(sample), "--dataset", dataset])

    assert result.exit_code == 1
    assert "error:" in result.output
    assert "is not a valid dataset name" in result.output
    assert "lowercase letters" in result.output
    assert uploaded == []


def test_the_refusal_comes_before_the_paths_are_looked_at(uploaded: list[tuple[Any, ...]], tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["ingest", str(tmp_path / "nope.csv"), "--dataset", "Nope"])

    assert result.exit_code == 1
    assert "is not a valid dataset name" in result.output
    assert uploaded == []


@pytest.mark.parametrize("dataset", ["sales-eu", "sales_eu", "default", "orders2026"])
def test_ingest_accepts_a_valid_dataset_as_given(uploaded: list[tuple[Any, ...]], sample: Path, dataset: str) -> None:
    result = runner.invoke(cli.app, ["ingest", str(sample), "--dataset", dataset, "--json"])

    assert result.exit_code == 0, result.output
    assert uploaded == [([(sample, "a.csv")], dataset)]


def test_the_refusal_is_a_lakebox_error_naming_the_rule(uploaded: list[tuple[Any, ...]], sample: Path) -> None:
    target = Target.at("http://127.0.0.1:9", "us-east-1")

    with pytest.raises(DatasetNameRefused) as refused:
        ingest_paths(target, [sample], "Bad Name")

    assert isinstance(refused.value, LakeboxError)
    assert str(refused.value) == f'dataset "Bad Name" is not a valid dataset name: use {DATASET_NAME_RULE}'
    assert uploaded == []
