"""The ingestion API as data: an API Gateway HTTP API whose routes (:data:`lakebox_layer.stages.api.ROUTES`) go to
the API's function, each behind the authorizer, on the `$default` stage with throttling. No AWS calls here.

The authorizer is a REQUEST authorizer (payload 2.0, simple responses) that reads the `Authorization` header, its
answers cached per header value for AUTHORIZER_CACHE_S; a request without the header is 401 at the gateway. The stage
throttles all producers together (STAGE_RATE_PER_S, STAGE_BURST); each producer's own limit is counted by the API's
function (:data:`lakebox_layer.producers.REQUESTS_PER_S`), since an HTTP API has no per-client throttling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lakebox_infra.arns import Arns
from lakebox_layer.producers import AUTHORIZER_CACHE_S
from lakebox_layer.registry import Stage
from lakebox_layer.stages.api import ROUTES

# All producers together, per second and at once (AWS' default account limits are 10,000 and 5,000).
STAGE_RATE_PER_S = 500
STAGE_BURST = 1000
# The function's answer within API Gateway's 30 s limit (its own timeout is 20 s, the registry's).
INTEGRATION_TIMEOUT_MS = 29_000
IDENTITY_SOURCE = "$request.header.Authorization"
DEFAULT_STAGE = "$default"


@dataclass(frozen=True)
class IngestApiSpec:
    """Everything the API is made of, as the create calls take it (without the API's id, known once created)."""

    name: str
    description: str
    authorizer: dict[str, Any]
    integration: dict[str, Any]
    routes: tuple[str, ...]
    stage: dict[str, Any]
    # The functions API Gateway invokes (the authorizer's and the API's), with the statement id of their permission.
    invoked: tuple[str, ...]
    tags: dict[str, str]

    def source_arn(self, arns: Arns, api_id: str) -> str:
        """What may invoke the functions: any route and stage of this API."""
        return arns.arn("execute-api", f"{api_id}/*")


def spec(arns: Arns, tags: dict[str, str]) -> IngestApiSpec:
    names = arns.names
    authorizer_arn = arns.function_arn(names.function(Stage.AUTHORIZER.value))
    api_arn = arns.function_arn(names.function(Stage.API.value))
    return IngestApiSpec(
        name=names.ingest_api,
        description="lakebox: producers outside the lake send records and files with their keys",
        authorizer={
            "Name": f"{names.project}-producer-keys", "AuthorizerType": "REQUEST",
            "AuthorizerUri": _invocation_uri(arns, authorizer_arn),
            "AuthorizerPayloadFormatVersion": "2.0", "EnableSimpleResponses": True,
            "IdentitySource": [IDENTITY_SOURCE], "AuthorizerResultTtlInSeconds": AUTHORIZER_CACHE_S,
        },
        integration={"IntegrationType": "AWS_PROXY", "IntegrationUri": api_arn, "PayloadFormatVersion": "2.0",
                     "TimeoutInMillis": INTEGRATION_TIMEOUT_MS},
        routes=ROUTES,
        stage={"StageName": DEFAULT_STAGE, "AutoDeploy": True,
               "DefaultRouteSettings": {"ThrottlingRateLimit": float(STAGE_RATE_PER_S),
                                        "ThrottlingBurstLimit": STAGE_BURST}},
        invoked=(names.function(Stage.AUTHORIZER.value), names.function(Stage.API.value)),
        tags=tags,
    )


def _invocation_uri(arns: Arns, function_arn: str) -> str:
    """How API Gateway names a Lambda function it invokes."""
    return (f"arn:{arns.partition}:apigateway:{arns.names.region}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations")


def url(endpoint_url: str | None, region: str, api_id: str) -> str:
    """Where producers send: AWS' execute-api host, or the emulator's path for the API (its `$default` stage serves
    from the root)."""
    if endpoint_url is None:
        return f"https://{api_id}.execute-api.{region}.amazonaws.com"
    return f"{endpoint_url.rstrip('/')}/_aws/execute-api/{api_id}"
