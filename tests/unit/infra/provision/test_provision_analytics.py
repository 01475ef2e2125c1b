"""The Athena workgroup: created when missing, left alone when as declared, updated where it differs, deleted on
teardown; skipped with a warning where the endpoint has no Athena."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import analytics
from tests.fakes.provision import NAMES, TAG_LIST, TOPOLOGY, Stubs

WORKGROUP = NAMES.athena_workgroup
ARN = TOPOLOGY.workgroup_arn
RESULTS = {"OutputLocation": f"s3://{NAMES.processed_bucket}/athena-results/",
           "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}}


def listed(athena: Stubber, *names: str) -> None:
    """ListWorkGroups over two pages, the project's workgroup (when named) on the second."""
    athena.add_response("list_work_groups", {"WorkGroups": [{"Name": "primary"}], "NextToken": "page-2"}, {})
    athena.add_response("list_work_groups", {"WorkGroups": [{"Name": name} for name in names]},
                        {"NextToken": "page-2"})


def workgroup(**configuration: Any) -> dict[str, Any]:
    found = {"ResultConfiguration": RESULTS, "EnforceWorkGroupConfiguration": True,
             "PublishCloudWatchMetricsEnabled": False, **configuration}  # AWS adds defaults lakebox does not declare
    return {"WorkGroup": {"Name": WORKGROUP, "State": "ENABLED", "Description": analytics.DESCRIPTION,
                          "Configuration": found}}


def expect_tags(athena: Stubber, tags: list[dict[str, str]]) -> None:
    athena.add_response("list_tags_for_resource", {"Tags": tags}, {"ResourceARN": ARN})


def test_a_missing_workgroup_is_created_with_its_results_location_and_tags() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    listed(athena)
    athena.add_response("create_work_group", {}, {
        "Name": WORKGROUP, "Description": analytics.DESCRIPTION, "Tags": TAG_LIST,
        "Configuration": {"ResultConfiguration": RESULTS, "EnforceWorkGroupConfiguration": True}})
    expect_tags(athena, TAG_LIST)

    analytics.apply_workgroup(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"athena workgroup {WORKGROUP}")]


def test_a_workgroup_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    listed(athena, WORKGROUP)
    athena.add_response("get_work_group", workgroup(), {"WorkGroup": WORKGROUP})
    expect_tags(athena, [*TAG_LIST, {"Key": "team", "Value": "data"}])

    analytics.apply_workgroup(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"athena workgroup {WORKGROUP}", f"tags of athena workgroup {WORKGROUP}"]


def test_a_workgroup_that_does_not_enforce_its_results_location_is_updated() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    listed(athena, WORKGROUP)
    athena.add_response("get_work_group", workgroup(
        ResultConfiguration={"OutputLocation": "s3://elsewhere/"}, EnforceWorkGroupConfiguration=False),
        {"WorkGroup": WORKGROUP})
    athena.add_response("update_work_group", {}, {
        "WorkGroup": WORKGROUP, "Description": analytics.DESCRIPTION, "State": "ENABLED",
        "ConfigurationUpdates": {"ResultConfigurationUpdates": RESULTS, "EnforceWorkGroupConfiguration": True}})
    expect_tags(athena, [])
    athena.add_response("tag_resource", {}, {"ResourceARN": ARN, "Tags": TAG_LIST})

    analytics.apply_workgroup(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", f"athena workgroup {WORKGROUP}"),
                             ("set", f"tags of athena workgroup {WORKGROUP}")]


def test_teardown_deletes_the_workgroup_and_counts_a_missing_one_as_absent() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    listed(athena, WORKGROUP)
    athena.add_response("delete_work_group", {}, {"WorkGroup": WORKGROUP, "RecursiveDeleteOption": True})
    listed(athena)

    analytics.teardown_workgroup(stubs.context)
    analytics.teardown_workgroup(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"athena workgroup {WORKGROUP}")]
    assert stubs.unchanged == [f"athena workgroup {WORKGROUP} (absent)"]


def test_without_athena_the_workgroup_is_skipped_with_a_warning() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    for _ in range(2):
        athena.add_client_error("list_work_groups", service_error_code="UnknownOperationException",
                                http_status_code=400, expected_params={})

    analytics.apply_workgroup(stubs.context)
    analytics.teardown_workgroup(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert len(stubs.context.report.warnings) == 2
    assert "AWS does not offer Athena (UnknownOperationException)" in stubs.context.report.warnings[0]
