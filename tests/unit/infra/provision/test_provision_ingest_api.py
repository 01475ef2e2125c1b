"""The ingestion API's provisioning, on stubbed clients: created whole where missing (API, authorizer, integration,
routes behind the authorizer, the throttled `$default` stage, API Gateway's permission on both functions); left
alone when as declared; a route or setting that drifted put back, a route not declared deleted; skipped with one
warning where the endpoint has no HTTP APIs or serves them without authorizers; deleted on teardown, authorizers
first."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from botocore.stub import ANY

from lakebox_infra import ingest_api as declared
from lakebox_infra.provision import ingest_api
from lakebox_layer.stages.api import ROUTES
from tests.fakes.provision import AWS, NAMES, TAGS, TOPOLOGY, Stubs, missing

SPEC = declared.spec(TOPOLOGY, TAGS)
API_ID = "abc123"
SOURCE = f"arn:aws:execute-api:us-east-1:000000000000:{API_ID}/*"
TARGET = "integrations/int1"


def listed(stubs: Stubs, *names: str) -> None:
    stubs("apigatewayv2").add_response("get_apis", {"Items": [
        {"ApiId": API_ID if name == NAMES.ingest_api else "zzz", "Name": name, "ProtocolType": "HTTP",
         "RouteSelectionExpression": "$request.method $request.path"} for name in names]}, {})


def authorizer(**changed: Any) -> dict[str, Any]:
    return {**SPEC.authorizer, "AuthorizerId": "auth1", **changed}


def route(key: str, **changed: Any) -> dict[str, Any]:
    return {"RouteKey": key, "RouteId": f"r-{ROUTES.index(key) if key in ROUTES else 9}", "Target": TARGET,
            "AuthorizationType": "CUSTOM", "AuthorizerId": "auth1", **changed}


def stage(**settings: Any) -> dict[str, Any]:
    return {"StageName": "$default", "AutoDeploy": True,
            "DefaultRouteSettings": {**SPEC.stage["DefaultRouteSettings"], **settings}}


def permission_policy(source: str = SOURCE) -> dict[str, Any]:
    return {"Policy": json.dumps({"Statement": [{"Sid": "ingest-api", "Effect": "Allow",
                                                 "Principal": {"Service": "apigateway.amazonaws.com"},
                                                 "Action": "lambda:InvokeFunction", "Resource": "x",
                                                 "Condition": {"ArnLike": {"AWS:SourceArn": source}}}]})}


def found_with_routes(stubs: Stubs, routes: list[dict[str, Any]]) -> None:
    """The API's authorizer and integration as declared, and these routes."""
    apis = stubs("apigatewayv2")
    apis.add_response("get_authorizers", {"Items": [authorizer()]}, {"ApiId": API_ID})
    apis.add_response("get_integrations", {"Items": [{**SPEC.integration, "IntegrationId": "int1"}]},
                      {"ApiId": API_ID})
    apis.add_response("get_routes", {"Items": routes}, {"ApiId": API_ID})


def found_stage(stubs: Stubs, **settings: Any) -> None:
    stubs("apigatewayv2").add_response("get_stage", stage(**settings), {"ApiId": API_ID, "StageName": "$default"})


def test_the_whole_api_is_created_where_missing() -> None:
    stubs = Stubs()
    listed(stubs, "another-api")
    apis = stubs("apigatewayv2")
    apis.add_response("create_api", {"ApiId": API_ID}, {"Name": NAMES.ingest_api, "ProtocolType": "HTTP",
                                                        "Description": SPEC.description, "Tags": TAGS})
    apis.add_response("get_authorizers", {"Items": []}, {"ApiId": API_ID})
    apis.add_response("create_authorizer", {"AuthorizerId": "auth1"}, {"ApiId": API_ID, **SPEC.authorizer})
    apis.add_response("get_integrations", {"Items": []}, {"ApiId": API_ID})
    apis.add_response("create_integration", {"IntegrationId": "int1"}, {"ApiId": API_ID, **SPEC.integration})
    apis.add_response("get_routes", {"Items": []}, {"ApiId": API_ID})
    for key in ROUTES:
        apis.add_response("create_route", {"RouteId": "r"}, {"ApiId": API_ID, "RouteKey": key, "Target": TARGET,
                                                             "AuthorizationType": "CUSTOM", "AuthorizerId": "auth1"})
    missing(apis, "get_stage", "NotFoundException", {"ApiId": API_ID, "StageName": "$default"})
    apis.add_response("create_stage", {}, {"ApiId": API_ID, **SPEC.stage})
    for function in SPEC.invoked:
        missing(stubs("lambda"), "get_policy", "ResourceNotFoundException", {"FunctionName": function})
        stubs("lambda").add_response("add_permission", {"Statement": "{}"}, {
            "FunctionName": function, "StatementId": "ingest-api", "Action": "lambda:InvokeFunction",
            "Principal": "apigateway.amazonaws.com", "SourceArn": SOURCE})

    url = ingest_api.apply_ingest_api(stubs.context)

    stubs.done()
    assert url == f"https://{API_ID}.execute-api.us-east-1.amazonaws.com"
    assert [action for action, _ in stubs.changes] == ["created"] * 8 + ["granted"] * 2
    assert SPEC.authorizer["AuthorizerResultTtlInSeconds"] == 60 and SPEC.authorizer["EnableSimpleResponses"]
    assert SPEC.stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 500.0, "ThrottlingBurstLimit": 1000}


def test_an_api_as_declared_is_read_and_left_alone() -> None:
    stubs = Stubs()
    listed(stubs, NAMES.ingest_api)
    found_with_routes(stubs, [route(key) for key in ROUTES])
    found_stage(stubs)
    for function in SPEC.invoked:
        stubs("lambda").add_response("get_policy", permission_policy(), {"FunctionName": function})

    ingest_api.apply_ingest_api(stubs.context)

    stubs.done()
    assert stubs.changes == []
    assert len(stubs.unchanged) == 1 + 1 + 1 + len(ROUTES) + 1 + 2


def test_what_drifted_is_put_back_and_a_route_not_declared_is_deleted() -> None:
    stubs = Stubs()
    listed(stubs, NAMES.ingest_api)
    routes = [route(key) for key in ROUTES]
    routes[0] = route(ROUTES[0], AuthorizationType="NONE")
    found_with_routes(stubs, [*routes, route("GET /debug")])
    apis = stubs("apigatewayv2")
    apis.add_response("update_route", {}, {"ApiId": API_ID, "RouteId": "r-0", "Target": TARGET,
                                           "AuthorizationType": "CUSTOM", "AuthorizerId": "auth1"})
    apis.add_response("delete_route", {}, {"ApiId": API_ID, "RouteId": "r-9"})
    found_stage(stubs, ThrottlingRateLimit=10.0)
    apis.add_response("update_stage", {}, {"ApiId": API_ID, **SPEC.stage})
    lam = stubs("lambda")
    lam.add_response("get_policy", permission_policy("arn:aws:execute-api:us-east-1:000000000000:other/*"),
                     {"FunctionName": SPEC.invoked[0]})
    lam.add_response("remove_permission", {}, {"FunctionName": SPEC.invoked[0], "StatementId": "ingest-api"})
    lam.add_response("add_permission", {"Statement": "{}"}, {"FunctionName": SPEC.invoked[0],
                                                             "StatementId": "ingest-api", "Action": ANY,
                                                             "Principal": ANY, "SourceArn": SOURCE})
    lam.add_response("get_policy", permission_policy(), {"FunctionName": SPEC.invoked[1]})

    ingest_api.apply_ingest_api(stubs.context)

    stubs.done()
    assert stubs.changes == [("updated", f"route {ROUTES[0]}"), ("deleted", "route GET /debug"),
                             ("updated", f"stage $default of {NAMES.ingest_api}"),
                             ("granted", f"permission of API Gateway to invoke {SPEC.invoked[0]}")]


def test_an_endpoint_without_http_apis_or_their_authorizers_gets_one_warning_and_no_api() -> None:
    stubs = Stubs()
    stubs("apigatewayv2").add_client_error("get_apis", service_error_code="InternalFailure", http_status_code=501)
    assert ingest_api.apply_ingest_api(stubs.context) is None
    stubs.done()
    assert stubs.changes == [] and len(stubs.context.report.warnings) == 1
    assert "does not offer API Gateway HTTP APIs" in stubs.context.report.warnings[0]

    moto = Stubs(replace(AWS, emulator="moto's server", http_api_authorizers=False))
    assert ingest_api.apply_ingest_api(moto.context) is None
    moto.done()
    assert moto.context.report.warnings == [
        "moto's server does not serve HTTP APIs' authorizers: the ingestion API is not provisioned: producers outside "
        "the lake send through S3 or Kinesis only"]


def test_teardown_deletes_the_authorizers_then_the_api_and_again_finds_nothing() -> None:
    stubs = Stubs()
    listed(stubs, NAMES.ingest_api)
    apis = stubs("apigatewayv2")
    apis.add_response("get_authorizers", {"Items": [authorizer()]}, {"ApiId": API_ID})
    apis.add_response("delete_authorizer", {}, {"ApiId": API_ID, "AuthorizerId": "auth1"})
    apis.add_response("delete_api", {}, {"ApiId": API_ID})
    listed(stubs)

    ingest_api.teardown_ingest_api(stubs.context)
    ingest_api.teardown_ingest_api(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"HTTP API {NAMES.ingest_api}")]
