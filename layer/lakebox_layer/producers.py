"""Producers outside the lake and their keys: who may send which datasets through the ingestion API.

A producer is a name, the datasets it may write and one key. The key is random (256 bits), shown once when it is made
and kept only as its SHA-256 digest: a key that random needs no slow hash, and the digest alone cannot be used to
send. Two items of the metadata table hold a producer: its own (`producers` / its name: datasets, digest, revoked)
and its key's (`producer-key#<digest>` / `key`: the producer's name), so the authorizer finds a producer from a
key in two reads and `lakebox producer list` reads one partition. A third, short-lived item per second counts a
producer's requests (REQUESTS_PER_S). Neither has a `Pipeline`, so no producer is ever a
row of `lakebox status`. No AWS calls here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from lakebox_layer.datasets import dataset_name_problem
from lakebox_layer.exceptions import ProducerRefused
from lakebox_layer.stream_batches import STREAM_FOLDER

KEY_PREFIX = "lbk_"
# How long the API keeps an authorizer's answer for a key: a revoked key is refused within this.
AUTHORIZER_CACHE_S = 60
PRODUCERS_PARTITION = "producers"
KEY_ITEM_PREFIX = "producer-key#"
KEY_ITEM_SORT = "key"
# A producer's requests to the API at most, each second: counted in the metadata table, one item per producer and
# second (`producer-rate#<name>` / the second), which expires after RATE_ITEM_S. The API's stage throttles all
# producers together besides (see lakebox_infra.ingest_api).
REQUESTS_PER_S = 100
RATE_ITEM_PREFIX = "producer-rate#"
RATE_ITEM_S = 120
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_KEY = re.compile(KEY_PREFIX + r"[A-Za-z0-9_-]{43}")


def producer_name_problem(name: str) -> str | None:
    """Why `name` cannot name a producer (it goes into raw keys, `input/<dataset>/<producer>/...`), or None."""
    if name == STREAM_FOLDER:
        return f"producer name {name!r} is taken: the stream batcher writes under input/<dataset>/{STREAM_FOLDER}/"
    if _NAME.fullmatch(name):
        return None
    return (f"producer name {name!r} must be 1 to 63 lowercase letters, digits and '-', starting with a letter or "
            "digit")


def new_key() -> str:
    """A new producer key: `lbk_` and 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """What the table keeps of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_key(value: str) -> bool:
    """Whether `value` has a producer key's form: anything else is refused before any read."""
    return _KEY.fullmatch(value) is not None


@dataclass(frozen=True)
class Producer:
    """One producer as the metadata table holds it."""

    name: str
    datasets: tuple[str, ...]
    digest: str
    created_at: str
    revoked_at: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def may_write(self, dataset: str) -> bool:
        return not self.revoked and dataset in self.datasets

    def to_json(self) -> dict[str, Any]:
        """What `lakebox producer list --json` prints: never the digest, which identifies the key."""
        return {"name": self.name, "datasets": list(self.datasets), "created_at": self.created_at,
                "revoked": self.revoked, "revoked_at": self.revoked_at}

    def item(self) -> dict[str, Any]:
        """The producer's own item."""
        item: dict[str, Any] = {"ProcessId": PRODUCERS_PARTITION, "Timestamp": self.name,
                                "Datasets": list(self.datasets), "KeyDigest": self.digest,
                                "CreatedAt": self.created_at}
        if self.revoked_at is not None:
            item["RevokedAt"] = self.revoked_at
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Producer:
        return cls(str(item["Timestamp"]), tuple(str(d) for d in item.get("Datasets") or ()),
                   str(item["KeyDigest"]), str(item["CreatedAt"]),
                   str(item["RevokedAt"]) if item.get("RevokedAt") else None)


def key_item(digest: str, name: str) -> dict[str, Any]:
    """The key's item: which producer a key digest belongs to."""
    return {"ProcessId": f"{KEY_ITEM_PREFIX}{digest}", "Timestamp": KEY_ITEM_SORT, "Producer": name}


def producer_key(name: str) -> dict[str, str]:
    return {"ProcessId": PRODUCERS_PARTITION, "Timestamp": name}


def key_of_digest(digest: str) -> dict[str, str]:
    return {"ProcessId": f"{KEY_ITEM_PREFIX}{digest}", "Timestamp": KEY_ITEM_SORT}


def new_producer(name: str, datasets: list[str], now: str) -> tuple[Producer, str]:
    """A producer and its key (the only time the key exists in clear); ProducerRefused names what is wrong."""
    problem = producer_name_problem(name)
    if problem is None and not datasets:
        problem = "a producer needs at least one dataset (--dataset)"
    problem = problem or next((p for p in map(dataset_name_problem, datasets) if p), None)
    if problem is not None:
        raise ProducerRefused(problem)
    key = new_key()
    return Producer(name, tuple(dict.fromkeys(datasets)), key_digest(key), now), key
