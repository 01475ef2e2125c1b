"""LakeFormationTags' requests as Lake Formation's API model checks them (botocore Stubber): a table's new protected
columns tagged `sensitivity=pii` in one call and never twice by one instance; an endpoint without Lake Formation
warned about once and asked nothing more; any refusal of Lake Formation's own a layer error naming what failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger
from botocore.stub import Stubber

from lakebox_layer.adapters.lake_formation import LakeFormationTags
from lakebox_layer.exceptions import LakeFormationError

DATABASE = "lakebox_catalog"
PII_TAG = [{"TagKey": "sensitivity", "TagValues": ["pii"]}]
WARNING = "the endpoint does not offer Lake Formation: protected columns are not tagged"


def tagging(table: str, columns: list[str]) -> dict[str, Any]:
    return {"Resource": {"TableWithColumns": {"DatabaseName": DATABASE, "Name": table, "ColumnNames": columns}},
            "LFTags": PII_TAG}


@pytest.fixture
def client() -> Any:
    return boto3.client("lakeformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def tags(client: Any) -> LakeFormationTags:
    return LakeFormationTags(client, DATABASE, Logger(service="lakebox-unit-test"))


def test_new_columns_are_tagged_pii_in_one_call_and_never_again_by_the_same_instance(
        tags: LakeFormationTags, stubber: Stubber) -> None:
    stubber.add_response("add_lf_tags_to_resource", {"Failures": []}, tagging("orders", ["customer_email", "phone"]))
    stubber.add_response("add_lf_tags_to_resource", {}, tagging("orders", ["card"]))
    stubber.add_response("add_lf_tags_to_resource", {}, tagging("crm", ["phone"]))

    assert tags.tag_pii("orders", ["customer_email", "phone", "customer_email"]) == ["customer_email", "phone"]
    assert tags.tag_pii("orders", ["phone", "customer_email"]) == []
    assert tags.tag_pii("orders", ["customer_email", "card"]) == ["card"]
    # Another table's column of the same name is its own.
    assert tags.tag_pii("crm", ["phone"]) == ["phone"]
    assert tags.tag_pii("crm", []) == []


@pytest.mark.parametrize(("code", "status"), [
    ("400", 400),  # MiniStack: "Unsupported service", no error code
    ("404", 404),  # moto's mock: "Not yet implemented"
    ("InvalidAction", 400),
    ("InternalFailure", 501),
])
def test_an_endpoint_without_lake_formation_is_warned_about_once_and_asked_nothing_more(
        tags: LakeFormationTags, stubber: Stubber, caplog: pytest.LogCaptureFixture, code: str, status: int) -> None:
    stubber.add_client_error("add_lf_tags_to_resource", service_error_code=code, http_status_code=status,
                             expected_params=tagging("orders", ["customer_email"]))

    assert tags.tag_pii("orders", ["customer_email"]) == []
    assert tags.tag_pii("orders", ["customer_email", "phone"]) == []
    assert tags.tag_pii("crm", ["phone"]) == []

    assert not tags.offered
    assert [r.getMessage() for r in caplog.records if r.getMessage() == WARNING] == [WARNING]


@pytest.mark.parametrize("code", ["AccessDeniedException", "EntityNotFoundException", "InvalidInputException",
                                  "ConcurrentModificationException"])
def test_a_refusal_of_lake_formations_own_is_an_error_and_the_columns_stay_to_tag(
        tags: LakeFormationTags, stubber: Stubber, code: str) -> None:
    stubber.add_client_error("add_lf_tags_to_resource", service_error_code=code, http_status_code=400,
                             expected_params=tagging("orders", ["customer_email"]))
    stubber.add_response("add_lf_tags_to_resource", {}, tagging("orders", ["customer_email"]))

    with pytest.raises(LakeFormationError, match=f"^tagging {DATABASE}.orders columns customer_email "
                                                 f"sensitivity=pii: {code}$"):
        tags.tag_pii("orders", ["customer_email"])
    # Not remembered as tagged: the retried file tags it.
    assert tags.tag_pii("orders", ["customer_email"]) == ["customer_email"]
    assert tags.offered


def test_a_failure_in_a_successful_answer_is_an_error_too(tags: LakeFormationTags, stubber: Stubber) -> None:
    failure = {"LFTag": {"TagKey": "sensitivity", "TagValues": ["pii"]},
               "Error": {"ErrorCode": "AccessDeniedException", "ErrorMessage": "no ASSOCIATE on the tag"}}
    stubber.add_response("add_lf_tags_to_resource", {"Failures": [failure]}, tagging("orders", ["phone"]))

    with pytest.raises(LakeFormationError, match="phone sensitivity=pii: AccessDeniedException no ASSOCIATE"):
        tags.tag_pii("orders", ["phone"])
