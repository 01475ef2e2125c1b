"""Lake Formation's tag and grants (see :mod:`lakebox_infra.lake_formation` for what they are and change), where the
lake's `lake_formation` setting is on: nothing at all where it is off; on an emulator, or an endpoint without Lake
Formation, one warning saying what is skipped.

Apply runs after the catalog (the database and the contract tables exist) and goes: bootstrap's caller a data lake
administrator, the tag, the curated zone registered, the grants, the database and the protected columns of every
table tagged, and only then the default grants to IAM_ALLOWED_PRINCIPALS revoked, so nobody who is granted by tag
loses access in between. Each step reads first and writes what differs. Teardown, before the catalog's, revokes the
grants, deregisters the zone and deletes the tag (unless another database carries it); a second one finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from lakebox_infra import lake_formation
from lakebox_infra.capabilities import AWS
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.lake_formation import IAM_ALLOWED_PRINCIPALS, Grant, pii_columns
from lakebox_infra.provision.base import Context, absent, current, ensure, offered
from lakebox_layer.adapters.errors import error_code
from lakebox_layer.adapters.lake_formation import PII, PUBLIC, SENSITIVITY, pii_tag
from lakebox_layer.columns import Column

SKIPPED = "its tag and grants are skipped: IAM alone decides who reads the catalog's tables"
# What update_database keeps of a database as get_database gives it (the rest is read-only).
DATABASE_INPUT = ("Name", "Description", "LocationUri", "Parameters", "TargetDatabase", "FederatedDatabase")


def _wanted(ctx: Context) -> bool:
    """Whether to go on: the setting is on, the endpoint is AWS and offers Lake Formation (else one warning)."""
    if not ctx.topology.settings.lake_formation:
        return False
    if ctx.capabilities.emulator != AWS.emulator:
        ctx.report.warn(f"{ctx.capabilities.emulator} neither offers nor enforces Lake Formation "
                        f"(LAKEBOX_LAKE_FORMATION=1): {SKIPPED}")
        return False
    lf = ctx.client("lakeformation")
    return offered(ctx, "Lake Formation", lambda: lf.list_lf_tags(MaxResults=1), SKIPPED) is not None


def _pages(call: Callable[..., dict[str, Any]], key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a listing that pages with NextToken."""
    while True:
        page = call(**kwargs)
        yield from page.get(key, [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _principal(arn: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": arn}


def apply_lake_formation(ctx: Context) -> None:
    """The tag, its grants and enforcement, as :mod:`lakebox_infra.lake_formation` declares them."""
    if not _wanted(ctx):
        return
    topology = ctx.topology
    caller = lake_formation.principal_arn(ctx.client("sts").get_caller_identity()["Arn"])
    _administrator(ctx, caller)
    _tag(ctx)
    _register(ctx)
    for grant in [*lake_formation.caller_grants(topology, caller), *_existing(ctx, lake_formation.grants(topology))]:
        ensure(ctx, grant.label, partial(_held, ctx, grant), _permissions(grant.permissions, grant.grantable),
               partial(_grant, ctx, grant), "granted")
    tables = _tables(ctx)
    _tag_database(ctx)
    for table, columns in tables.items():
        _tag_columns(ctx, table, pii_columns(columns))
    _enforce(ctx, list(tables))


def _administrator(ctx: Context, caller: str) -> None:
    """Bootstrap's caller among the data lake administrators, added where missing (nobody else is removed, no other
    setting changed); ProvisioningError saying what to do when it cannot be added."""
    lf = ctx.client("lakeformation")
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    admins = settings.get("DataLakeAdmins", [])
    what = f"{caller} among the Lake Formation data lake administrators"
    if caller in [admin.get("DataLakePrincipalIdentifier") for admin in admins]:
        ctx.report.same(what)
        return
    try:
        lf.put_data_lake_settings(DataLakeSettings={**settings, "DataLakeAdmins": [*admins, _principal(caller)]})
    except ClientError as error:
        raise ProvisioningError(
            f"Lake Formation needs bootstrap's caller {caller} as a data lake administrator, and adding it failed "
            f"({error_code(error)}): add it (Lake Formation console, Administrative roles and tasks) or run "
            "bootstrap as an administrator, or unset LAKEBOX_LAKE_FORMATION") from error
    ctx.report.changed("added", what)


def _tag(ctx: Context) -> None:
    """The tag with both its values; values others gave it are kept."""
    lf = ctx.client("lakeformation")
    found = current(lambda: lf.get_lf_tag(TagKey=SENSITIVITY))
    what = f"lake formation tag {SENSITIVITY}"
    if found is None:
        lf.create_lf_tag(**lake_formation.tag())
        ctx.report.changed("created", what)
        return
    missing = [value for value in lake_formation.TAG_VALUES if value not in found.get("TagValues", [])]
    if missing:
        lf.update_lf_tag(TagKey=SENSITIVITY, TagValuesToAdd=missing)
        ctx.report.changed("updated", what)
    else:
        ctx.report.same(what)


def _register(ctx: Context) -> None:
    """The curated zone registered with Lake Formation, through its service-linked role."""
    lf, zone = ctx.client("lakeformation"), lake_formation.curated_zone(ctx.topology)
    ensure(ctx, f"lake formation location {zone}",
           lambda: lf.describe_resource(ResourceArn=zone)["ResourceInfo"]["ResourceArn"], zone,
           lambda _: lf.register_resource(ResourceArn=zone, UseServiceLinkedRole=True), "registered")


def _existing(ctx: Context, grants: list[Grant]) -> list[Grant]:
    """The grants whose principal exists: Lake Formation refuses a grant to a user that does not (the operator
    user is made by the CLI, not by bootstrap); each missing user is warned about once."""
    iam = ctx.client("iam")
    users = {name: current(partial(iam.get_user, UserName=name)) is not None
             for name in dict.fromkeys(_user(grant.principal) for grant in grants) if name is not None}
    for name in (name for name, exists in users.items() if not exists):
        ctx.report.warn(f"user {name} does not exist: its Lake Formation grants wait for a run after it does")
    return [grant for grant in grants if (user := _user(grant.principal)) is None or users[user]]


def _user(principal: str) -> str | None:
    """The IAM user an ARN names, or None for another kind of principal."""
    kind, _, name = principal.rpartition(":")[2].partition("/")
    return name if kind == "user" else None


def _permissions(permissions: tuple[str, ...] | set[str], grantable: tuple[str, ...] | set[str]) -> dict[str, Any]:
    return {"Permissions": sorted(permissions), "Grantable": sorted(grantable)}


def _listed(ctx: Context, principal: str, resource: dict[str, Any]) -> tuple[set[str], set[str]]:
    """What a principal holds on a resource, and what of it with the grant option."""
    entries = list(_pages(ctx.client("lakeformation").list_permissions, "PrincipalResourcePermissions",
                          Principal=_principal(principal), Resource=resource))
    return ({p for entry in entries for p in entry.get("Permissions", [])},
            {p for entry in entries for p in entry.get("PermissionsWithGrantOption", [])})


def _held(ctx: Context, grant: Grant) -> dict[str, Any]:
    """Which of the grant's permissions the principal holds (others it holds are not this grant's business)."""
    held, grantable = _listed(ctx, grant.principal, grant.resource)
    return _permissions(held & set(grant.permissions), grantable & set(grant.grantable))


def _grant(ctx: Context, grant: Grant, _: object) -> None:
    with_option = {"PermissionsWithGrantOption": list(grant.grantable)} if grant.grantable else {}
    ctx.client("lakeformation").grant_permissions(Principal=_principal(grant.principal), Resource=grant.resource,
                                                  Permissions=list(grant.permissions), **with_option)


def _tables(ctx: Context) -> dict[str, list[Column]]:
    """The database's tables and their columns, as Glue holds them."""
    pages = ctx.client("glue").get_paginator("get_tables").paginate(DatabaseName=ctx.names.glue_database)
    return {table["Name"]: [Column.from_glue(c) for c in table.get("StorageDescriptor", {}).get("Columns", [])]
            for page in pages for table in page.get("TableList", [])}


def _add_tags(ctx: Context, what: str, resource: dict[str, Any], value: str) -> None:
    """Tag `resource` `sensitivity=<value>`; a refusal in the answer is a ProvisioningError naming `what`."""
    response = ctx.client("lakeformation").add_lf_tags_to_resource(Resource=resource, LFTags=[pii_tag(value)])
    for failure in response.get("Failures") or []:
        detail = failure.get("Error", {})
        raise ProvisioningError(f"tagging {what} {SENSITIVITY}={value}: {detail.get('ErrorCode')} "
                                f"{detail.get('ErrorMessage', '')}".strip())


def _tag_database(ctx: Context) -> None:
    resource = lake_formation.database(ctx.topology)
    lf = ctx.client("lakeformation")
    ensure(ctx, f"lake formation tag {SENSITIVITY}={PUBLIC} of database {ctx.names.glue_database}",
           lambda: [tag["TagValues"] for tag in lf.get_resource_lf_tags(Resource=resource).get("LFTagOnDatabase", [])
                    if tag["TagKey"] == SENSITIVITY],
           [[PUBLIC]], lambda _: _add_tags(ctx, f"database {ctx.names.glue_database}", resource, PUBLIC), "tagged")


def _tag_columns(ctx: Context, table: str, columns: list[str]) -> None:
    """A table's protected columns tagged `pii`, those that are not already."""
    if not columns:
        return
    lf = ctx.client("lakeformation")
    resource = {"TableWithColumns": {"DatabaseName": ctx.names.glue_database, "Name": table, "ColumnNames": columns}}
    listed = lf.get_resource_lf_tags(Resource=resource).get("LFTagsOnColumns", [])
    tags = {column["Name"]: [tag["TagValues"] for tag in column.get("LFTags", []) if tag["TagKey"] == SENSITIVITY]
            for column in listed}
    untagged = [column for column in columns if tags.get(column) != [[PII]]]
    what = f"lake formation tag {SENSITIVITY}={PII} of {ctx.names.glue_database}.{table} columns"
    if not untagged:
        ctx.report.same(f"{what} {', '.join(columns)}")
        return
    _add_tags(ctx, f"{ctx.names.glue_database}.{table} columns {', '.join(untagged)}",
              {"TableWithColumns": {**resource["TableWithColumns"], "ColumnNames": untagged}}, PII)
    ctx.report.changed("tagged", f"{what} {', '.join(untagged)}")


def _enforce(ctx: Context, tables: list[str]) -> None:
    """No grant to IAM_ALLOWED_PRINCIPALS on the database, its tables or the tables to come: Lake Formation decides."""
    glue, database = ctx.client("glue"), ctx.names.glue_database
    found = glue.get_database(Name=database)["Database"]
    kept = {key: found[key] for key in DATABASE_INPUT if key in found}
    ensure(ctx, f"glue database {database}'s default grant on new tables (none)",
           lambda: found.get("CreateTableDefaultPermissions", []), [],
           lambda _: glue.update_database(Name=database, DatabaseInput={**kept, "CreateTableDefaultPermissions": []}))
    resources = [(f"database {database}", lake_formation.database(ctx.topology)),
                 *((f"table {database}.{table}", {"Table": {"DatabaseName": database, "Name": table}})
                   for table in tables)]
    for what, resource in resources:
        held, grantable = _listed(ctx, IAM_ALLOWED_PRINCIPALS, resource)
        if not held:
            ctx.report.same(f"{IAM_ALLOWED_PRINCIPALS} without grants on {what}")
            continue
        ctx.client("lakeformation").revoke_permissions(
            Principal=_principal(IAM_ALLOWED_PRINCIPALS), Resource=resource, Permissions=sorted(held),
            **({"PermissionsWithGrantOption": sorted(grantable)} if grantable else {}))
        ctx.report.changed("revoked", f"{IAM_ALLOWED_PRINCIPALS}'s {', '.join(sorted(held))} on {what}")


def teardown_lake_formation(ctx: Context) -> None:
    """The grants revoked, the curated zone deregistered, the tag deleted unless another database carries it.
    Bootstrap's caller keeps its own grants until the catalog's teardown drops the database, which needs them."""
    if not _wanted(ctx):
        return
    lf = ctx.client("lakeformation")
    tag = current(lambda: lf.get_lf_tag(TagKey=SENSITIVITY))
    for grant in lake_formation.grants(ctx.topology):
        if tag is None and ("LFTagPolicy" in grant.resource or "LFTag" in grant.resource):
            ctx.report.same(f"{grant.label} (absent)")  # went with the tag
            continue
        absent(ctx, grant.label, partial(_revoke, ctx, grant))
    zone = lake_formation.curated_zone(ctx.topology)
    absent(ctx, f"lake formation location {zone}", lambda: lf.deregister_resource(ResourceArn=zone))
    if tag is None:
        ctx.report.same(f"lake formation tag {SENSITIVITY} (absent)")
        return
    carrying = _pages(lf.search_databases_by_lf_tags, "DatabaseList",
                      Expression=lake_formation.expression(*lake_formation.TAG_VALUES))
    others = sorted(name for entry in carrying if (name := entry["Database"]["Name"]) != ctx.names.glue_database)
    if others:
        ctx.report.warn(f"lake formation tag {SENSITIVITY} kept: {', '.join(others)} carry it too")
        return
    absent(ctx, f"lake formation tag {SENSITIVITY}", lambda: lf.delete_lf_tag(TagKey=SENSITIVITY))


def _revoke(ctx: Context, grant: Grant) -> bool:
    """Revoke what the principal holds of the grant; False when it holds none of it."""
    held, grantable = _listed(ctx, grant.principal, grant.resource)
    permissions, with_option = held & set(grant.permissions), grantable & set(grant.grantable)
    if not permissions:
        return False
    ctx.client("lakeformation").revoke_permissions(
        Principal=_principal(grant.principal), Resource=grant.resource, Permissions=sorted(permissions),
        **({"PermissionsWithGrantOption": sorted(with_option)} if with_option else {}))
    return True
