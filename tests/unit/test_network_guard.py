"""The unit suite's own safety net: inet sockets are blocked, so no test reaches AWS or an emulator by accident."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import HTTPClientError
from pytest_socket import SocketBlockedError

# pytest-socket warns whenever it blocks something: here blocking is the point.
pytestmark = pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")


def test_inet_socket_is_blocked() -> None:
    with pytest.raises(SocketBlockedError):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_a_boto3_call_fails_instead_of_reaching_the_network() -> None:
    client = boto3.client(
        "s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x", aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(HTTPClientError) as caught:
        client.list_buckets()
    assert isinstance(caught.value.kwargs["error"], SocketBlockedError)
