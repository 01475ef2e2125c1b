"""Roles with their trust and inline policy, and the steward user with its policy; on teardown, the roles, the
steward and the operator user go (the CLI makes the operator, and both users' access keys, under enforced IAM)."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from lakebox_infra.provision.base import Context, absent, ensure
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list
from lakebox_infra.topology import trust


def apply_role(ctx: Context, role: str, service: str, inline_policy: dict[str, Any]) -> None:
    """A role `service` may assume, with its one inline policy, each written only where it differs."""
    iam = ctx.client("iam")
    wanted_trust = trust(service)

    def write_trust(found: object) -> None:
        if found is not None:
            iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(wanted_trust))
            return
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(wanted_trust),
                        Description="lakebox pipeline role")
        iam.get_waiter("role_exists").wait(RoleName=role, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    ensure(ctx, f"role {role}", lambda: iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
           wanted_trust, write_trust, lambda found: "created" if found is None else "updated trust of")
    policy_name = f"{role}-policy"
    ensure(ctx, f"policy {policy_name}",
           lambda: iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"],
           inline_policy,
           lambda _: iam.put_role_policy(RoleName=role, PolicyName=policy_name,
                                         PolicyDocument=json.dumps(inline_policy)),
           "put")
    ensure_tags(ctx, "roles", f"role {role}", lambda: from_list(iam.list_role_tags(RoleName=role)["Tags"]),
                lambda tags: iam.tag_role(RoleName=role, Tags=to_list(tags)))


def apply_user(ctx: Context, user: str, inline_policy: dict[str, Any]) -> None:
    """A user with its one inline policy, each written only where it differs (no access keys: see above)."""
    iam = ctx.client("iam")
    ensure(ctx, f"user {user}", lambda: iam.get_user(UserName=user)["User"]["UserName"], user,
           lambda _: iam.create_user(UserName=user), "created")
    policy_name = f"{user}-policy"
    ensure(ctx, f"policy {policy_name}",
           lambda: iam.get_user_policy(UserName=user, PolicyName=policy_name)["PolicyDocument"],
           inline_policy,
           lambda _: iam.put_user_policy(UserName=user, PolicyName=policy_name,
                                         PolicyDocument=json.dumps(inline_policy)),
           "put")
    ensure_tags(ctx, "users", f"user {user}", lambda: from_list(iam.list_user_tags(UserName=user)["Tags"]),
                lambda tags: iam.tag_user(UserName=user, Tags=to_list(tags)))


def teardown_roles(ctx: Context) -> None:
    """Delete the functions' roles and the retired crawler role, inline policies first."""
    for role in [f.role for f in ctx.topology.functions] + [ctx.names.glue_role]:
        remove_role(ctx, role)


def remove_role(ctx: Context, role: str) -> None:
    """Delete a role, inline policies first; one already gone counts as done."""
    absent(ctx, f"role {role}", partial(_delete_role, ctx, role))


def teardown_users(ctx: Context) -> None:
    """Delete the steward and the operator user the CLI acts as under IAM enforcement, with policies and keys."""
    for user in (ctx.names.steward, ctx.names.operator):
        absent(ctx, f"user {user}", partial(_delete_user, ctx, user))


def _delete_role(ctx: Context, role: str) -> None:
    iam = ctx.client("iam")
    for name in iam.list_role_policies(RoleName=role).get("PolicyNames", []):
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    iam.delete_role(RoleName=role)


def _delete_user(ctx: Context, user: str) -> None:
    iam = ctx.client("iam")
    iam.get_user(UserName=user)
    for name in iam.list_user_policies(UserName=user).get("PolicyNames", []):
        iam.delete_user_policy(UserName=user, PolicyName=name)
    for key in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=user)
