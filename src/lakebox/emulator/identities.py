"""The operator user `lakebox` acts as when the emulator enforces IAM: its policy and a fresh access key.

Provisioning only removes this user on teardown; issuing its key is the CLI's business, since only the CLI records
and uses it (see :meth:`lakebox.emulator.embedded.EmbeddedEmulator.record_operator`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_infra.topology import Topology
from lakebox_layer.adapters.errors import missing

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient


def issue_operator_credentials(iam: IAMClient, topology: Topology) -> dict[str, str]:
    """Make sure the operator user exists with its inline policy, and give it a new access key.

    The user's older keys are deleted: a secret key cannot be read back, and only the newest one is recorded.
    Returns the key as `aws_access_key_id` and `aws_secret_access_key`.
    """
    user = topology.names.operator
    try:
        iam.get_user(UserName=user)
    except ClientError as error:
        if not missing(error):
            raise
        iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy",
                        PolicyDocument=json.dumps(topology.operator_policy))
    for old in iam.list_access_keys(UserName=user).get("AccessKeyMetadata", []):
        iam.delete_access_key(UserName=user, AccessKeyId=old["AccessKeyId"])
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
