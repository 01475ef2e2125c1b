"""What the topology is built of: policy documents, and the spec of one function, queue or rule. No AWS calls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from lakebox_layer.registry import STAGES, Stage, StageSpec

RUNTIME = "python3.12"
HANDLER = "handler.handler"

# Failure handling. Each stage reads a queue: a message whose processing fails comes back after the visibility
# timeout and, after MAX_RECEIVES tries, moves to the dead-letter queue; an EventBridge delivery is retried up to
# TARGET_RETRIES times within MAX_EVENT_AGE_S, then dead-lettered too. `lakebox redrive` replays the dead letters.
TARGET_RETRIES = 8
MAX_EVENT_AGE_S = 3600
MAX_RECEIVES = 5
POLICY_VERSION = "2012-10-17"


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def allow(actions: list[str], resources: list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def trust(service: str) -> dict[str, Any]:
    return policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


@dataclass(frozen=True)
class FunctionSpec:
    """One function as bootstrap creates it: the stage it runs (whose declaration in the registry says how), its
    name, its role and the role's policy, and the queue it reads (None for the stream batcher, which reads the
    ingest stream). Its code is lambdas/<component>/handler.py."""

    stage: Stage
    name: str
    role: str
    policy: dict[str, Any]
    queue: str | None = None

    @property
    def declared(self) -> StageSpec:
        return STAGES[self.stage]

    @property
    def component(self) -> str:
        return self.stage.value

    @property
    def memory(self) -> int:
        return self.declared.memory_mb

    @property
    def timeout(self) -> int:
        return self.declared.timeout_s

    @property
    def tmp(self) -> int:
        return self.declared.tmp_mb

    @property
    def description(self) -> str:
        return f"lakebox {self.stage.value}: {self.declared.summary}"

    @property
    def native_layers(self) -> tuple[str, ...]:
        """The layers of compiled code the function imports, as its stage declares them ("duckdb",
        "cryptography"): each comes in a layer of its own, attached after the shared one in this order (see
        lakebox_infra.native_layers)."""
        return self.declared.native_layers

    @property
    def visibility_timeout(self) -> int:
        """AWS's advice for a queue that feeds a function: six times the function's timeout."""
        return 6 * self.timeout


@dataclass(frozen=True)
class QueueSpec:
    name: str
    policy: dict[str, Any]
    visibility_timeout: int = 30
    dead_letter_arn: str | None = None

    @property
    def attributes(self) -> dict[str, str]:
        """The queue's attributes as SQS takes and returns them."""
        attributes = {
            "Policy": json.dumps(self.policy),
            "VisibilityTimeout": str(self.visibility_timeout),
            "MessageRetentionPeriod": str(14 * 24 * 3600),
        }
        if self.dead_letter_arn:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self.dead_letter_arn, "maxReceiveCount": MAX_RECEIVES})
        return attributes


@dataclass(frozen=True)
class RuleSpec:
    name: str
    pattern: dict[str, Any]
    target_arn: str
    target_id: str
    dead_letter_arn: str | None = None

    @property
    def target(self) -> dict[str, Any]:
        """The put_targets entry: retries with a bounded age, then the dead-letter queue."""
        target: dict[str, Any] = {
            "Id": self.target_id,
            "Arn": self.target_arn,
            "RetryPolicy": {"MaximumRetryAttempts": TARGET_RETRIES, "MaximumEventAgeInSeconds": MAX_EVENT_AGE_S},
        }
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        return target


def canonical(document: dict[str, Any] | list[Any] | str) -> str:
    """A policy or pattern as comparable text (AWS returns documents re-serialised, and IAM URL-encoded)."""
    if isinstance(document, str):
        text = document.strip()
        # JSON text starts with a bracket; IAM's URL-encoded documents start with "%7B".
        value = json.loads(text if text.startswith(("{", "[")) else unquote(text))
    else:
        value = document
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
