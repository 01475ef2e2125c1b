"""Lake Formation as data: the operator is granted only the columns tagged `sensitivity=public` (every column but the
protected ones), the steward both values, the curation role what creating, widening and tagging its tables takes,
bootstrap's caller what keeps it managing the catalog; the curation role's IAM may tag only where the setting is on."""

from __future__ import annotations

from typing import Any

import pytest

from lakebox_infra import lake_formation
from lakebox_infra.arns import Arns
from lakebox_infra.function_specs import function
from lakebox_infra.topology import Topology
from lakebox_layer.columns import Column
from lakebox_layer.registry import STAGES, Stage
from lakebox_layer.settings import ResourceNames

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
OFF = Topology(NAMES)
ON = Topology(NAMES, settings_overrides={"lake_formation": True})
OPERATOR = "arn:aws:iam::000000000000:user/lakebox-operator"
STEWARD = "arn:aws:iam::000000000000:user/lakebox-steward"
CURATION = "arn:aws:iam::000000000000:role/lakebox-curation-role"


def granted(principal: str) -> list[lake_formation.Grant]:
    return [grant for grant in lake_formation.grants(ON) if grant.principal == principal]


def tag_values(grant: lake_formation.Grant) -> set[str]:
    """The `sensitivity` values a grant by tag reaches."""
    [term] = grant.resource["LFTagPolicy"]["Expression"]
    assert term["TagKey"] == "sensitivity"
    return set(term["TagValues"])


def test_the_tag_marks_personal_data_pii_and_everything_else_public() -> None:
    assert lake_formation.tag() == {"TagKey": "sensitivity", "TagValues": ["pii", "public"]}


def test_the_operator_selects_by_an_expression_that_excludes_pii() -> None:
    grants = granted(OPERATOR)

    assert {(g.resource["LFTagPolicy"]["ResourceType"], g.permissions) for g in grants} == {
        ("DATABASE", ("DESCRIBE",)), ("TABLE", ("DESCRIBE", "SELECT"))}
    for grant in grants:
        assert tag_values(grant) == {"public"}, grant
        assert grant.grantable == ()
    # Nothing else reaches the operator: no grant by name, none with pii in it.
    assert all("LFTagPolicy" in grant.resource for grant in grants)


def test_the_steward_selects_every_column_by_both_values() -> None:
    grants = granted(STEWARD)

    assert {(g.resource["LFTagPolicy"]["ResourceType"], g.permissions) for g in grants} == {
        ("DATABASE", ("DESCRIBE",)), ("TABLE", ("DESCRIBE", "SELECT"))}
    assert all(tag_values(grant) == {"pii", "public"} for grant in grants)


def test_the_curation_role_may_create_widen_and_tag_its_tables_and_associate_only_pii() -> None:
    grants = {next(iter(g.resource)): g for g in granted(CURATION)}

    assert set(grants) == {"Database", "Table", "LFTag", "DataLocation"}
    assert grants["Database"].resource == {"Database": {"Name": "lakebox_catalog"}}
    assert set(grants["Database"].permissions) == {"CREATE_TABLE", "DESCRIBE"}
    tables = grants["Table"]
    assert tables.resource == {"Table": {"DatabaseName": "lakebox_catalog", "TableWildcard": {}}}
    # Tagging a column of a table it did not create (a contract's) takes these, with the grant option.
    assert set(tables.permissions) == set(tables.grantable) == {"ALTER", "DELETE", "DESCRIBE", "DROP", "INSERT",
                                                                 "SELECT"}
    assert grants["LFTag"].resource == {"LFTag": {"TagKey": "sensitivity", "TagValues": ["pii"]}}
    assert set(grants["LFTag"].permissions) == {"ASSOCIATE", "DESCRIBE"} and grants["LFTag"].grantable == ()
    assert grants["DataLocation"].resource == {
        "DataLocation": {"ResourceArn": f"arn:aws:s3:::{NAMES.processed_bucket}/curated"}}
    assert grants["DataLocation"].permissions == ("DATA_LOCATION_ACCESS",)
    assert lake_formation.curation_role_arn(ON) == ON.role_arn(
        ON.names.function_role(STAGES[Stage.CURATION].name)) == CURATION


def test_bootstraps_caller_keeps_every_right_on_the_catalog_and_the_tag() -> None:
    caller = "arn:aws:iam::000000000000:role/Deployer"
    grants = lake_formation.caller_grants(ON, caller)

    assert {g.principal for g in grants} == {caller}
    assert [(g.resource, g.permissions, g.grantable) for g in grants[:2]] == [
        ({"Database": {"Name": "lakebox_catalog"}}, ("ALL",), ("ALL",)),
        ({"Table": {"DatabaseName": "lakebox_catalog", "TableWildcard": {}}}, ("ALL",), ("ALL",))]
    assert grants[2].resource == {"LFTag": {"TagKey": "sensitivity", "TagValues": ["pii", "public"]}}


@pytest.mark.parametrize(("caller", "principal"), [
    ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice"),
    ("arn:aws:sts::123456789012:assumed-role/Deployer/ci-run-42", "arn:aws:iam::123456789012:role/Deployer"),
    ("arn:aws-cn:sts::123456789012:assumed-role/Admin/x", "arn:aws-cn:iam::123456789012:role/Admin"),
])
def test_a_caller_is_known_to_lake_formation_as_its_user_or_its_role(caller: str, principal: str) -> None:
    assert lake_formation.principal_arn(caller) == principal


def test_the_protected_columns_are_those_a_pii_comment_marks_not_their_tokens() -> None:
    columns = [Column("id", "bigint"), Column("email", "string", "lakebox:pii=encrypt;class=email"),
               Column("email_token", "string", "lakebox:pii-token-of=email"),
               Column("card", "string", "lakebox:pii=mask"),
               Column("name_token", "string", "lakebox:pii-token-of=name"), Column("note", "string", "free text")]

    assert lake_formation.pii_columns(columns) == ["email", "card"]


def statements_with(policy: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if any(action.startswith(prefix) for action in s["Action"])]


def test_the_curation_role_may_tag_in_lake_formation_only_where_the_setting_is_on() -> None:
    [statement] = statements_with(function(ON, STAGES[Stage.CURATION]).policy, "lakeformation:")
    assert statement == {"Effect": "Allow", "Action": ["lakeformation:AddLFTagsToResource"], "Resource": ["*"]}
    assert statements_with(function(OFF, STAGES[Stage.CURATION]).policy, "lakeformation:") == []
    assert statements_with(function(Arns(NAMES), STAGES[Stage.CURATION]).policy, "lakeformation:") == []
    for topology in (ON, OFF):
        for spec in topology.functions:
            if spec.stage is not Stage.CURATION:
                assert statements_with(spec.policy, "lakeformation:") == [], spec.name


def test_a_querying_identity_needs_the_vended_credentials_only_where_the_setting_is_on() -> None:
    assert lake_formation.data_access_statements(ON) == [
        {"Effect": "Allow", "Action": ["lakeformation:GetDataAccess"], "Resource": ["*"]}]
    assert lake_formation.data_access_statements(OFF) == lake_formation.data_access_statements(Arns(NAMES)) == []
    # The operator's and the steward's policies carry them, so their queries work once the zone is registered.
    for topology, wanted in ((ON, 1), (OFF, 0)):
        for policy in (topology.operator_policy, topology.steward_policy):
            assert len(statements_with(policy, "lakeformation:GetDataAccess")) == wanted
