"""The metadata table on moto's in-process DynamoDB, created from the topology's own definition (keys and status
index as bootstrap makes them), for tests of what reads and writes it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from moto import mock_aws

from tests.fakes.provision import TOPOLOGY

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = TOPOLOGY.names.metadata_table


@contextmanager
def moto_metadata_table() -> Iterator[DynamoDBClient]:
    """A DynamoDB client on moto with the metadata table created."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="test",
                              aws_secret_access_key="test")
        client.create_table(**TOPOLOGY.table)
        yield client
