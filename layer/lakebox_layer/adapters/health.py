"""DynamoDB: the stages' health counters and circuits, in the metadata table, outside its status index (their items
have no `Pipeline`).

A stage's counters are one item per minute (`health#<stage>`, `2026-12-07T10:02Z`): each invocation adds its files'
successes, its failed attempts by failure class and dependency, and the ids of the files that failed, in one
UpdateItem. They expire after an hour (`ExpiresAt`, the table's time-to-live attribute). A stage's circuit is one item
(`circuit#<stage>`, `current`), written only on the condition that its `Version` is still the one read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import error_code
from lakebox_layer.adapters.metadata import marshal, unmarshal
from lakebox_layer.circuits import Circuit, Decision, FailureKey, Minute, State
from lakebox_layer.exceptions import MetadataError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNTERS_TTL_S = 3600
# The table's time-to-live attribute (bootstrap sets it): only the counters carry it.
EXPIRES_AT = "ExpiresAt"
CIRCUIT_SORT_KEY = "current"
# A minute's failed file ids are kept up to this many per class and dependency: enough for any threshold.
MAX_FILES_PER_KEY = 100
_NO_DEPENDENCY = "-"


# Each circuit field's attribute in the item, and how a value read back (boto3's numbers are Decimals) becomes it.
_CIRCUIT_ITEM: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "stage": ("Stage", str), "state": ("State", State), "reason": ("Reason", str),
    "failure_class": ("FailureClass", str), "dependency": ("Dependency", str), "since": ("Since", float),
    "cool_down_s": ("CoolDownSeconds", float), "next_probe_at": ("NextProbeAt", float), "reopens": ("Reopens", int),
    "clean_files": ("CleanFiles", int), "half_open_since": ("HalfOpenSince", float),
    "persistent_alerted": ("PersistentAlerted", bool), "opened_at": ("OpenedAt", float),
    "code_version": ("CodeVersion", str), "version": ("Version", int),
}


def circuit_item(circuit: Circuit) -> dict[str, Any]:
    """A circuit as its item's attributes (floats for `marshal` to make Decimals; no None)."""
    item = {attribute: getattr(circuit, name) for name, (attribute, _) in _CIRCUIT_ITEM.items()}
    return {attribute: value for attribute, value in {**item, "State": circuit.state.value}.items()
            if value is not None}


def circuit_of(item: Mapping[str, Any]) -> Circuit:
    """A circuit from an item `circuit_item` wrote, read by boto3 (numbers as Decimal) or not; other keys ignored."""
    return Circuit(**{name: read(item[attribute]) for name, (attribute, read) in _CIRCUIT_ITEM.items()
                      if item.get(attribute) is not None})


def counters_key(stage: str) -> str:
    return f"health#{stage}"


def circuit_key(stage: str) -> str:
    return f"circuit#{stage}"


def minute_of(at: float) -> str:
    """The sort key of the minute `at` falls in: `2026-12-07T10:02Z`."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _minute_start(key: str) -> float:
    return datetime.strptime(key, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC).timestamp()


def _attribute(failure: FailureKey) -> str:
    failure_class, dependency = failure
    return f"{failure_class}|{dependency or _NO_DEPENDENCY}"


def _failure(attribute: str) -> FailureKey:
    failure_class, _, dependency = attribute.partition("|")
    return failure_class, None if dependency == _NO_DEPENDENCY else dependency


class HealthStore:
    """Reads and writes of the health counters and circuits."""

    def __init__(self, dynamodb: DynamoDBClient, table: str) -> None:
        self._db = dynamodb
        self.table = table

    def count(self, stage: str, at: float, successes: int, failures: Mapping[FailureKey, int],
              failed_files: Mapping[FailureKey, Iterable[str]]) -> None:
        """Add one invocation's outcomes to the minute `at` falls in: one UpdateItem."""
        names: dict[str, str] = {"#s": "Successes", "#e": EXPIRES_AT}
        values: dict[str, Any] = {":s": successes, ":e": int(at) + COUNTERS_TTL_S}
        adds = ["#s :s"]
        for number, (failure, count) in enumerate(sorted(failures.items(), key=lambda kv: _attribute(kv[0]))):
            names[f"#k{number}"] = _attribute(failure)
            values[f":n{number}"] = count
            adds.append(f"#k{number} :n{number}")
            files = sorted(set(failed_files.get(failure, ())))[:MAX_FILES_PER_KEY]
            if files:
                names[f"#j{number}"] = "files|" + _attribute(failure)
                values[f":j{number}"] = set(files)
                adds.append(f"#j{number} :j{number}")
        try:
            self._db.update_item(
                TableName=self.table,
                Key=marshal({"ProcessId": counters_key(stage), "Timestamp": minute_of(at)}),
                UpdateExpression="ADD " + ", ".join(adds) + " SET #e = :e",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={k: _value(v) for k, v in values.items()},
            )
        except ClientError as error:
            raise MetadataError(f"counting {stage}'s health in {self.table}: {error_code(error)}") from error

    def minutes(self, stage: str, since: float) -> list[Minute]:
        """The stage's minutes that start at or after the minute `since` falls in, oldest first."""
        try:
            pages = self._db.get_paginator("query").paginate(
                TableName=self.table, ConsistentRead=True,
                KeyConditionExpression="ProcessId = :p AND #t >= :t",
                ExpressionAttributeNames={"#t": "Timestamp"},
                ExpressionAttributeValues=marshal({":p": counters_key(stage), ":t": minute_of(max(since, 0))}),
            )
            items = [unmarshal(item) for page in pages for item in page.get("Items", [])]
        except ClientError as error:
            raise MetadataError(f"reading {stage}'s health from {self.table}: {error_code(error)}") from error
        return [_minute(item) for item in items]

    def circuit(self, stage: str) -> Circuit:
        """The stage's circuit; closed when it has none yet."""
        try:
            item = self._db.get_item(TableName=self.table, ConsistentRead=True,
                                     Key=marshal({"ProcessId": circuit_key(stage), "Timestamp": CIRCUIT_SORT_KEY}))
        except ClientError as error:
            raise MetadataError(f"reading {stage}'s circuit from {self.table}: {error_code(error)}") from error
        return circuit_of(unmarshal(item["Item"])) if "Item" in item else Circuit(stage)

    def save(self, decision: Decision) -> bool:
        """Store a changed circuit if nobody stored another version meanwhile; False when somebody did (read it
        again and decide again)."""
        if not decision.changed:
            return True
        circuit = decision.circuit
        item = {"ProcessId": circuit_key(circuit.stage), "Timestamp": CIRCUIT_SORT_KEY, **circuit_item(circuit),
                "UpdatedAt": time.time()}
        try:
            self._db.put_item(
                TableName=self.table, Item=marshal(item),
                ConditionExpression="attribute_not_exists(ProcessId) OR Version = :v",
                ExpressionAttributeValues=marshal({":v": decision.previous_version}),
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise MetadataError(f"writing {circuit.stage}'s circuit to {self.table}: {error_code(error)}") from error
        return True


def _value(value: Any) -> dict[str, Any]:
    return marshal({"v": value})["v"]  # type: ignore[no-any-return]


def _minute(item: Mapping[str, Any]) -> Minute:
    failures: dict[FailureKey, int] = {}
    files: dict[FailureKey, frozenset[str]] = {}
    for attribute, value in item.items():
        if attribute.startswith("files|"):
            files[_failure(attribute.removeprefix("files|"))] = frozenset(str(v) for v in value)
        elif "|" in attribute:
            failures[_failure(attribute)] = int(value)
    return Minute(_minute_start(str(item["Timestamp"])), int(item.get("Successes", 0)), failures, files)
