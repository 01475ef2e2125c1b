"""Personal data end to end, under IAM enforcement, on a production lake of its own (`LAKEBOX_ENVIRONMENT=production
lakebox up --strict-iam`): the members sample (an email its contract declares personal data; a phone, an IBAN and a
card number it does not; columns that are none) goes through as the operator; no original value of the four reaches
a curated object or a query result and the other columns are unchanged; the steward's `--reveal` gives back exactly
the originals and the operator's is refused; the Sensitive Data Detected notice reaches a queue subscribed to the
alerts topic; a `quarantine` policy quarantines with the reason. On the session's (development) lake the same file
is masked deterministically, and `--reveal` says why it cannot."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

from lakebox.cli import app
from lakebox.emulator.embedded import EmbeddedEmulator
from lakebox.lake.target import Target
from lakebox.polling import wait_until
from lakebox_infra.contract_files import contracts
from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.contracts import parse_contract
from lakebox_layer.protection import is_ciphertext
from lakebox_layer.registry import SENSITIVE_DATA_DETECTED
from tests.e2e.lake import Invoke, Lake, subscribe_queue

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "members" / "members-2026-01.csv"
ROWS = list(csv.DictReader(SAMPLE.open(newline="")))
PERSONAL = ("email", "phone", "iban", "card")
OTHERS = ("member_id", "tier", "joined_on", "points", "note")
UNDECLARED = {"phone": "phone", "iban": "iban", "card": "payment_card"}
ORIGINALS = [row[column] for row in ROWS for column in PERSONAL]
DEADLINE_S = 120.0


def cli(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def succeed(env: dict[str, str], *args: str) -> str:
    result = cli(env, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


@dataclass
class ProductionLake:
    """A production lake that enforces IAM: root's target for checks, and the CLI's environment per identity."""

    target: Target
    state_dir: Path
    notices_url: str
    ingested: list[dict[str, Any]]

    def env(self, identity: str) -> dict[str, str]:
        return {"LAKEBOX_STATE_DIR": str(self.state_dir), "LAKEBOX_IDENTITY": identity}

    def client(self, service: str) -> Any:
        return self.target.session.client(service, region_name=self.target.region,  # type: ignore[call-overload]
                                          endpoint_url=self.target.endpoint)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionLake]:
    state_dir = tmp_path_factory.mktemp("production-state")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE",
                     "LAKEBOX_IDENTITY"):
            patch.delenv(name, raising=False)
        patch.setenv("LAKEBOX_STATE_DIR", str(state_dir))
        patch.setenv("LAKEBOX_ENVIRONMENT", "production")
        try:
            described = json.loads(succeed({}, "up", "--strict-iam", "--port", "0", "--json"))
            state = EmbeddedEmulator(state_dir).state()
            assert state is not None and state.strict_iam
            target = Target.at(state.endpoint, state.region)
            lake = ProductionLake(target, state_dir, "", [])
            lake.notices_url = subscribe_queue(lake.client("sqs"), lake.client("sns"), described["alerts_topic"],
                                               f"pii-notices-{uuid.uuid4().hex[:6]}")
            patch.delenv("LAKEBOX_ENVIRONMENT")
            lake.ingested = json.loads(succeed(lake.env("operator"), "ingest", str(SAMPLE.parent), "--dataset",
                                               "members", "--wait", "--json", "--timeout", str(DEADLINE_S)))
            yield lake
        finally:
            EmbeddedEmulator(state_dir).stop()


def curation_record(target: Target, process_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    def curated() -> bool:
        found[:] = [r for r in target.metadata.stage_records(process_id) if r["Stage"] == "curation"]
        return bool(found)

    wait_until(curated, deadline_s=DEADLINE_S, interval_s=0.5, what=f"the curation record of {process_id}")
    return found[0]


def curated_values(target: Target, record: dict[str, Any], tmp_path: Path) -> tuple[bytes, list[dict[str, Any]]]:
    """Every curated object's bytes, and its rows as DuckDB reads them (by member_id)."""
    bodies, rows = b"", []
    for number, uri in enumerate(record["CuratedObjects"]):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        body = target.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        bodies += body
        path = tmp_path / f"{number}.parquet"
        path.write_bytes(body)
        with duckdb.connect() as db:
            cursor = db.execute(f"SELECT * FROM read_parquet('{path}', hive_partitioning = false)")
            names = [d[0] for d in cursor.description]
            rows += [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return bodies, sorted(rows, key=lambda row: row["member_id"])


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


# -- a production lake -----------------------------------------------------------------------------------------------


def test_the_members_file_is_processed_and_curated_with_all_four_columns_protected(
        production: ProductionLake, tmp_path: Path) -> None:
    [row] = production.ingested
    assert (row["key"], row["status"]) == ("input/members/members-2026-01.csv", "processed"), row
    record = curation_record(production.target, row["process_id"])
    assert record["CurationStatus"] == "curated"
    assert record["Protected"] == {"email": "lakebox:pii=encrypt;class=email",
                                   **{c: f"lakebox:pii=encrypt;class={k}" for c, k in UNDECLARED.items()}}
    bodies, rows = curated_values(production.target, record, tmp_path)

    assert not [value for value in ORIGINALS if value.encode() in bodies]
    assert len(rows) == len(ROWS)
    for curated, original in zip(rows, ROWS, strict=True):
        assert all(is_ciphertext(curated[column]) for column in PERSONAL), curated
        assert all(len(curated[f"{column}_token"]) == 64 for column in PERSONAL)
        assert {c: as_text(curated[c]) for c in OTHERS} == {c: original[c] for c in OTHERS}
    assert rows[0]["email_token"] == rows[4]["email_token"], "the same email gives the same token"
    assert rows[0]["email"] != rows[4]["email"], "ciphertext of the same email differs"
    glue = production.client("glue").get_table(DatabaseName=production.target.names.glue_database, Name="members")
    comments = {c["Name"]: c.get("Comment") for c in glue["Table"]["StorageDescriptor"]["Columns"]}
    assert comments["email"] == "lakebox:pii=encrypt;class=email" and comments["note"] is None


def test_no_original_value_reaches_the_operators_query_result(production: ProductionLake) -> None:
    out = succeed(production.env("operator"), "query", "SELECT * FROM members ORDER BY member_id", "--json")

    rows = json.loads(out)
    assert [row["member_id"] for row in rows] == [int(r["member_id"]) for r in ROWS]
    assert not [value for value in ORIGINALS if value in out]
    assert [row["tier"] for row in rows] == [r["tier"] for r in ROWS]


def test_the_stewards_reveal_gives_back_exactly_the_original_values(production: ProductionLake) -> None:
    result = cli(production.env("steward"), "query", "SELECT member_id, email AS who, phone, iban, card FROM members "
                 "ORDER BY member_id", "--json", "--reveal")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [{"email": row["who"], "phone": row["phone"], "iban": row["iban"], "card": row["card"]} for row in rows] \
        == [{column: original[column] for column in PERSONAL} for original in ROWS]
    assert "revealed 20 protected values of who, phone, iban, card" in result.stderr


def test_the_operators_reveal_is_refused_in_one_line(production: ProductionLake) -> None:
    result = cli(production.env("operator"), "query", "SELECT email FROM members", "--reveal")

    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "kms:Decrypt" in line and "lakebox-steward" in line and "LAKEBOX_IDENTITY=steward" in line, line
    assert not [value for value in ORIGINALS if value in result.output]


def test_the_sensitive_data_notice_reaches_a_queue_subscribed_to_the_alerts_topic(
        production: ProductionLake) -> None:
    sqs = production.client("sqs")
    [row] = production.ingested
    notices: list[dict[str, Any]] = []

    def arrived() -> bool:
        for message in sqs.receive_message(QueueUrl=production.notices_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(message["Body"])
            if body.get("detail-type") == SENSITIVE_DATA_DETECTED.detail_type:
                notices.append(body)
        return any(n["detail"]["process_id"] == row["process_id"] for n in notices)

    wait_until(arrived, deadline_s=DEADLINE_S, interval_s=0.5, what="the Sensitive Data Detected notice")
    [notice] = [n for n in notices if n["detail"]["process_id"] == row["process_id"]]
    detail = notice["detail"]
    assert (detail["dataset"], detail["key"], detail["policy"]) == ("members", row["key"], "protect")
    assert detail["columns"] == UNDECLARED
    assert detail["classes"] == sorted(UNDECLARED.values())
    assert not [value for value in ORIGINALS if value in json.dumps(notice)]


def test_a_quarantine_policy_quarantines_the_file_with_the_column_and_class(production: ProductionLake) -> None:
    [members] = [c for c in contracts() if c.dataset == "members"]
    strict = {**members.document, "dataset": "members_strict",
              "policy": {**members.document["policy"], "undeclared_pii": "quarantine"}}
    ContractStore(production.target.clients.dynamodb, production.target.names.metadata_table).publish(
        parse_contract(strict))

    [row] = json.loads(succeed(production.env("operator"), "ingest", str(SAMPLE), "--dataset", "members_strict",
                               "--wait", "--json", "--timeout", str(DEADLINE_S)))

    assert row["status"] == "quarantined"
    reasons = " ".join(row["errors"])
    for column, kind in UNDECLARED.items():
        assert f"column '{column}' holds personal data ({kind})" in reasons, reasons
    assert not [value for value in ORIGINALS if value in json.dumps(row)]


# -- a development lake (the session's) ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def masked(lake: Lake) -> dict[str, Any]:
    """The members file on the session's lake, under a dataset of its own (the sample's counts stay as they are)."""
    [members] = [c for c in contracts() if c.dataset == "members"]
    ContractStore(lake.target.clients.dynamodb, lake.names.metadata_table).publish(
        parse_contract({**members.document, "dataset": "members_masked"}))
    raw = lake.put_raw(f"input/members_masked/{uuid.uuid4().hex[:6]}.csv", SAMPLE.read_bytes())
    row = lake.outcome(raw, deadline_s=DEADLINE_S)
    assert row.status.value == "processed", row
    return curation_record(lake.target, raw.process_id)


def test_a_development_lake_masks_deterministically(lake: Lake, masked: dict[str, Any], tmp_path: Path) -> None:
    bodies, rows = curated_values(lake.target, masked, tmp_path)

    assert not [value for value in ORIGINALS if value.encode() in bodies]
    for curated, original in zip(rows, ROWS, strict=True):
        assert not any(is_ciphertext(curated[column]) for column in PERSONAL)
        assert all(curated[column] != original[column] for column in PERSONAL)
        assert curated["email"].endswith(original["email"][original["email"].rindex("."):])
        assert curated["card"][-4:] == original["card"][-4:] and curated["iban"][:2] == original["iban"][:2]
        assert {c: as_text(curated[c]) for c in OTHERS} == {c: original[c] for c in OTHERS}
    assert [rows[0][c] for c in PERSONAL[:3]] == [rows[4][c] for c in PERSONAL[:3]], "equal values mask equally"
    assert not masked.get("DataKeys"), "no data key is made outside production"


def test_a_development_lake_cannot_reveal_and_says_why(invoke: Invoke, masked: dict[str, Any]) -> None:
    result = invoke("query", "SELECT email FROM members_masked", "--reveal")

    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert "development lake" in line and "masks" in line and "LAKEBOX_ENVIRONMENT=production" in line, line
