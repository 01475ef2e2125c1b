"""A probe run with a pipeline function's execution role: it tries one S3 call (or, for `batch_get` and `get_item`,
a DynamoDB BatchGetItem or GetItem on the table named as the bucket, of the item the key names) and says whether IAM
allowed it."""

from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s3 = boto3.client("s3")
    calls: dict[str, Callable[[], object]] = {
        "put": lambda: s3.put_object(Bucket=event["bucket"], Key=event["key"], Body=b"probe"),
        "get": lambda: s3.get_object(Bucket=event["bucket"], Key=event["key"]),
        "delete": lambda: s3.delete_object(Bucket=event["bucket"], Key=event["key"]),
        "batch_get": lambda: boto3.client("dynamodb").batch_get_item(RequestItems={event["bucket"]: {"Keys": [
            {"ProcessId": {"S": event["key"]}, "Timestamp": {"S": "probe"}}]}}),
        "get_item": lambda: boto3.client("dynamodb").get_item(TableName=event["bucket"], Key={
            "ProcessId": {"S": event["key"]}, "Timestamp": {"S": "ledger"}}),
    }
    try:
        calls[event["op"]]()
    except ClientError as error:
        return {"allowed": False, "code": error.response["Error"]["Code"]}
    return {"allowed": True}
