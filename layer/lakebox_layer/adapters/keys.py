"""KMS: the keys that protect personal data in the curated zone.

- A data key per file and protected column (GenerateDataKey, AES-256), its encryption context naming the dataset
  and the column; the wrapped copy is kept with the file and only a caller allowed `kms:Decrypt` unwraps it.
- A token key per dataset, derived by KMS from an HMAC key (GenerateMac) and never stored, so curation needs
  `kms:GenerateDataKey` and `kms:GenerateMac` but never `kms:Decrypt`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from lakebox_layer.adapters.errors import access_denied, error_code
from lakebox_layer.exceptions import KeyAccessDenied, KeyServiceError
from lakebox_layer.protection import key_ref

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

DATASET_CONTEXT = "lakebox:dataset"
COLUMN_CONTEXT = "lakebox:column"
# What GenerateMac signs to give a dataset's token key; a new version of it would give every dataset new tokens.
TOKEN_KEY_MESSAGE = b"lakebox token key v1\0"


def data_key_context(dataset: str, column: str) -> dict[str, str]:
    """The encryption context of a dataset's column's data keys: KMS unwraps one only under the same context."""
    return {DATASET_CONTEXT: dataset, COLUMN_CONTEXT: column}


@dataclass(frozen=True)
class DataKey:
    """A data key in plain (for this process only; never logged) and wrapped (kept with the file, named by `ref`)."""

    plaintext: bytes = field(repr=False)
    wrapped: bytes = field(repr=False)
    ref: str
    context: dict[str, str]


class PersonalDataKeys:
    """Data keys and token keys from KMS. The key ids may be aliases (`alias/<project>-pii`)."""

    def __init__(self, kms: KMSClient, key_id: str, token_key_id: str) -> None:
        self._kms = kms
        self.key_id = key_id
        self.token_key_id = token_key_id
        self._token_keys: dict[str, bytes] = {}

    def data_key(self, dataset: str, column: str) -> DataKey:
        """A fresh AES-256 data key for one file's column."""
        context = data_key_context(dataset, column)
        try:
            response = self._kms.generate_data_key(KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=context)
        except ClientError as error:
            raise _key_error(error, self.key_id, "kms:GenerateDataKey") from error
        wrapped = response["CiphertextBlob"]
        return DataKey(response["Plaintext"], wrapped, key_ref(wrapped), context)

    def unwrap(self, wrapped: bytes, context: dict[str, str]) -> bytes:
        """A wrapped data key in plain, for a caller allowed `kms:Decrypt` (:class:`KeyAccessDenied` otherwise)."""
        try:
            response = self._kms.decrypt(CiphertextBlob=wrapped, KeyId=self.key_id, EncryptionContext=context)
        except ClientError as error:
            raise _key_error(error, self.key_id, "kms:Decrypt") from error
        return response["Plaintext"]

    def token_key(self, dataset: str) -> bytes:
        """The dataset's token key, the same on every call and in every process (asked of KMS once per instance)."""
        cached = self._token_keys.get(dataset)
        if cached is not None:
            return cached
        try:
            response = self._kms.generate_mac(KeyId=self.token_key_id, MacAlgorithm="HMAC_SHA_256",
                                              Message=TOKEN_KEY_MESSAGE + dataset.encode())
        except ClientError as error:
            raise _key_error(error, self.token_key_id, "kms:GenerateMac") from error
        self._token_keys[dataset] = response["Mac"]
        return response["Mac"]


def _key_error(error: ClientError, key_id: str, action: str) -> KeyAccessDenied | KeyServiceError:
    code = error_code(error)
    if access_denied(error):
        return KeyAccessDenied(key_id, action, code)
    return KeyServiceError(f"{action} on {key_id} failed: {code}")
