"""PersonalDataKeys' KMS requests as KMS's API model checks them (botocore Stubber): a data key per column under its
encryption context, the token key derived once per dataset, and every refusal mapped to a layer error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber

from lakebox_infra.session import session_for
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.errors import ACCESS_DENIED
from lakebox_layer.adapters.keys import PersonalDataKeys, data_key_context
from lakebox_layer.exceptions import KeyAccessDenied, KeyServiceError
from lakebox_layer.protection import key_ref
from lakebox_layer.settings import ResourceNames, Settings

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

KEY_ID = "alias/lakebox-pii"
TOKEN_KEY_ID = "alias/lakebox-pii-token"
KEY_ARN = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WRAPPED = b"\x01\x02\x03 wrapped data key blob" * 4
PLAINTEXT = bytes(range(32))
CONTEXT = {"lakebox:dataset": "orders", "lakebox:column": "email"}


@pytest.fixture
def client() -> KMSClient:
    return boto3.client("kms", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: KMSClient) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def keys(client: KMSClient) -> PersonalDataKeys:
    return PersonalDataKeys(client, KEY_ID, TOKEN_KEY_ID)


def test_a_data_key_is_aes_256_under_the_dataset_and_column_context(keys: PersonalDataKeys, stubber: Stubber) -> None:
    stubber.add_response("generate_data_key", {"CiphertextBlob": WRAPPED, "Plaintext": PLAINTEXT, "KeyId": KEY_ARN},
                         {"KeyId": KEY_ID, "KeySpec": "AES_256", "EncryptionContext": CONTEXT})
    data_key = keys.data_key("orders", "email")
    assert (data_key.plaintext, data_key.wrapped, data_key.ref, data_key.context) == (
        PLAINTEXT, WRAPPED, key_ref(WRAPPED), CONTEXT)
    assert data_key_context("orders", "email") == CONTEXT
    assert repr(PLAINTEXT) not in repr(data_key)


def test_unwrap_decrypts_under_the_key_and_context(keys: PersonalDataKeys, stubber: Stubber) -> None:
    stubber.add_response("decrypt", {"Plaintext": PLAINTEXT, "KeyId": KEY_ARN},
                         {"CiphertextBlob": WRAPPED, "KeyId": KEY_ID, "EncryptionContext": CONTEXT})
    assert keys.unwrap(WRAPPED, CONTEXT) == PLAINTEXT


def test_the_token_key_is_a_mac_of_the_dataset_asked_once_per_dataset(keys: PersonalDataKeys,
                                                                       stubber: Stubber) -> None:
    for dataset, mac in (("orders", b"o" * 32), ("customers", b"c" * 32)):
        stubber.add_response("generate_mac", {"Mac": mac, "KeyId": KEY_ARN, "MacAlgorithm": "HMAC_SHA_256"},
                             {"KeyId": TOKEN_KEY_ID, "MacAlgorithm": "HMAC_SHA_256",
                              "Message": b"lakebox token key v1\0" + dataset.encode()})
    assert [keys.token_key(d) for d in ("orders", "orders", "customers", "orders", "customers")] == [
        b"o" * 32, b"o" * 32, b"c" * 32, b"o" * 32, b"c" * 32]


def call(keys: PersonalDataKeys, operation: str) -> object:
    if operation == "generate_data_key":
        return keys.data_key("orders", "email")
    if operation == "decrypt":
        return keys.unwrap(WRAPPED, CONTEXT)
    return keys.token_key("orders")


OPERATIONS = [("generate_data_key", "kms:GenerateDataKey", KEY_ID), ("decrypt", "kms:Decrypt", KEY_ID),
              ("generate_mac", "kms:GenerateMac", TOKEN_KEY_ID)]


@pytest.mark.parametrize(("operation", "action", "key_id"), OPERATIONS)
@pytest.mark.parametrize("code", sorted(ACCESS_DENIED))
def test_a_refused_caller_is_key_access_denied_naming_the_key_and_action(
        keys: PersonalDataKeys, stubber: Stubber, operation: str, action: str, key_id: str, code: str) -> None:
    stubber.add_client_error(operation, service_error_code=code, http_status_code=400)
    with pytest.raises(KeyAccessDenied) as raised:
        call(keys, operation)
    assert str(raised.value) == f"{action} on {key_id} refused: this identity is not allowed it ({code})"
    assert (raised.value.key_id, raised.value.action) == (key_id, action)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("operation", "action", "key_id"), OPERATIONS)
@pytest.mark.parametrize("code", ["NotFoundException", "DisabledException", "InvalidCiphertextException",
                                  "KMSInvalidStateException", "ThrottlingException", "KMSInternalException"])
def test_any_other_refusal_is_a_key_service_error_naming_the_code(
        keys: PersonalDataKeys, stubber: Stubber, operation: str, action: str, key_id: str, code: str) -> None:
    stubber.add_client_error(operation, service_error_code=code, http_status_code=400)
    with pytest.raises(KeyServiceError, match=f"^{action} on {key_id} failed: {code}$"):
        call(keys, operation)


def test_a_refused_token_key_is_asked_again(keys: PersonalDataKeys, stubber: Stubber) -> None:
    stubber.add_client_error("generate_mac", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_response("generate_mac", {"Mac": b"o" * 32, "KeyId": KEY_ARN, "MacAlgorithm": "HMAC_SHA_256"})
    with pytest.raises(KeyServiceError):
        keys.token_key("orders")
    assert keys.token_key("orders") == b"o" * 32


def test_the_kms_client_is_built_lazily_at_the_settings_endpoint() -> None:
    endpoint = "http://127.0.0.1:4566"
    settings = Settings.from_names(ResourceNames("lakebox", "000000000000", "eu-west-1"), endpoint_url=endpoint)
    clients = AwsClients(settings, session_for(endpoint, "eu-west-1"))
    assert "kms" not in vars(clients)
    assert clients.kms is clients.kms
    assert clients.kms.meta.service_model.service_name == "kms"
    assert clients.kms.meta.endpoint_url == endpoint
