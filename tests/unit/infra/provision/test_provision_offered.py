"""An endpoint that cannot list a service's resources does not offer the service: bootstrap skips it with one
warning. A listing names no resource, so a not-found answer to it (moto's mock answers an operation it lacks with
404 "Not yet implemented") means the operation is missing; the same code answering a get means the resource is."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lakebox_infra.provision import analytics, catalog, monitoring
from lakebox_infra.provision.base import offered
from lakebox_layer.adapters.errors import cannot_list, missing
from tests.fakes.provision import TAG_LIST, TOPOLOGY, Stubs

TOPIC_ARN = TOPOLOGY.alerts_topic_arn


def not_yet_implemented(stubber: Stubber, operation: str, expected: dict[str, Any]) -> None:
    """Answer `operation` as moto's mock answers one it lacks: a bare 404, no error code in the body."""
    stubber.add_client_error(operation, service_error_code="404", service_message="Not yet implemented",
                             http_status_code=404, expected_params=expected)


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "Operation")


@pytest.mark.parametrize("code", ["404", "NotFound", "ResourceNotFoundException", "EntityNotFoundException",
                                  "InternalFailure", "NotImplemented", "UnknownOperationException", "501"])
def test_a_listing_answered_not_found_or_unavailable_means_the_service_is_not_offered(code: str) -> None:
    assert cannot_list(client_error(code))


# A bare 500 or 400 (an HTML error page, as moto's servers before 5.1.22 answer some operations they lack) is not
# told apart from a server fault: the run fails rather than skip a service AWS does offer.
@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException", "ValidationException",
                                  "InvalidClientTokenId", "500", "400", ""])
def test_a_listing_refused_for_any_other_reason_is_an_error(code: str) -> None:
    assert not cannot_list(client_error(code))


def test_the_same_404_answering_a_get_means_the_resource_is_missing() -> None:
    # Read by the kind of call: `missing` for calls that name a resource, `cannot_list` for listings.
    assert missing(client_error("404"))
    assert cannot_list(client_error("404"))


def test_offered_gives_the_listing_or_none_with_one_warning_naming_the_service_and_the_code() -> None:
    stubs = Stubs()
    context = stubs.context

    def not_implemented() -> list[str]:
        raise client_error("404")

    assert offered(context, "Athena", lambda: ["primary"], "the workgroup is skipped") == ["primary"]
    assert offered(context, "Athena", not_implemented, "the workgroup is skipped") is None
    assert context.report.warnings == ["AWS does not offer Athena (404): the workgroup is skipped"]


def test_offered_raises_what_does_not_say_the_service_is_missing() -> None:
    stubs = Stubs()

    def denied() -> list[str]:
        raise client_error("AccessDeniedException")

    with pytest.raises(ClientError):
        offered(stubs.context, "Athena", denied, "the workgroup is skipped")
    assert stubs.context.report.warnings == []


def test_athena_that_answers_list_work_groups_with_404_is_skipped_on_apply_and_teardown() -> None:
    stubs = Stubs()
    athena = stubs("athena")
    for _ in range(2):
        not_yet_implemented(athena, "list_work_groups", {})

    analytics.apply_workgroup(stubs.context)
    analytics.teardown_workgroup(stubs.context)

    stubs.done()  # and nothing else was asked of Athena
    assert stubs.changes == []
    assert stubs.context.report.warnings == [
        "AWS does not offer Athena (404): the workgroup is skipped, and `lakebox query` will not work there"] * 2


def test_athena_that_refuses_the_listing_fails_the_run() -> None:
    stubs = Stubs()
    stubs("athena").add_client_error("list_work_groups", service_error_code="AccessDeniedException",
                                     http_status_code=400, expected_params={})

    with pytest.raises(ClientError):
        analytics.apply_workgroup(stubs.context)
    assert stubs.context.report.warnings == []


def test_glue_that_answers_get_databases_with_404_is_skipped() -> None:
    stubs = Stubs()
    not_yet_implemented(stubs("glue"), "get_databases", {})

    catalog.apply_catalog(stubs.context)

    stubs.done()
    assert stubs.changes == []
    [warning] = stubs.context.report.warnings
    assert warning.startswith("AWS does not offer Glue (404): the catalog database and tables are skipped")


def test_sns_that_lists_topics_creates_the_topic_its_get_says_is_missing_with_404() -> None:
    stubs = Stubs()
    sns: Stubber = stubs("sns")
    sns.add_response("list_topics", {"Topics": []}, {})
    not_yet_implemented(sns, "get_topic_attributes", {"TopicArn": TOPIC_ARN})
    sns.add_response("create_topic", {"TopicArn": TOPIC_ARN}, {"Name": TOPOLOGY.alerts_topic, "Tags": TAG_LIST})
    policy = json.dumps(TOPOLOGY.alerts_topic_policy)
    sns.add_response("get_topic_attributes", {"Attributes": {"TopicArn": TOPIC_ARN, "Policy": policy}},
                     {"TopicArn": TOPIC_ARN})
    sns.add_response("list_tags_for_resource", {"Tags": TAG_LIST}, {"ResourceArn": TOPIC_ARN})

    assert monitoring.topics_listed(stubs.context)
    monitoring.apply_topic(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", f"sns topic {TOPOLOGY.alerts_topic}")]
    assert stubs.context.report.warnings == []


def test_sns_that_answers_list_topics_with_404_is_skipped() -> None:
    stubs = Stubs()
    not_yet_implemented(stubs("sns"), "list_topics", {})

    assert not monitoring.topics_listed(stubs.context)

    stubs.done()
    [warning] = stubs.context.report.warnings
    assert warning.startswith(f"AWS does not offer SNS (404): the alerts topic {TOPOLOGY.alerts_topic} is skipped")
