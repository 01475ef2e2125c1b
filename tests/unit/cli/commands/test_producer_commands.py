"""`lakebox producer add | list | revoke` on moto's AWS: the key printed once and never again, list and revoke as a
table or JSON, and every refusal one line with exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner, Result

from lakebox import cli
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.producers import looks_like_key
from tests.unit.cli.moto_lake import MotoLake

runner = CliRunner()


def run(*args: str, code: int = 0) -> Result:
    result = runner.invoke(cli.app, list(args))
    assert result.exit_code == code, result.output
    return result


def store(lake: MotoLake) -> ProducerStore:
    return ProducerStore(lake.target.clients.dynamodb, lake.target.settings.metadata_table)


def test_add_prints_the_key_once_and_it_finds_the_producer(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    output = run("producer", "add", "partner", "--dataset", "orders", "--dataset", "events").stdout
    assert "producer partner may write: orders, events" in output
    assert "no ingestion API here yet: `lakebox up` provisions it" in output
    [key] = [word for word in output.split() if word.startswith("lbk_")]
    assert looks_like_key(key)
    found = store(lake).by_key(key)
    assert found is not None and found.datasets == ("orders", "events")

    added = json.loads(run("producer", "add", "app", "--dataset", "events", "--json").stdout)
    assert looks_like_key(added.pop("key"))
    assert added == {"name": "app", "datasets": ["events"], "created_at": added["created_at"], "revoked": False,
                     "revoked_at": None, "ingest_api": None}
    listed = run("producer", "list").stdout + run("producer", "list", "--json").stdout
    assert "partner" in listed and "app" in listed and "lbk_" not in listed


def test_list_json_and_revoke(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    assert json.loads(run("producer", "list", "--json").stdout) == []
    assert "no producers" in run("producer", "list").stdout
    key = json.loads(run("producer", "add", "partner", "--dataset", "orders", "--json").stdout)["key"]
    said = run("producer", "revoke", "partner").stdout
    assert "producer partner revoked at" in said and "refused within 60 s" in said
    [entry] = json.loads(run("producer", "list", "--json").stdout)
    assert entry["revoked"] is True and entry["revoked_at"]
    found = store(lake).by_key(key)
    assert found is not None and not found.may_write("orders")
    fresh = json.loads(run("producer", "add", "partner", "--dataset", "orders", "--json").stdout)
    assert fresh["key"] != key and store(lake).by_key(key) is None


def test_refusals_are_one_line_with_exit_code_2(moto_lake: Callable[..., MotoLake]) -> None:
    moto_lake(topic=False)
    run("producer", "add", "partner", "--dataset", "orders")
    cases = [
        (("producer", "add", "partner", "--dataset", "orders"), "producer 'partner' exists"),
        (("producer", "add", "Partner", "--dataset", "orders"), "producer name 'Partner' must be"),
        (("producer", "add", "other", "--dataset", "Bad Name"), "is not a valid dataset name"),
        (("producer", "add", "other"), "Missing option '--dataset'"),
        (("producer", "revoke", "ghost"), "no producer 'ghost'"),
    ]
    for args, message in cases:
        result = run(*args, code=2)
        assert message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.output


def test_add_says_where_to_send_once_the_api_exists(moto_lake: Callable[..., MotoLake]) -> None:
    lake = moto_lake(topic=False)
    apis = lake.target.clients.client("apigatewayv2")
    api_id = apis.create_api(Name="lakebox-ingest-api", ProtocolType="HTTP")["ApiId"]
    apis.create_api(Name="another-api", ProtocolType="HTTP")
    url = f"https://{api_id}.execute-api.us-east-1.amazonaws.com"

    assert f"send to: {url}" in run("producer", "add", "partner", "--dataset", "orders").stdout
    assert json.loads(run("producer", "add", "app", "--dataset", "orders", "--json").stdout)["ingest_api"] == url
