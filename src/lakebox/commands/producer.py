"""`lakebox producer add | list | revoke`: who may send data through the ingestion API, each with a key of its own.

A key is printed once, when its producer is added, and never again: the lake keeps only its digest. A revoked key
is refused once the API's cached answers for it expire (`AUTHORIZER_CACHE_S`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption
from lakebox.lake.target import Target
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.producers import AUTHORIZER_CACHE_S, new_producer

app = typer.Typer(help="Producers of the ingestion API and their keys.", no_args_is_help=True)


def _store(target: Target | None = None) -> ProducerStore:
    target = target or Target.resolve()
    return ProducerStore(target.clients.dynamodb, target.settings.metadata_table)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@app.command()
def add(
    name: Annotated[str, typer.Argument(help="the producer's name: lowercase letters, digits and '-'")],
    dataset: Annotated[list[str], typer.Option("--dataset", help="a dataset it may write (repeat for more)")],
    json_output: JsonOption = False,
) -> None:
    """Add a producer and print its key, once (keep it: the lake cannot show it again), and where to send."""
    from lakebox_infra.provision.ingest_api import find_url

    producer, key = new_producer(name, dataset, _now())
    target = Target.resolve()
    _store(target).add(producer)
    url = find_url(target.clients.client("apigatewayv2"), target.names, target.endpoint)
    if json_output:
        common.print_json({**producer.to_json(), "key": key, "ingest_api": url})
        return
    for line in (f"producer {producer.name} may write: {', '.join(producer.datasets)}",
                 f"key (shown once, keep it now): {key}",
                 f"send to: {url}" if url else "no ingestion API here yet: `lakebox up` provisions it"):
        common.out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("list")
def list_(json_output: JsonOption = False) -> None:
    """List the producers, their datasets and whether they are revoked (never their keys)."""
    producers = _store().every()
    if json_output:
        common.print_json([producer.to_json() for producer in producers])
        return
    if not producers:
        common.out.print("no producers: add one with `lakebox producer add NAME --dataset D`", markup=False)
        return
    from rich.table import Table

    table = Table("producer", "datasets", "added", "revoked")
    for producer in producers:
        table.add_row(producer.name, ", ".join(producer.datasets), producer.created_at, producer.revoked_at or "")
    common.out.print(table)


@app.command()
def revoke(
    name: Annotated[str, typer.Argument(help="the producer to revoke")],
    json_output: JsonOption = False,
) -> None:
    """Revoke a producer's key: the API refuses it once its cached answers expire (a minute)."""
    producer = _store().revoke(name, _now())
    if json_output:
        common.print_json(producer.to_json())
        return
    common.out.print(f"producer {producer.name} revoked at {producer.revoked_at}: its key is refused within "
                     f"{AUTHORIZER_CACHE_S} s (the API's cached answers)", markup=False, highlight=False,
                     soft_wrap=True)
