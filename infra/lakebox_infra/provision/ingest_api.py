"""The ingestion API (see :mod:`lakebox_infra.ingest_api`): the HTTP API, its authorizer, the integration with the
API's function, the routes, the `$default` stage, and the permission of API Gateway to invoke the two functions.
Skipped with one warning where the endpoint has no HTTP APIs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from lakebox_infra.ingest_api import IngestApiSpec, spec, url
from lakebox_infra.provision.base import Context, absent, ensure, offered
from lakebox_layer.adapters.errors import cannot_list
from lakebox_layer.settings import ResourceNames

_SKIPPED = "the ingestion API is not provisioned: producers outside the lake send through S3 or Kinesis only"
# The statement id of API Gateway's permission on each function.
PERMISSION_ID = "ingest-api"
_AUTHORIZER_FIELDS = ("AuthorizerType", "AuthorizerUri", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses",
                      "IdentitySource", "AuthorizerResultTtlInSeconds")
_INTEGRATION_FIELDS = ("IntegrationType", "IntegrationUri", "PayloadFormatVersion", "TimeoutInMillis")


def _wanted(ctx: Context) -> IngestApiSpec:
    return spec(ctx.topology, ctx.topology.resource_tags)


def api_ids(client: Any, name: str) -> list[str]:
    """The ids of the HTTP APIs named `name` (none, or one)."""
    return [api["ApiId"] for page in client.get_paginator("get_apis").paginate() for api in page.get("Items", [])
            if api.get("Name") == name]


def find_url(client: Any, names: ResourceNames, endpoint_url: str | None) -> str | None:
    """Where producers send, or None where there is no ingestion API (not provisioned, or no HTTP APIs)."""
    try:
        ids = api_ids(client, names.ingest_api)
    except ClientError as error:
        if cannot_list(error):
            return None
        raise
    return url(endpoint_url, names.region, ids[0]) if ids else None


def _api_ids(ctx: Context) -> list[str] | None:
    """As :func:`api_ids`, or None (with one warning) where the endpoint has no HTTP APIs with authorizers."""
    client = ctx.client("apigatewayv2")
    if not ctx.capabilities.http_api_authorizers:
        ctx.report.warn(f"{ctx.capabilities.emulator} does not serve HTTP APIs' authorizers: {_SKIPPED}")
        return None
    return offered(ctx, "API Gateway HTTP APIs", lambda: api_ids(client, ctx.names.ingest_api), _SKIPPED)


def apply_ingest_api(ctx: Context) -> str | None:
    """Make the API as declared; its URL (None where the endpoint has no HTTP APIs)."""
    ids = _api_ids(ctx)
    if ids is None:
        return None
    client, wanted = ctx.client("apigatewayv2"), _wanted(ctx)
    if ids:
        api_id = ids[0]
        ctx.report.same(f"HTTP API {wanted.name}")
    else:
        api_id = client.create_api(Name=wanted.name, ProtocolType="HTTP", Description=wanted.description,
                                   Tags=wanted.tags)["ApiId"]
        ctx.report.changed("created", f"HTTP API {wanted.name}")
    authorizer_id = _apply_authorizer(ctx, api_id, wanted)
    integration_id = _apply_integration(ctx, api_id, wanted)
    _apply_routes(ctx, api_id, wanted, f"integrations/{integration_id}", authorizer_id)
    _apply_stage(ctx, api_id, wanted)
    for function in wanted.invoked:
        _apply_permission(ctx, function, wanted.source_arn(ctx.topology, api_id))
    return url(ctx.endpoint_url, ctx.names.region, api_id)


def _apply_authorizer(ctx: Context, api_id: str, wanted: IngestApiSpec) -> str:
    client, name = ctx.client("apigatewayv2"), wanted.authorizer["Name"]
    found = [a for a in client.get_authorizers(ApiId=api_id).get("Items", []) if a.get("Name") == name]
    fields = {key: wanted.authorizer[key] for key in _AUTHORIZER_FIELDS}
    if not found:
        authorizer_id = str(client.create_authorizer(ApiId=api_id, **wanted.authorizer)["AuthorizerId"])
        ctx.report.changed("created", f"authorizer {name}")
        return authorizer_id
    authorizer_id = str(found[0]["AuthorizerId"])
    ensure(ctx, f"authorizer {name}", lambda: {key: found[0].get(key) for key in _AUTHORIZER_FIELDS}, fields,
           lambda _: client.update_authorizer(ApiId=api_id, AuthorizerId=authorizer_id, **wanted.authorizer),
           "updated")
    return authorizer_id


def _apply_integration(ctx: Context, api_id: str, wanted: IngestApiSpec) -> str:
    client, uri = ctx.client("apigatewayv2"), wanted.integration["IntegrationUri"]
    found = [i for i in client.get_integrations(ApiId=api_id).get("Items", []) if i.get("IntegrationUri") == uri]
    what = f"integration of {wanted.name} with {uri.rsplit(':', 1)[-1]}"
    if not found:
        integration_id = str(client.create_integration(ApiId=api_id, **wanted.integration)["IntegrationId"])
        ctx.report.changed("created", what)
        return integration_id
    integration_id = str(found[0]["IntegrationId"])
    ensure(ctx, what, lambda: {key: found[0].get(key) for key in _INTEGRATION_FIELDS}, wanted.integration,
           lambda _: client.update_integration(ApiId=api_id, IntegrationId=integration_id, **wanted.integration),
           "updated")
    return integration_id


def _apply_routes(ctx: Context, api_id: str, wanted: IngestApiSpec, target: str, authorizer_id: str) -> None:
    """Each route to the integration behind the authorizer; a route not declared is deleted."""
    client = ctx.client("apigatewayv2")
    found = {r["RouteKey"]: r for r in client.get_routes(ApiId=api_id).get("Items", [])}
    fields = {"Target": target, "AuthorizationType": "CUSTOM", "AuthorizerId": authorizer_id}
    for key in wanted.routes:
        _apply_route(ctx, api_id, key, found.get(key), fields)
    for key, route in found.items():
        if key not in wanted.routes:
            client.delete_route(ApiId=api_id, RouteId=route["RouteId"])
            ctx.report.changed("deleted", f"route {key}")


def _apply_route(ctx: Context, api_id: str, key: str, route: dict[str, Any] | None, fields: dict[str, str]) -> None:
    client = ctx.client("apigatewayv2")

    def write(found: dict[str, Any] | None) -> None:
        if route is None:
            client.create_route(ApiId=api_id, RouteKey=key, **fields)
        else:
            client.update_route(ApiId=api_id, RouteId=route["RouteId"], **fields)

    ensure(ctx, f"route {key}", lambda: None if route is None else {name: route.get(name) for name in fields},
           fields, write, lambda found: "created" if found is None else "updated")


def _apply_stage(ctx: Context, api_id: str, wanted: IngestApiSpec) -> None:
    client, stage = ctx.client("apigatewayv2"), wanted.stage

    def read() -> dict[str, Any]:
        found = client.get_stage(ApiId=api_id, StageName=stage["StageName"])
        settings = found.get("DefaultRouteSettings", {})
        return {"StageName": found.get("StageName"), "AutoDeploy": found.get("AutoDeploy"),
                "DefaultRouteSettings": {key: settings.get(key) for key in stage["DefaultRouteSettings"]}}

    def write(found: dict[str, Any] | None) -> None:
        if found is None:
            client.create_stage(ApiId=api_id, **stage)
        else:
            client.update_stage(ApiId=api_id, **stage)

    ensure(ctx, f"stage {stage['StageName']} of {wanted.name}", read, stage, write,
           lambda found: "created" if found is None else "updated")


def _apply_permission(ctx: Context, function: str, source_arn: str) -> None:
    """API Gateway may invoke the function, from this API only (AWS checks it; the emulator does not)."""
    lam = ctx.client("lambda")
    wanted = {"Principal": "apigateway.amazonaws.com", "SourceArn": source_arn}

    def read() -> dict[str, Any] | None:
        statements = json.loads(lam.get_policy(FunctionName=function)["Policy"]).get("Statement", [])
        mine = next((s for s in statements if s.get("Sid") == PERMISSION_ID), None)
        if mine is None:
            return None
        principal = mine.get("Principal")
        return {"Principal": principal.get("Service") if isinstance(principal, dict) else principal,
                "SourceArn": mine.get("Condition", {}).get("ArnLike", {}).get("AWS:SourceArn")}

    def write(found: dict[str, Any] | None) -> None:
        if found is not None:
            lam.remove_permission(FunctionName=function, StatementId=PERMISSION_ID)
        lam.add_permission(FunctionName=function, StatementId=PERMISSION_ID, Action="lambda:InvokeFunction",
                           **wanted)

    ensure(ctx, f"permission of API Gateway to invoke {function}", read, wanted, write, "granted")


def teardown_ingest_api(ctx: Context) -> None:
    """Delete the API (its routes, integration, authorizer and stage with it), where the endpoint has HTTP APIs."""
    ids = _api_ids(ctx)
    client = ctx.client("apigatewayv2")
    for api_id in ids or []:
        # The emulator keeps an API's authorizers after the API: deleted first.
        for authorizer in client.get_authorizers(ApiId=api_id).get("Items", []):
            client.delete_authorizer(ApiId=api_id, AuthorizerId=authorizer["AuthorizerId"])
        absent(ctx, f"HTTP API {ctx.names.ingest_api}", _deleting(client, api_id))


def _deleting(client: Any, api_id: str) -> Callable[[], object]:
    return lambda: client.delete_api(ApiId=api_id)
