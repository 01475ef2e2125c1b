"""The identities `lakebox` acts as when the emulator enforces IAM: the operator user (the default) and the steward
(`LAKEBOX_IDENTITY=steward`, who alone may reveal personal data), each with its policy and a fresh access key.

Provisioning creates the steward (the personal-data key's policy names it) and removes both users on teardown;
issuing their keys is the CLI's business, since only the CLI records and uses them (see
:meth:`lakebox.emulator.embedded.EmbeddedEmulator.record_credentials`).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import missing
from lakebox_layer.exceptions import SettingsInvalid

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from lakebox_infra.topology import Topology

OPERATOR = "operator"
STEWARD = "steward"
IDENTITIES = (OPERATOR, STEWARD)
IDENTITY_VARIABLE = "LAKEBOX_IDENTITY"


def chosen_identity() -> str:
    """Who the commands act as under enforced IAM: `LAKEBOX_IDENTITY`, the operator when unset."""
    chosen = os.environ.get(IDENTITY_VARIABLE, OPERATOR).strip() or OPERATOR
    if chosen not in IDENTITIES:
        raise SettingsInvalid(f"{IDENTITY_VARIABLE} must be one of {', '.join(IDENTITIES)}, not {chosen!r}")
    return chosen


def user_and_policy(topology: Topology, identity: str) -> tuple[str, dict[str, Any]]:
    """The IAM user an identity is, and its inline policy."""
    if identity == STEWARD:
        return topology.names.steward, topology.steward_policy
    return topology.names.operator, topology.operator_policy


def issue_credentials(iam: IAMClient, topology: Topology, identity: str = OPERATOR) -> dict[str, str]:
    """Make sure the identity's user exists with its inline policy, and give it a new access key.

    The user's older keys are deleted: a secret key cannot be read back, and only the newest one is recorded.
    Returns the key as `aws_access_key_id` and `aws_secret_access_key`.
    """
    user, policy = user_and_policy(topology, identity)
    try:
        iam.get_user(UserName=user)
    except ClientError as error:
        if not missing(error):
            raise
        iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=json.dumps(policy))
    for old in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
        iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
