"""The personal-data keys in memory, as KMS gives them: a data key per (dataset, column) context, a token key per
dataset, and an unwrap that checks the context and, unless the caller may decrypt, refuses as KMS would."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from lakebox_layer import ports
from lakebox_layer.adapters.keys import DataKey, data_key_context
from lakebox_layer.exceptions import KeyAccessDenied, KeyServiceError
from lakebox_layer.protection import key_ref

KEY_ID = "alias/lakebox-pii"
TOKEN_KEY_ID = "alias/lakebox-pii-token"
WRAPPED_PREFIX = b"fake-wrapped-data-key"


def _derive(*parts: str) -> bytes:
    return hashlib.sha256("\0".join(parts).encode()).digest()


@dataclass
class FakePersonalDataKeys:
    """Deterministic keys: the same context gives the same data key (and wrapped key, and ref), the same dataset the
    same token key. `decrypt_allowed=False` is an identity without `kms:Decrypt`; `calls` records each call as
    (operation, dataset or key ref, column or "")."""

    decrypt_allowed: bool = True
    key_id: str = KEY_ID
    token_key_id: str = TOKEN_KEY_ID
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    def data_key(self, dataset: str, column: str) -> DataKey:
        self.calls.append(("GenerateDataKey", dataset, column))
        wrapped = b"\0".join((WRAPPED_PREFIX, self.key_id.encode(), dataset.encode(), column.encode()))
        return DataKey(_derive("data key", dataset, column), wrapped, key_ref(wrapped),
                       data_key_context(dataset, column))

    def token_key(self, dataset: str) -> bytes:
        self.calls.append(("GenerateMac", dataset, ""))
        return _derive("token key", self.token_key_id, dataset)

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        """The data key of the context the wrapped blob names (any instance unwraps it, as any KMS client would)."""
        self.calls.append(("Decrypt", key_ref(wrapped), context.get("lakebox:column", "")))
        if not self.decrypt_allowed:
            raise KeyAccessDenied(self.key_id, "kms:Decrypt", "AccessDeniedException")
        prefix, key_id, dataset, column = (wrapped.split(b"\0") + [b""] * 4)[:4]
        named = data_key_context(dataset.decode(), column.decode())
        if (prefix, key_id, named) != (WRAPPED_PREFIX, self.key_id.encode(), context):
            # Not a blob of this key, or another context: KMS does not tell these apart either.
            raise KeyServiceError(f"kms:Decrypt on {self.key_id} failed: InvalidCiphertextException")
        return _derive("data key", dataset.decode(), column.decode())


def _typed(keys: FakePersonalDataKeys) -> ports.PersonalDataKeys:
    """mypy holds the fake to the port here, until a stage constructor takes it."""
    return keys
