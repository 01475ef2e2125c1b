"""Roles: trust, inline policy and tags, each written only where it differs; the operator user removed on
teardown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from botocore.stub import Stubber

from lakebox_infra.provision import iam
from lakebox_infra.topology import trust
from tests.fakes.provision import NAMES, TAG_LIST, TOPOLOGY, Stubs, missing

[INGESTION, *_] = TOPOLOGY.functions
ROLE = INGESTION.role
POLICY = f"{ROLE}-policy"
OPERATOR = NAMES.operator


def encoded(document: dict[str, Any]) -> str:
    """A document as IAM sends it: URL-encoded JSON (which botocore decodes before provisioning reads it)."""
    return quote(json.dumps(document))


def role(document: dict[str, Any]) -> dict[str, Any]:
    return {"Role": {"Path": "/", "RoleName": ROLE, "RoleId": "AROA000000000000ROLE", "Arn": TOPOLOGY.role_arn(ROLE),
                     "CreateDate": datetime(2026, 1, 1, tzinfo=UTC), "AssumeRolePolicyDocument": encoded(document)}}


def inline(document: dict[str, Any]) -> dict[str, Any]:
    return {"RoleName": ROLE, "PolicyName": POLICY, "PolicyDocument": encoded(document)}


def expect_role_policy_put(stubber: Stubber) -> None:
    stubber.add_response("put_role_policy", {}, {"RoleName": ROLE, "PolicyName": POLICY,
                                                 "PolicyDocument": json.dumps(INGESTION.policy)})


def test_a_missing_role_is_created_with_its_policy_and_tags() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    missing(stub, "get_role", "NoSuchEntity", {"RoleName": ROLE})
    stub.add_response("create_role", role(trust("lambda.amazonaws.com")), {
        "RoleName": ROLE, "AssumeRolePolicyDocument": json.dumps(trust("lambda.amazonaws.com")),
        "Description": "lakebox pipeline role"})
    stub.add_response("get_role", {**role(trust("lambda.amazonaws.com")),  # the role_exists waiter
                                   "ResponseMetadata": {"HTTPStatusCode": 200}}, {"RoleName": ROLE})
    missing(stub, "get_role_policy", "NoSuchEntity", {"RoleName": ROLE, "PolicyName": POLICY})
    expect_role_policy_put(stub)
    stub.add_response("list_role_tags", {"Tags": []}, {"RoleName": ROLE})
    stub.add_response("tag_role", {}, {"RoleName": ROLE, "Tags": TAG_LIST})

    iam.apply_role(stubs.context, ROLE, "lambda.amazonaws.com", INGESTION.policy)

    stubs.done()
    assert stubs.changes == [("created", f"role {ROLE}"), ("put", f"policy {POLICY}"), ("set", f"tags of role {ROLE}")]


def test_a_role_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    stub.add_response("get_role", role(trust("lambda.amazonaws.com")), {"RoleName": ROLE})
    stub.add_response("get_role_policy", inline(INGESTION.policy), {"RoleName": ROLE, "PolicyName": POLICY})
    stub.add_response("list_role_tags", {"Tags": list(reversed(TAG_LIST))}, {"RoleName": ROLE})

    iam.apply_role(stubs.context, ROLE, "lambda.amazonaws.com", INGESTION.policy)

    stubs.done()
    assert stubs.changes == []
    assert stubs.unchanged == [f"role {ROLE}", f"policy {POLICY}", f"tags of role {ROLE}"]


def test_a_different_trust_policy_or_tags_are_rewritten() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    stub.add_response("get_role", role(trust("glue.amazonaws.com")), {"RoleName": ROLE})
    stub.add_response("update_assume_role_policy", {}, {
        "RoleName": ROLE, "PolicyDocument": json.dumps(trust("lambda.amazonaws.com"))})
    broader = {**INGESTION.policy, "Statement": [*INGESTION.policy["Statement"],
                                                 {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    stub.add_response("get_role_policy", inline(broader), {"RoleName": ROLE, "PolicyName": POLICY})
    expect_role_policy_put(stub)
    stub.add_response("list_role_tags", {"Tags": [{"Key": "managed-by", "Value": "hand"}]}, {"RoleName": ROLE})
    stub.add_response("tag_role", {}, {"RoleName": ROLE, "Tags": [TAG_LIST[1], TAG_LIST[0]]})

    iam.apply_role(stubs.context, ROLE, "lambda.amazonaws.com", INGESTION.policy)

    stubs.done()
    assert stubs.changes == [("updated trust of", f"role {ROLE}"), ("put", f"policy {POLICY}"),
                             ("set", f"tags of role {ROLE}")]


def test_teardown_deletes_the_steward_and_the_operator_with_their_policies_and_keys() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    steward = NAMES.steward
    missing(stub, "get_user", "NoSuchEntity", {"UserName": steward})
    stub.add_response("get_user", {"User": {"Path": "/", "UserName": OPERATOR, "UserId": "AIDA000000000000USER",
                                            "Arn": f"arn:aws:iam::000000000000:user/{OPERATOR}",
                                            "CreateDate": datetime(2026, 1, 1, tzinfo=UTC)}},
                      {"UserName": OPERATOR})
    stub.add_response("list_user_policies", {"PolicyNames": [f"{OPERATOR}-policy"]}, {"UserName": OPERATOR})
    stub.add_response("delete_user_policy", {}, {"UserName": OPERATOR, "PolicyName": f"{OPERATOR}-policy"})
    stub.add_response("list_access_keys", {"AccessKeyMetadata": [{"AccessKeyId": "AKIA000000000000KEY0"}]},
                      {"UserName": OPERATOR})
    stub.add_response("delete_access_key", {}, {"UserName": OPERATOR, "AccessKeyId": "AKIA000000000000KEY0"})
    stub.add_response("delete_user", {}, {"UserName": OPERATOR})
    missing(stub, "get_user", "NoSuchEntity", {"UserName": steward})
    missing(stub, "get_user", "NoSuchEntity", {"UserName": OPERATOR})

    iam.teardown_users(stubs.context)
    iam.teardown_users(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"user {OPERATOR}")]
    assert stubs.unchanged == [f"user {steward} (absent)", f"user {steward} (absent)", f"user {OPERATOR} (absent)"]


def test_the_steward_is_created_with_its_policy_and_tags_once() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    steward = NAMES.steward
    policy = TOPOLOGY.steward_policy
    user = {"Path": "/", "UserName": steward, "UserId": "AIDA000000000000STEW",
            "Arn": f"arn:aws:iam::000000000000:user/{steward}", "CreateDate": datetime(2026, 1, 1, tzinfo=UTC)}
    missing(stub, "get_user", "NoSuchEntity", {"UserName": steward})
    stub.add_response("create_user", {"User": user}, {"UserName": steward})
    missing(stub, "get_user_policy", "NoSuchEntity", {"UserName": steward, "PolicyName": f"{steward}-policy"})
    stub.add_response("put_user_policy", {}, {"UserName": steward, "PolicyName": f"{steward}-policy",
                                              "PolicyDocument": json.dumps(policy)})
    stub.add_response("list_user_tags", {"Tags": []}, {"UserName": steward})
    stub.add_response("tag_user", {}, {"UserName": steward, "Tags": TAG_LIST})

    iam.apply_user(stubs.context, steward, policy)

    stubs.done()
    assert stubs.changes == [("created", f"user {steward}"), ("put", f"policy {steward}-policy"),
                             ("set", f"tags of user {steward}")]


def test_teardown_deletes_each_role_after_its_inline_policies() -> None:
    stubs = Stubs()
    stub = stubs("iam")
    roles = [f.role for f in TOPOLOGY.functions] + [NAMES.glue_role]
    for name in roles[:-1]:
        stub.add_response("list_role_policies", {"PolicyNames": [f"{name}-policy"]}, {"RoleName": name})
        stub.add_response("delete_role_policy", {}, {"RoleName": name, "PolicyName": f"{name}-policy"})
        stub.add_response("delete_role", {}, {"RoleName": name})
    missing(stub, "list_role_policies", "NoSuchEntity", {"RoleName": NAMES.glue_role})

    iam.teardown_roles(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"role {name}") for name in roles[:-1]]
    assert stubs.unchanged == [f"role {NAMES.glue_role} (absent)"]
