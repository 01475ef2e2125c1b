"""boto3 clients built once from the settings (per cold start in a function, per command in the CLI)."""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from lakebox_layer.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client

    from lakebox_layer.adapters.comprehend import ComprehendClient

_CONFIG = Config(
    retries={"max_attempts": 5, "mode": "standard"},
    connect_timeout=5,
    read_timeout=60,
    # Path-style addressing works on AWS and on every emulator without wildcard DNS.
    s3={"addressing_style": "path"},
)


class AwsClients:
    """Lazily built, cached clients. The endpoint comes from the settings or, when unset, from botocore's own
    resolution (AWS_ENDPOINT_URL, then the real AWS endpoint)."""

    def __init__(self, settings: Settings, session: boto3.Session | None = None) -> None:
        self.settings = settings
        self.session = session or boto3.Session(region_name=settings.region)
        self._clients: dict[str, Any] = {}

    @property
    def endpoint_url(self) -> str | None:
        """The endpoint the clients reach: the settings', else the one botocore reads (an emulator injects
        AWS_ENDPOINT_URL into a function's environment); None on AWS."""
        return self.settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None

    def client(self, service: str) -> Any:
        """The client of `service`, built once."""
        if service not in self._clients:
            self._clients[service] = self._build(service, _CONFIG)
        return self._clients[service]

    def _build(self, service: str, config: Config, endpoint_url: str | None = None) -> Any:
        kwargs: dict[str, Any] = {"region_name": self.settings.region, "config": config}
        if endpoint_url or self.settings.endpoint_url:
            kwargs["endpoint_url"] = endpoint_url or self.settings.endpoint_url
        return self.session.client(service, **kwargs)  # type: ignore[call-overload]

    @cached_property
    def s3(self) -> S3Client:
        return self.client("s3")  # type: ignore[no-any-return]

    def presigning_s3(self, endpoint_url: str | None = None) -> S3Client:
        """S3 for presigned URLs, signed with SigV4 so that the headers a URL names (its Content-Length) are part of
        its signature; the default for a custom endpoint is the older query signature, which signs none. At
        `endpoint_url` when given (the URL's host is signed too), else at the settings' endpoint."""
        name = f"s3 presigning at {endpoint_url}"
        if name not in self._clients:
            self._clients[name] = self._build("s3", _CONFIG.merge(Config(signature_version="s3v4")), endpoint_url)
        return self._clients[name]  # type: ignore[no-any-return]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self.client("dynamodb")  # type: ignore[no-any-return]

    @cached_property
    def kinesis(self) -> KinesisClient:
        return self.client("kinesis")  # type: ignore[no-any-return]

    @cached_property
    def events(self) -> EventBridgeClient:
        return self.client("events")  # type: ignore[no-any-return]

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return self.client("cloudwatch")  # type: ignore[no-any-return]

    @cached_property
    def glue(self) -> GlueClient:
        return self.client("glue")  # type: ignore[no-any-return]

    @cached_property
    def kms(self) -> KMSClient:
        return self.client("kms")  # type: ignore[no-any-return]

    @cached_property
    def lakeformation(self) -> Any:
        # The project's boto3 type stubs do not cover Lake Formation.
        return self.client("lakeformation")

    @cached_property
    def comprehend(self) -> ComprehendClient:
        return self.client("comprehend")  # type: ignore[no-any-return]
