"""Sensor readings for `lakebox send --sample sensors`: deterministic per seed, with known bad ones.

A reading has the shape of `sample_data/sensor-valid.json`, the record of the Serverless Data Lake
Architecture recipe:

    {"id": "reading-000001", "timestamp": "2026-01-01T00:00:01Z",
     "data": {"sensor": "sensor-03", "celsius": 21.4, "humidity": 48.2}, "email": "sensor-03@example.com"}

Every `invalid_every`-th reading breaks a rule of the `default` contract in a known way, taking turns: a malformed
email, then a missing timestamp. Every `poison_every`-th line of the JSON Lines output is followed by a poison line,
a line that is not a JSON object, which only the raw output can carry (a record sent with `--dataset` is an object
by construction); the stream batcher sets those aside. `report()` gives the counts an end-to-end run must find.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

SAMPLE_START = datetime(2026, 1, 1, tzinfo=UTC)
SENSORS = 16
BAD_EMAIL = "bad email"
MISSING_TIMESTAMP = "missing timestamp"
# How the invalid readings break the contract, in turn.
INVALID_KINDS = (BAD_EMAIL, MISSING_TIMESTAMP)
# What poison lines look like, in turn: not JSON, a JSON array, a JSON string, a truncated object.
POISON_LINES = ("this is not JSON", "[1, 2, 3]", '"a bare string"', '{"id": "cut-off", "timestamp": ')


@dataclass(frozen=True)
class SampleReport:
    """What a sample holds: readings that pass the contract, readings that break it (by kind), poison lines."""

    valid: int
    invalid: int
    poison: int
    invalid_by_kind: dict[str, int]

    @property
    def readings(self) -> int:
        return self.valid + self.invalid

    def to_json(self) -> dict[str, Any]:
        return {"readings": self.readings, "valid": self.valid, "invalid": self.invalid, "poison": self.poison,
                "invalid_by_kind": dict(sorted(self.invalid_by_kind.items()))}


@dataclass(frozen=True)
class SensorSample:
    """The readings (JSON objects, in order), which of them are invalid and how, and the poison lines with the
    number of readings each follows."""

    readings: tuple[dict[str, Any], ...]
    invalid: dict[int, str]  # index in `readings` -> how the reading is invalid
    poison: tuple[tuple[int, str], ...]  # (readings before it, line)

    def report(self) -> SampleReport:
        kinds: dict[str, int] = {}
        for kind in self.invalid.values():
            kinds[kind] = kinds.get(kind, 0) + 1
        return SampleReport(valid=len(self.readings) - len(self.invalid), invalid=len(self.invalid),
                            poison=len(self.poison), invalid_by_kind=kinds)

    def valid_readings(self) -> list[dict[str, Any]]:
        return [r for i, r in enumerate(self.readings) if i not in self.invalid]

    def invalid_readings(self) -> list[tuple[dict[str, Any], str]]:
        return [(self.readings[i], kind) for i, kind in sorted(self.invalid.items())]

    def lines(self) -> Iterator[dict[str, Any] | str]:
        """Every line in order: each reading (a JSON object), each poison line (its text) after the readings it
        follows."""
        after = dict[int, list[str]]()
        for count, line in self.poison:
            after.setdefault(count, []).append(line)
        for index, reading in enumerate(self.readings):
            yield reading
            yield from after.get(index + 1, [])

    def json_lines(self) -> Iterator[str]:
        """The raw JSON Lines output: `lines()`, each reading as compact JSON."""
        for line in self.lines():
            yield (line if isinstance(line, str) else json.dumps(line, separators=(",", ":"))) + "\n"


def reading(rng: random.Random, number: int, start: datetime = SAMPLE_START) -> dict[str, Any]:
    """The `number`-th (from 1) valid reading: one a second from `start`, from one of SENSORS sensors."""
    sensor = f"sensor-{rng.randrange(SENSORS):02d}"
    timestamp = (start + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {"sensor": sensor, "celsius": round(rng.gauss(21.0, 3.0), 1), "humidity": round(rng.uniform(30, 70), 1)}
    return {"id": f"reading-{number:06d}", "timestamp": timestamp, "data": data, "email": f"{sensor}@example.com"}


def spoil(record: dict[str, Any], kind: str) -> dict[str, Any]:
    """`record` broken in the way `kind` names."""
    spoiled = dict(record)
    if kind == BAD_EMAIL:
        spoiled["email"] = str(record["email"]).replace("@", " at ")
    elif kind == MISSING_TIMESTAMP:
        del spoiled["timestamp"]
    else:
        raise ValueError(f"no such way to spoil a reading: {kind!r}")
    return spoiled


def sensor_sample(count: int, *, seed: int = 0, invalid_every: int | None = None,
                  poison_every: int | None = None, start: datetime = SAMPLE_START) -> SensorSample:
    """`count` readings from `random.Random(seed)`: the same arguments give the same sample. Reading k (from 1) is
    invalid when k is a multiple of `invalid_every`; a poison line follows reading k when k is a multiple of
    `poison_every`. None (or 0) means none."""
    if count < 0:
        raise ValueError(f"count must not be negative, not {count}")
    for name, every in (("invalid_every", invalid_every), ("poison_every", poison_every)):
        if every is not None and every < 0:
            raise ValueError(f"{name} must not be negative, not {every}")
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrecy
    readings: list[dict[str, Any]] = []
    invalid: dict[int, str] = {}
    poison: list[tuple[int, str]] = []
    for number in range(1, count + 1):
        record = reading(rng, number, start)
        if invalid_every and number % invalid_every == 0:
            kind = INVALID_KINDS[len(invalid) % len(INVALID_KINDS)]
            record = spoil(record, kind)
            invalid[number - 1] = kind
        readings.append(record)
        if poison_every and number % poison_every == 0:
            poison.append((number, POISON_LINES[len(poison) % len(POISON_LINES)]))
    return SensorSample(tuple(readings), invalid, tuple(poison))
