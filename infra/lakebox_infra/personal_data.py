"""Personal data in the topology, as data: the two KMS keys that protect it in the curated zone and who may use
them, and the steward user who alone may reveal it. No AWS calls here.

- `alias/<project>-pii`, a symmetric key. Curation asks it for a data key per file and protected column
  (GenerateDataKey); only the steward may decrypt those data keys (Decrypt). Its key policy lets the account's
  principals do everything else with it through their own IAM policies, and names the steward for Decrypt.
- `alias/<project>-pii-tokens`, an HMAC key. A dataset's token key is the MAC of the dataset's name under it
  (GenerateMac), so equal values give equal tokens in every file of a dataset and no token key is ever stored, and
  curation never needs Decrypt (see :mod:`lakebox_layer.adapters.keys`).

IAM policies name these keys as `arn:<partition>:kms:<region>:<account>:key/*`: a key's ARN exists only once the key
does, and each key's own policy is what restricts its use. They also name the two aliases' ARNs: the functions and
the CLI call KMS with the alias, and MiniStack checks the call against the alias's ARN, where AWS checks it against
the key's (on AWS an alias ARN only governs the alias's own management, which no statement here allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakebox_infra.arns import Arns
from lakebox_infra.specs import allow, policy

# Actions that would give a key's plaintext data keys to someone: only the steward may.
DECRYPTING = ["kms:Decrypt", "kms:ReEncryptFrom"]


@dataclass(frozen=True)
class KeySpec:
    """One KMS key as bootstrap creates it: found by its alias, created with its spec, usage and policy."""

    alias: str
    description: str
    key_spec: str
    usage: str
    policy: dict[str, Any]


def key_arns(arns: Arns) -> list[str]:
    """What IAM policies name for the keys: every key of the account in the region, and the two aliases (see the
    module's docstring)."""
    names = arns.names
    return [arns.arn("kms", "key/*"), arns.arn("kms", names.pii_key_alias), arns.arn("kms", names.pii_token_key_alias)]


def steward_arn(arns: Arns) -> str:
    return arns.arn("iam", f"user/{arns.names.steward}", region=False)


def _account(arns: Arns) -> str:
    return arns.arn("iam", "root", region=False)


def keys(arns: Arns) -> list[KeySpec]:
    """The personal-data key, then the token key."""
    names = arns.names
    encryption = policy(
        {"Sid": "TheAccountUsesTheKeyExceptToDecrypt", "Effect": "Allow", "Principal": {"AWS": _account(arns)},
         "NotAction": DECRYPTING, "Resource": "*"},
        {"Sid": "TheStewardDecrypts", "Effect": "Allow", "Principal": {"AWS": steward_arn(arns)},
         "Action": DECRYPTING, "Resource": "*"},
    )
    tokens = policy(
        {"Sid": "TheAccountUsesTheKey", "Effect": "Allow", "Principal": {"AWS": _account(arns)},
         "Action": "kms:*", "Resource": "*"},
    )
    return [
        KeySpec(names.pii_key_alias, f"lakebox {names.project}: data keys of personal data in the curated zone",
                "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", encryption),
        KeySpec(names.pii_token_key_alias, f"lakebox {names.project}: token keys of personal data (HMAC)",
                "HMAC_256", "GENERATE_VERIFY_MAC", tokens),
    ]


def reveal_statement(arns: Arns) -> dict[str, Any]:
    """What the steward may do beyond the operator: decrypt the data keys of personal data."""
    return allow(DECRYPTING, key_arns(arns))
