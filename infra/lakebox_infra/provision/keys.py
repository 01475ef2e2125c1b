"""The KMS keys of personal data (see :mod:`lakebox_infra.personal_data`), found by their aliases: created with
their policy and tags where missing, a key pending deletion restored, the policy and tags written where they
differ; on teardown each alias deleted and its key scheduled for deletion (KMS deletes a key after a waiting period,
7 days at the least, during which a new bootstrap restores it). Skipped with one warning where the endpoint has no
KMS."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from lakebox_infra.personal_data import KeySpec
from lakebox_infra.provision.base import Context, absent, current, ensure, offered
from lakebox_infra.provision.tags import ensure_tags

DELETION_WINDOW_DAYS = 7
POLICY_NAME = "default"


def _kms_offered(ctx: Context) -> bool:
    kms = ctx.client("kms")
    return offered(ctx, "KMS", lambda: kms.list_aliases(Limit=1),
                   "personal data cannot be encrypted there: curation masks it instead") is not None


def _key_id(ctx: Context, alias: str) -> tuple[str, str] | None:
    """The key an alias names, and its state; None when the alias does not exist."""
    kms = ctx.client("kms")
    found = current(lambda: kms.describe_key(KeyId=alias)["KeyMetadata"])
    return None if found is None else (str(found["KeyId"]), str(found.get("KeyState", "Enabled")))


def apply_keys(ctx: Context) -> None:
    """Every key of the topology, as declared."""
    if not _kms_offered(ctx):
        return
    for key in ctx.topology.keys:
        apply_key(ctx, key)


def apply_key(ctx: Context, key: KeySpec) -> None:
    kms = ctx.client("kms")
    found = _key_id(ctx, key.alias)
    if found is None:
        created = kms.create_key(Description=key.description, KeyUsage=key.usage, KeySpec=key.key_spec,
                                 Policy=json.dumps(key.policy),
                                 Tags=[{"TagKey": k, "TagValue": v} for k, v in ctx.topology.resource_tags.items()])
        key_id = str(created["KeyMetadata"]["KeyId"])
        kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)
        ctx.report.changed("created", f"key {key.alias}")
    else:
        key_id, state = found
        if state == "PendingDeletion":
            kms.cancel_key_deletion(KeyId=key_id)
            kms.enable_key(KeyId=key_id)
            ctx.report.changed("restored", f"key {key.alias}")
        else:
            ctx.report.same(f"key {key.alias}")
    ensure(ctx, f"policy of key {key.alias}",
           lambda: json.loads(kms.get_key_policy(KeyId=key_id, PolicyName=POLICY_NAME)["Policy"]), key.policy,
           lambda _: kms.put_key_policy(KeyId=key_id, PolicyName=POLICY_NAME, Policy=json.dumps(key.policy)))
    ensure_tags(ctx, "keys", f"key {key.alias}", partial(_tags, ctx, key_id), partial(_tag, ctx, key_id))


def _tags(ctx: Context, key_id: str) -> dict[str, str]:
    listed = ctx.client("kms").list_resource_tags(KeyId=key_id).get("Tags", [])
    return {str(tag["TagKey"]): str(tag["TagValue"]) for tag in listed}


def _tag(ctx: Context, key_id: str, tags: dict[str, str]) -> None:
    ctx.client("kms").tag_resource(KeyId=key_id, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()])


def teardown_keys(ctx: Context) -> None:
    """Each key's alias deleted and the key scheduled for deletion; a second teardown finds no alias."""
    kms = ctx.client("kms")
    if offered(ctx, "KMS", lambda: kms.list_aliases(Limit=1), "its keys are not looked for") is None:
        return
    for key in ctx.topology.keys:
        absent(ctx, f"key {key.alias}", partial(_delete_key, ctx, key))


def _delete_key(ctx: Context, key: KeySpec) -> Any:
    kms = ctx.client("kms")
    found = _key_id(ctx, key.alias)
    if found is None:
        return False
    key_id, state = found
    kms.delete_alias(AliasName=key.alias)
    if state != "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=DELETION_WINDOW_DAYS)
    return True
