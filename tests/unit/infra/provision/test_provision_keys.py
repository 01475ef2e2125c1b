"""The KMS keys of personal data: created by alias with their policy and tags, left alone when as declared, restored
when a teardown scheduled their deletion, and on teardown the alias deleted and the key scheduled for deletion,
once; skipped with one warning where the endpoint has no KMS."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber

from lakebox_infra.provision import keys
from tests.fakes.provision import TAGS, TOPOLOGY, Stubs, missing

PII, TOKENS = TOPOLOGY.keys
KMS_TAGS = [{"TagKey": key, "TagValue": value} for key, value in TAGS.items()]


def metadata(key_id: str, state: str = "Enabled") -> dict[str, Any]:
    return {"KeyMetadata": {"KeyId": key_id, "Arn": f"arn:aws:kms:us-east-1:000000000000:key/{key_id}",
                            "KeyState": state, "CreationDate": datetime(2026, 1, 1, tzinfo=UTC)}}


def expect_offered(kms: Stubber) -> None:
    kms.add_response("list_aliases", {"Aliases": []}, {"Limit": 1})


def expect_as_declared(kms: Stubber, key: Any, key_id: str, state: str = "Enabled") -> None:
    kms.add_response("describe_key", metadata(key_id, state), {"KeyId": key.alias})
    if state == "PendingDeletion":
        kms.add_response("cancel_key_deletion", {"KeyId": key_id}, {"KeyId": key_id})
        kms.add_response("enable_key", {}, {"KeyId": key_id})
    # Read back re-serialised, as KMS does: compared as documents.
    kms.add_response("get_key_policy", {"Policy": json.dumps(key.policy, indent=2, sort_keys=True)},
                     {"KeyId": key_id, "PolicyName": "default"})
    kms.add_response("list_resource_tags", {"Tags": KMS_TAGS}, {"KeyId": key_id})


def test_missing_keys_are_created_with_their_alias_policy_and_tags() -> None:
    stubs = Stubs()
    kms = stubs("kms")
    expect_offered(kms)
    for key, key_id in ((PII, "k-pii"), (TOKENS, "k-tok")):
        missing(kms, "describe_key", "NotFoundException", {"KeyId": key.alias}, status=400)
        kms.add_response("create_key", metadata(key_id), {
            "Description": key.description, "KeyUsage": key.usage, "KeySpec": key.key_spec,
            "Policy": json.dumps(key.policy), "Tags": KMS_TAGS})
        kms.add_response("create_alias", {}, {"AliasName": key.alias, "TargetKeyId": key_id})
        kms.add_response("get_key_policy", {"Policy": json.dumps(key.policy)},
                         {"KeyId": key_id, "PolicyName": "default"})
        kms.add_response("list_resource_tags", {"Tags": KMS_TAGS}, {"KeyId": key_id})

    keys.apply_keys(stubs.context)

    stubs.done()
    assert stubs.changes == [("created", "key alias/lakebox-pii"), ("created", "key alias/lakebox-pii-tokens")]


def test_keys_as_declared_are_left_alone() -> None:
    stubs = Stubs()
    kms = stubs("kms")
    expect_offered(kms)
    expect_as_declared(kms, PII, "k-pii")
    expect_as_declared(kms, TOKENS, "k-tok")

    keys.apply_keys(stubs.context)

    stubs.done()
    assert stubs.changes == []


def test_a_key_a_teardown_scheduled_for_deletion_is_restored_and_a_changed_policy_put_back() -> None:
    stubs = Stubs()
    kms = stubs("kms")
    expect_offered(kms)
    kms.add_response("describe_key", metadata("k-pii", "PendingDeletion"), {"KeyId": PII.alias})
    kms.add_response("cancel_key_deletion", {"KeyId": "k-pii"}, {"KeyId": "k-pii"})
    kms.add_response("enable_key", {}, {"KeyId": "k-pii"})
    widened = {**PII.policy, "Statement": [{**PII.policy["Statement"][0], "NotAction": []}]}
    kms.add_response("get_key_policy", {"Policy": json.dumps(widened)}, {"KeyId": "k-pii", "PolicyName": "default"})
    kms.add_response("put_key_policy", {}, {"KeyId": "k-pii", "PolicyName": "default",
                                            "Policy": json.dumps(PII.policy)})
    kms.add_response("list_resource_tags", {"Tags": KMS_TAGS}, {"KeyId": "k-pii"})
    expect_as_declared(kms, TOKENS, "k-tok")

    keys.apply_keys(stubs.context)

    stubs.done()
    assert stubs.changes == [("restored", "key alias/lakebox-pii"), ("set", "policy of key alias/lakebox-pii")]


def test_teardown_deletes_each_alias_and_schedules_its_key_once() -> None:
    stubs = Stubs()
    kms = stubs("kms")
    expect_offered(kms)
    for key, key_id in ((PII, "k-pii"), (TOKENS, "k-tok")):
        kms.add_response("describe_key", metadata(key_id), {"KeyId": key.alias})
        kms.add_response("delete_alias", {}, {"AliasName": key.alias})
        kms.add_response("schedule_key_deletion", {"KeyId": key_id, "PendingWindowInDays": 7},
                         {"KeyId": key_id, "PendingWindowInDays": 7})
    expect_offered(kms)
    for key in (PII, TOKENS):
        missing(kms, "describe_key", "NotFoundException", {"KeyId": key.alias}, status=400)

    keys.teardown_keys(stubs.context)
    keys.teardown_keys(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", "key alias/lakebox-pii"), ("deleted", "key alias/lakebox-pii-tokens")]
    assert stubs.unchanged == ["key alias/lakebox-pii (absent)", "key alias/lakebox-pii-tokens (absent)"]


def test_an_endpoint_without_kms_is_warned_about_once_and_nothing_else_is_asked() -> None:
    stubs = Stubs()
    kms = stubs("kms")
    kms.add_client_error("list_aliases", service_error_code="InternalFailure", http_status_code=501,
                         expected_params={"Limit": 1})

    keys.apply_keys(stubs.context)

    stubs.done()
    [warning] = stubs.context.report.warnings
    assert warning.startswith("AWS does not offer KMS (InternalFailure): personal data cannot be encrypted there")
