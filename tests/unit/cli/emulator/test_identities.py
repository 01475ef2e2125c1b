"""The operator user's keys, issued by the CLI: the user with its policy, one fresh key, older keys gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from lakebox.emulator.identities import issue_credentials
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames

TOPOLOGY = Topology(ResourceNames("lakebox", "000000000000", "us-east-1"))
USER = "lakebox-operator"
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def iam() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",
                           region_name="us-east-1").client("iam")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _user() -> dict[str, Any]:
    return {"User": {"Path": "/", "UserName": USER, "UserId": "AIDA0000000000000000", "CreateDate": CREATED,
                     "Arn": f"arn:aws:iam::000000000000:user/{USER}"}}


def _policy_and_keys(stubber: Stubber, old_keys: list[str]) -> None:
    stubber.add_response("put_user_policy", {}, {
        "UserName": USER, "PolicyName": f"{USER}-policy", "PolicyDocument": json.dumps(TOPOLOGY.operator_policy)})
    stubber.add_response("list_access_keys", {"AccessKeyMetadata": [
        {"UserName": USER, "AccessKeyId": key, "Status": "Active", "CreateDate": CREATED} for key in old_keys]},
        {"UserName": USER})
    for key in old_keys:
        stubber.add_response("delete_access_key", {}, {"UserName": USER, "AccessKeyId": key})
    stubber.add_response("create_access_key", {"AccessKey": {
        "UserName": USER, "AccessKeyId": "AKIANEWKEY000001", "Status": "Active", "SecretAccessKey": "new-secret",
        "CreateDate": CREATED}}, {"UserName": USER})


def test_a_missing_user_is_created_with_its_policy_and_a_key(iam: tuple[Any, Stubber]) -> None:
    client, stubber = iam
    stubber.add_client_error("get_user", service_error_code="NoSuchEntity", http_status_code=404,
                             expected_params={"UserName": USER})
    stubber.add_response("create_user", _user(), {"UserName": USER})
    _policy_and_keys(stubber, old_keys=[])

    credentials = issue_credentials(client, TOPOLOGY)

    assert credentials == {"aws_access_key_id": "AKIANEWKEY000001", "aws_secret_access_key": "new-secret"}


def test_an_existing_user_gets_its_policy_again_and_only_a_new_key(iam: tuple[Any, Stubber]) -> None:
    client, stubber = iam
    stubber.add_response("get_user", _user(), {"UserName": USER})
    _policy_and_keys(stubber, old_keys=["AKIAOLDKEY000001", "AKIAOLDKEY000002"])

    credentials = issue_credentials(client, TOPOLOGY)

    assert credentials["aws_access_key_id"] == "AKIANEWKEY000001"


def test_any_other_error_reading_the_user_is_raised(iam: tuple[Any, Stubber]) -> None:
    client, stubber = iam
    stubber.add_client_error("get_user", service_error_code="AccessDenied", http_status_code=403,
                             expected_params={"UserName": USER})

    with pytest.raises(ClientError, match="AccessDenied"):
        issue_credentials(client, TOPOLOGY)


def test_the_policy_lets_the_operator_upload_but_not_change_the_topology() -> None:
    actions = {action for statement in TOPOLOGY.operator_policy["Statement"] for action in statement["Action"]}

    assert "s3:PutObject" in actions
    assert not any(action.startswith(("iam:", "s3:Delete", "s3:CreateBucket")) for action in actions)
    # Of Lambda, only finding a stage's mapping to pause or resume it: no function or mapping made or deleted.
    assert {a for a in actions if a.startswith("lambda:")} == {"lambda:ListEventSourceMappings",
                                                                "lambda:UpdateEventSourceMapping"}
