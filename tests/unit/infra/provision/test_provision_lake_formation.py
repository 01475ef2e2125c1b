"""Lake Formation, provisioned: with the setting on, on AWS, bootstrap's caller made a data lake administrator, the tag
created, the curated zone registered, every grant made, the database tagged public and the tables' protected columns
pii, and only then IAM_ALLOWED_PRINCIPALS's grants revoked; a second run changes nothing; off, nothing is asked; on
an emulator or an endpoint without Lake Formation, one warning; teardown revokes, deregisters and deletes the tag
(kept while another database carries it), and a second teardown finds nothing."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from lakebox_infra import lake_formation
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.lake_formation import Grant
from lakebox_infra.provision.lake_formation import apply_lake_formation, teardown_lake_formation
from lakebox_infra.topology import Topology
from tests.fakes.provision import NAMES, PLAIN_HTTP, TOPOLOGY, Stubs, missing

ON = Topology(NAMES, settings_overrides={"lake_formation": True})
DATABASE = "lakebox_catalog"
ZONE = f"arn:aws:s3:::{NAMES.processed_bucket}/curated"
CALLER = "arn:aws:iam::000000000000:role/Deployer"
OTHER_ADMIN = {"DataLakePrincipalIdentifier": "arn:aws:iam::000000000000:role/DataLakeAdmin"}
TAG = {"TagKey": "sensitivity", "TagValues": ["pii", "public"]}
NOT_FOUND = "EntityNotFoundException"
IAM_ALLOWED = {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"}
ORDERS = {"Name": "orders", "DatabaseName": DATABASE, "StorageDescriptor": {"Columns": [
    {"Name": "order_id", "Type": "bigint"},
    {"Name": "customer_email", "Type": "string", "Comment": "lakebox:pii=encrypt;class=email"},
    {"Name": "customer_email_token", "Type": "string", "Comment": "lakebox:pii-token-of=customer_email"},
    {"Name": "phone", "Type": "string", "Comment": "lakebox:pii=mask"},
]}}
CLICKS = {"Name": "clicks", "DatabaseName": DATABASE, "StorageDescriptor": {"Columns": [
    {"Name": "page", "Type": "string"}]}}
DEFAULT_GRANT = [{"Principal": IAM_ALLOWED, "Permissions": ["ALL"]}]
SERVICES = ("lakeformation", "glue", "iam", "sts")


def principal(arn: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": arn}


def held(grant: Grant, permissions: tuple[str, ...], grantable: tuple[str, ...] = ()) -> dict[str, Any]:
    entry = {"Principal": principal(grant.principal), "Resource": grant.resource, "Permissions": list(permissions),
             "PermissionsWithGrantOption": list(grantable)}
    return {"PrincipalResourcePermissions": [entry] if permissions else []}


def all_grants(operator: bool = True) -> list[Grant]:
    """Every grant of an apply, in its order; without the operator's when that user does not exist."""
    return [*lake_formation.caller_grants(ON, CALLER),
            *(g for g in lake_formation.grants(ON) if operator or g.principal != lake_formation.operator_arn(ON))]


def user(name: str) -> dict[str, Any]:
    return {"User": {"Path": "/", "UserName": name, "UserId": "AIDA" + "X" * 16, "CreateDate": "2026-01-01T00:00:00Z",
                     "Arn": f"arn:aws:iam::000000000000:user/{name}"}}


def column_tags(values: dict[str, str]) -> dict[str, Any]:
    return {"LFTagsOnColumns": [{"Name": name, "LFTags": [{"TagKey": "sensitivity", "TagValues": [value]}]}
                                for name, value in values.items()]}


def pii_columns(table: str, columns: list[str]) -> dict[str, Any]:
    return {"TableWithColumns": {"DatabaseName": DATABASE, "Name": table, "ColumnNames": columns}}


def expect_apply(stubs: Stubs, *, fresh: bool, operator: bool = True, tag_values: list[str] | None = None) -> None:
    """Every call of an apply: on a lake Lake Formation never saw (`fresh`), or on one it already holds as declared
    (but for a missing `operator` user, or a tag whose values are `tag_values`)."""
    lf, glue, iam, sts = (stubs(service) for service in SERVICES)
    lf.add_response("list_lf_tags", {} if fresh else {"LFTags": [TAG]}, {"MaxResults": 1})
    sts.add_response("get_caller_identity", {"UserId": "AROA:ci", "Account": "000000000000",
                                             "Arn": "arn:aws:sts::000000000000:assumed-role/Deployer/ci"}, {})
    admins = [OTHER_ADMIN] if fresh else [OTHER_ADMIN, principal(CALLER)]
    settings = {"DataLakeAdmins": admins, "CreateDatabaseDefaultPermissions": DEFAULT_GRANT,
                "Parameters": {"CROSS_ACCOUNT_VERSION": "4"}}
    lf.add_response("get_data_lake_settings", {"DataLakeSettings": settings}, {})
    if fresh:
        lf.add_response("put_data_lake_settings", {}, {"DataLakeSettings": {
            **settings, "DataLakeAdmins": [OTHER_ADMIN, principal(CALLER)]}})
        missing(lf, "get_lf_tag", NOT_FOUND, {"TagKey": "sensitivity"}, status=400)
        lf.add_response("create_lf_tag", {}, TAG)
        missing(lf, "describe_resource", NOT_FOUND, {"ResourceArn": ZONE}, status=400)
        lf.add_response("register_resource", {}, {"ResourceArn": ZONE, "UseServiceLinkedRole": True})
    else:
        lf.add_response("get_lf_tag", {**TAG, "TagValues": tag_values or TAG["TagValues"]}, {"TagKey": "sensitivity"})
        if tag_values:
            lf.add_response("update_lf_tag", {}, {"TagKey": "sensitivity", "TagValuesToAdd": [
                value for value in TAG["TagValues"] if value not in tag_values]})
        lf.add_response("describe_resource", {"ResourceInfo": {"ResourceArn": ZONE}}, {"ResourceArn": ZONE})
    if operator:
        iam.add_response("get_user", user(NAMES.operator), {"UserName": NAMES.operator})
    else:
        missing(iam, "get_user", "NoSuchEntity", {"UserName": NAMES.operator})
    iam.add_response("get_user", user(NAMES.steward), {"UserName": NAMES.steward})
    for grant in all_grants(operator):
        listing = {"Principal": principal(grant.principal), "Resource": grant.resource}
        if fresh:
            lf.add_response("list_permissions", held(grant, ()), listing)
            lf.add_response("grant_permissions", {}, {**listing, "Permissions": list(grant.permissions),
                                                      **({"PermissionsWithGrantOption": list(grant.grantable)}
                                                         if grant.grantable else {})})
        else:
            lf.add_response("list_permissions", held(grant, grant.permissions, grant.grantable), listing)
    glue.add_response("get_tables", {"TableList": [ORDERS, CLICKS]}, {"DatabaseName": DATABASE})
    database = {"Database": {"Name": DATABASE}}
    lf.add_response("get_resource_lf_tags", {} if fresh else {"LFTagOnDatabase": [
        {"TagKey": "sensitivity", "TagValues": ["public"]}]}, {"Resource": database})
    if fresh:
        lf.add_response("add_lf_tags_to_resource", {"Failures": []}, {
            "Resource": database, "LFTags": [{"TagKey": "sensitivity", "TagValues": ["public"]}]})
    # Only orders has protected columns; customer_email_token is not one of them.
    lf.add_response("get_resource_lf_tags", column_tags(
        {"customer_email": "public" if fresh else "pii", "phone": "pii"}),
        {"Resource": pii_columns("orders", ["customer_email", "phone"])})
    if fresh:
        lf.add_response("add_lf_tags_to_resource", {}, {
            "Resource": pii_columns("orders", ["customer_email"]),
            "LFTags": [{"TagKey": "sensitivity", "TagValues": ["pii"]}]})
    glue.add_response("get_database", {"Database": {
        "Name": DATABASE, "Description": "lakebox curated data catalog",
        "CreateTableDefaultPermissions": DEFAULT_GRANT if fresh else []}}, {"Name": DATABASE})
    if fresh:
        glue.add_response("update_database", {}, {"Name": DATABASE, "DatabaseInput": {
            "Name": DATABASE, "Description": "lakebox curated data catalog", "CreateTableDefaultPermissions": []}})
    for resource in (database, {"Table": {"DatabaseName": DATABASE, "Name": "orders"}},
                     {"Table": {"DatabaseName": DATABASE, "Name": "clicks"}}):
        listing = {"Principal": IAM_ALLOWED, "Resource": resource}
        entries = [{"Principal": IAM_ALLOWED, "Resource": resource, "Permissions": ["ALL"]}] if fresh else []
        lf.add_response("list_permissions", {"PrincipalResourcePermissions": entries}, listing)
        if fresh:
            lf.add_response("revoke_permissions", {}, {**listing, "Permissions": ["ALL"]})


def quiet(stubs: Stubs) -> None:
    """Activate a Stubber with nothing expected on every client the module could use: any call fails the test."""
    for service in SERVICES:
        stubs(service)


def test_a_first_apply_administers_tags_registers_grants_and_then_revokes_the_iam_default() -> None:
    stubs = Stubs(topology=ON)
    expect_apply(stubs, fresh=True)

    apply_lake_formation(stubs.context)

    stubs.done()
    changes = stubs.changes
    assert changes[:3] == [
        ("added", f"{CALLER} among the Lake Formation data lake administrators"),
        ("created", "lake formation tag sensitivity"), ("registered", f"lake formation location {ZONE}")]
    assert changes[3:14] == [("granted", grant.label) for grant in all_grants()]
    assert changes[14:] == [
        ("tagged", f"lake formation tag sensitivity=public of database {DATABASE}"),
        ("tagged", f"lake formation tag sensitivity=pii of {DATABASE}.orders columns customer_email"),
        ("set", f"glue database {DATABASE}'s default grant on new tables (none)"),
        ("revoked", f"IAM_ALLOWED_PRINCIPALS's ALL on database {DATABASE}"),
        ("revoked", f"IAM_ALLOWED_PRINCIPALS's ALL on table {DATABASE}.orders"),
        ("revoked", f"IAM_ALLOWED_PRINCIPALS's ALL on table {DATABASE}.clicks"),
    ]
    assert stubs.context.report.warnings == []


def test_a_second_apply_reads_everything_and_changes_nothing() -> None:
    stubs = Stubs(topology=ON)
    expect_apply(stubs, fresh=False)

    apply_lake_formation(stubs.context)

    stubs.done()
    assert stubs.changes == [] and stubs.context.report.warnings == []
    assert stubs.context.report.summary().startswith("no changes")


def test_a_tag_others_gave_more_values_keeps_them_and_gains_ours() -> None:
    stubs = Stubs(topology=ON)
    expect_apply(stubs, fresh=False, tag_values=["pii", "internal"])

    apply_lake_formation(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", "lake formation tag sensitivity")]


def test_with_the_setting_off_nothing_is_asked_and_nothing_said() -> None:
    stubs = Stubs(topology=TOPOLOGY)
    quiet(stubs)

    apply_lake_formation(stubs.context)
    teardown_lake_formation(stubs.context)

    stubs.done()
    assert stubs.changes == [] and stubs.unchanged == [] and stubs.context.report.warnings == []


def test_on_an_emulator_it_is_skipped_with_one_warning_and_nothing_asked() -> None:
    stubs = Stubs(PLAIN_HTTP, topology=ON)
    quiet(stubs)

    apply_lake_formation(stubs.context)

    stubs.done()
    [warning] = stubs.context.report.warnings
    assert warning.startswith("MiniStack 1.5.33 neither offers nor enforces Lake Formation (LAKEBOX_LAKE_FORMATION=1)")
    assert "its tag and grants are skipped" in warning
    assert stubs.changes == []


def test_an_endpoint_without_lake_formation_is_warned_about_once_and_nothing_else_is_asked() -> None:
    stubs = Stubs(topology=ON)
    quiet(stubs)
    stubs("lakeformation").add_client_error("list_lf_tags", service_error_code="InternalFailure",
                                            http_status_code=501, expected_params={"MaxResults": 1})

    apply_lake_formation(stubs.context)

    stubs.done()
    assert stubs.context.report.warnings == [
        "AWS does not offer Lake Formation (InternalFailure): its tag and grants are skipped: IAM alone decides who "
        "reads the catalog's tables"]
    assert stubs.changes == []


def test_a_caller_that_cannot_become_an_administrator_is_told_what_to_do() -> None:
    stubs = Stubs(topology=ON)
    lf, sts = stubs("lakeformation"), stubs("sts")
    lf.add_response("list_lf_tags", {}, {"MaxResults": 1})
    sts.add_response("get_caller_identity", {"Arn": CALLER, "Account": "000000000000", "UserId": "x"}, {})
    lf.add_response("get_data_lake_settings", {"DataLakeSettings": {"DataLakeAdmins": []}}, {})
    lf.add_client_error("put_data_lake_settings", service_error_code="AccessDeniedException", http_status_code=400,
                        expected_params={"DataLakeSettings": {"DataLakeAdmins": [principal(CALLER)]}})

    with pytest.raises(ProvisioningError, match=f"needs bootstrap's caller {CALLER} as a data lake administrator.*"
                                                "AccessDeniedException.*or unset LAKEBOX_LAKE_FORMATION"):
        apply_lake_formation(stubs.context)
    stubs.done()


def test_a_user_that_does_not_exist_yet_is_warned_about_and_its_grants_not_even_read() -> None:
    stubs = Stubs(topology=ON)
    # The operator's grants are left out of the expected calls: a call for them would fail the test.
    expect_apply(stubs, fresh=False, operator=False)

    apply_lake_formation(stubs.context)

    stubs.done()
    assert stubs.context.report.warnings == [
        f"user {NAMES.operator} does not exist: its Lake Formation grants wait for a run after it does"]
    assert stubs.changes == []


def expect_teardown(lf: Stubber, *, first: bool, others: tuple[str, ...] = ()) -> None:
    lf.add_response("list_lf_tags", {"LFTags": [TAG]} if first else {}, {"MaxResults": 1})
    if first:
        lf.add_response("get_lf_tag", TAG, {"TagKey": "sensitivity"})
    else:
        missing(lf, "get_lf_tag", NOT_FOUND, {"TagKey": "sensitivity"}, status=400)
    for grant in lake_formation.grants(ON):
        by_tag = "LFTagPolicy" in grant.resource or "LFTag" in grant.resource
        if not first and by_tag:
            continue  # they went with the tag
        listing = {"Principal": principal(grant.principal), "Resource": grant.resource}
        if first:
            lf.add_response("list_permissions", held(grant, grant.permissions, grant.grantable), listing)
            lf.add_response("revoke_permissions", {}, {**listing, "Permissions": sorted(grant.permissions), **(
                {"PermissionsWithGrantOption": sorted(grant.grantable)} if grant.grantable else {})})
        elif "DataLocation" in grant.resource:
            lf.add_response("list_permissions", held(grant, ()), listing)
        else:
            missing(lf, "list_permissions", NOT_FOUND, listing, status=400)  # the database went with the catalog
    if first:
        lf.add_response("deregister_resource", {}, {"ResourceArn": ZONE})
        lf.add_response("search_databases_by_lf_tags", {"DatabaseList": [
            {"Database": {"Name": name}, "LFTags": [TAG]} for name in (DATABASE, *others)]},
            {"Expression": [{"TagKey": "sensitivity", "TagValues": ["pii", "public"]}]})
        if not others:
            lf.add_response("delete_lf_tag", {}, {"TagKey": "sensitivity"})
    else:
        missing(lf, "deregister_resource", NOT_FOUND, {"ResourceArn": ZONE}, status=400)


def test_teardown_revokes_deregisters_and_deletes_the_tag_and_a_second_finds_nothing() -> None:
    stubs = Stubs(topology=ON)
    lf = stubs("lakeformation")
    expect_teardown(lf, first=True)
    expect_teardown(lf, first=False)

    teardown_lake_formation(stubs.context)
    teardown_lake_formation(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", grant.label) for grant in lake_formation.grants(ON)] + [
        ("deleted", f"lake formation location {ZONE}"), ("deleted", "lake formation tag sensitivity")]
    assert set(stubs.unchanged) == {f"{grant.label} (absent)" for grant in lake_formation.grants(ON)} | {
        f"lake formation location {ZONE} (absent)", "lake formation tag sensitivity (absent)"}
    assert stubs.context.report.warnings == []


def test_teardown_keeps_the_tag_while_another_database_carries_it() -> None:
    stubs = Stubs(topology=ON)
    expect_teardown(stubs("lakeformation"), first=True, others=("other_catalog",))

    teardown_lake_formation(stubs.context)

    stubs.done()
    assert ("deleted", "lake formation tag sensitivity") not in stubs.changes
    assert stubs.context.report.warnings == ["lake formation tag sensitivity kept: other_catalog carry it too"]
