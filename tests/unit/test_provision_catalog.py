"""The Glue catalog: its role, database and crawler, created when missing, the crawler updated when it differs;
skipped with a warning where the endpoint has no Glue."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import catalog
from lakebox_infra.topology import CRAWLER_SCHEDULE, trust
from tests.unit.provision_stubs import NAMES, TAG_LIST, TOPOLOGY, Stubs, missing

DATABASE = NAMES.glue_database
CRAWLER = NAMES.glue_crawler
ROLE = NAMES.glue_role
WANTED = {"Name": CRAWLER, "Role": TOPOLOGY.role_arn(ROLE), "DatabaseName": DATABASE,
          "Targets": {"S3Targets": [{"Path": f"s3://{NAMES.processed_bucket}/validated/"}]},
          "Schedule": CRAWLER_SCHEDULE}


def expect_role_as_declared(stubs: Stubs) -> None:
    iam = stubs("iam")
    iam.add_response("get_role", {"Role": {
        "Path": "/", "RoleName": ROLE, "RoleId": "AROA000000000000GLUE", "Arn": TOPOLOGY.role_arn(ROLE),
        "CreateDate": datetime(2026, 1, 1, tzinfo=UTC),
        "AssumeRolePolicyDocument": json.dumps(trust("glue.amazonaws.com"))}}, {"RoleName": ROLE})
    iam.add_response("get_role_policy", {"RoleName": ROLE, "PolicyName": f"{ROLE}-policy",
                                         "PolicyDocument": json.dumps(TOPOLOGY.glue_policy)},
                     {"RoleName": ROLE, "PolicyName": f"{ROLE}-policy"})
    iam.add_response("list_role_tags", {"Tags": TAG_LIST}, {"RoleName": ROLE})


def expect_database(glue: Stubber, exists: bool) -> None:
    if exists:
        glue.add_response("get_database", {"Database": {"Name": DATABASE}}, {"Name": DATABASE})
    else:
        missing(glue, "get_database", "EntityNotFoundException", {"Name": DATABASE}, 400)


def crawler(**overrides: Any) -> dict[str, Any]:
    found = {**WANTED, "Schedule": {"ScheduleExpression": CRAWLER_SCHEDULE, "State": "SCHEDULED"}, **overrides}
    return {"Crawler": found}


def test_a_missing_database_and_crawler_are_created() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_database(glue, exists=False)  # Glue answers: the service is there
    expect_role_as_declared(stubs)
    expect_database(glue, exists=False)
    glue.add_response("create_database", {}, {"DatabaseInput": {
        "Name": DATABASE, "Description": "lakebox processed data catalog"}})
    missing(glue, "get_crawler", "EntityNotFoundException", {"Name": CRAWLER}, 400)
    glue.add_response("create_crawler", {}, WANTED)

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"glue database {DATABASE}"), ("created", f"glue crawler {CRAWLER}")]


def test_a_catalog_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_database(glue, exists=True)
    expect_role_as_declared(stubs)
    expect_database(glue, exists=True)
    glue.add_response("get_crawler", crawler(), {"Name": CRAWLER})

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged[-2:] == [f"glue database {DATABASE}", f"glue crawler {CRAWLER}"]


def test_a_crawler_with_a_different_path_is_updated() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_database(glue, exists=True)
    expect_role_as_declared(stubs)
    expect_database(glue, exists=True)
    glue.add_response("get_crawler", crawler(Targets={"S3Targets": [{"Path": "s3://elsewhere/"}]}), {"Name": CRAWLER})
    glue.add_response("update_crawler", {}, WANTED)

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", f"glue crawler {CRAWLER}")]


def test_without_glue_the_catalog_is_skipped_with_a_warning() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    glue.add_client_error("get_database", service_error_code="NotImplemented", http_status_code=501,
                          expected_params={"Name": DATABASE})
    glue.add_client_error("get_database", service_error_code="NotImplemented", http_status_code=501,
                          expected_params={"Name": DATABASE})

    catalog.apply_catalog(stubs.context)
    catalog.teardown_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert len(stubs.context.report.warnings) == 2
    assert "Glue is not available at this endpoint (NotImplemented)" in stubs.context.report.warnings[0]


def test_teardown_deletes_the_crawler_then_the_database() -> None:
    stubs = Stubs()
    glue = stubs("glue")
    expect_database(glue, exists=True)
    glue.add_response("delete_crawler", {}, {"Name": CRAWLER})
    missing(glue, "delete_database", "EntityNotFoundException", {"Name": DATABASE}, 400)

    catalog.teardown_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"glue crawler {CRAWLER}")]
    assert stubs.unchanged == [f"glue database {DATABASE} (absent)"]
