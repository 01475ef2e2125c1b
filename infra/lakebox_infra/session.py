"""The operator side's boto3 session: AWS through the normal credential chain, or an emulator with known keys."""

from __future__ import annotations

import os

import boto3

# Emulators accept any key; these are the ones they document.
EMULATOR_KEY_ID = EMULATOR_SECRET = "test"  # noqa: S105 - not a secret

def session_for(endpoint: str | None, region: str) -> boto3.Session:
    """A session for AWS through the normal credential chain, or for an emulator with the keys in the
    environment (else the emulator's `test` keys). The chain is not consulted for an emulator: on a machine
    without keys it would probe the instance metadata service, an address outside this machine."""
    if endpoint is None:
        return boto3.Session(region_name=region)
    return boto3.Session(
        region_name=region,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", EMULATOR_KEY_ID),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", EMULATOR_SECRET),
        aws_session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )
