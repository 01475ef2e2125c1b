"""The metadata table (with its status index, without a stream) and the dataset contracts published into it."""

from __future__ import annotations

from typing import Any

from lakebox_infra import contract_files
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.provision.base import Context, absent, current, ensure
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list
from lakebox_layer.adapters.contract_store import ContractStore
from lakebox_layer.adapters.health import EXPIRES_AT
from lakebox_layer.adapters.metadata import STATUS_INDEX, marshal, unmarshal
from lakebox_layer.exceptions import ContractInvalid
from lakebox_layer.privacy import LAKE_SETTINGS_KEY, lake_settings_item

WAIT = {"Delay": 1, "MaxAttempts": 120}


def apply_table(ctx: Context) -> None:
    """Create the table if missing; refuse one without the status index; turn off a stream nothing reads."""
    ddb = ctx.client("dynamodb")
    spec = ctx.topology.table
    name = spec["TableName"]
    table: dict[str, Any] | None = current(lambda: ddb.describe_table(TableName=name)["Table"])
    if table is None:
        table = ddb.create_table(**spec)["TableDescription"]
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
        ctx.report.changed("created", f"table {name}")
    else:
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        if STATUS_INDEX not in indexes:
            raise ProvisioningError(
                f"table {name} exists without the {STATUS_INDEX} index: "
                "run `python infra/bootstrap.py --teardown` and provision again"
            )
        if table.get("StreamSpecification", {}).get("StreamEnabled"):
            # Earlier topologies declared a stream that nothing consumed.
            ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
            ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=WAIT)
            ctx.report.changed("disabled the stream of", f"table {name}")
        else:
            ctx.report.same(f"table {name}")
    arn = table["TableArn"]
    ensure_tags(ctx, "tables", f"table {name}",
                lambda: from_list(ddb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])),
                lambda tags: ddb.tag_resource(ResourceArn=arn, Tags=to_list(tags)))
    apply_time_to_live(ctx, name)


def apply_time_to_live(ctx: Context, name: str) -> None:
    """The stages' health counters expire by their `ExpiresAt` (the table's time to live); no other item has it."""
    ddb = ctx.client("dynamodb")

    def read() -> dict[str, Any]:
        found = ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        enabled = found.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        return {"AttributeName": found.get("AttributeName") if enabled else None, "Enabled": enabled}

    ensure(ctx, f"time to live of table {name} ({EXPIRES_AT})", read, {"AttributeName": EXPIRES_AT, "Enabled": True},
           lambda _: ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
               "AttributeName": EXPIRES_AT, "Enabled": True}))


def apply_contracts(ctx: Context) -> None:
    """Publish contracts/*.json where the functions read them; withdraw those whose file is gone."""
    store = ContractStore(ctx.client("dynamodb"), ctx.names.metadata_table)
    try:
        wanted = {contract.dataset: contract for contract in contract_files.contracts()}
    except ContractInvalid as error:
        raise ProvisioningError(f"contract refused, nothing published: {error}") from error
    for dataset, contract in sorted(wanted.items()):
        if store.published_version(dataset) == contract.version:
            ctx.report.same(f"contract {dataset} {contract.version}")
            continue
        store.publish(contract)
        ctx.report.changed("published", f"contract {dataset} {contract.version} ({contract.mode.value} mode)")
    for dataset in store.published_datasets():
        if dataset not in wanted:
            store.withdraw(dataset)
            ctx.report.changed("withdrew", f"contract {dataset} (its file is gone)")


def apply_lake_settings(ctx: Context) -> None:
    """Record the lake's environment where `lakebox query --reveal` reads it (the functions have it in theirs)."""
    ddb = ctx.client("dynamodb")
    name = ctx.names.metadata_table
    wanted = lake_settings_item(ctx.topology.settings.environment)
    item = ddb.get_item(TableName=name, Key=marshal(LAKE_SETTINGS_KEY), ConsistentRead=True).get("Item")
    if item is not None and unmarshal(item) == wanted:
        ctx.report.same(f"lake settings (environment {wanted['Environment']})")
        return
    ddb.put_item(TableName=name, Item=marshal(wanted))
    ctx.report.changed("recorded", f"lake settings (environment {wanted['Environment']})")


def teardown_table(ctx: Context) -> None:
    """Delete the table, contracts and all, and wait until it is gone."""
    ddb = ctx.client("dynamodb")
    name = ctx.names.metadata_table

    def delete() -> None:
        ddb.delete_table(TableName=name)
        ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=WAIT)

    absent(ctx, f"table {name}", delete)
