"""The layer, the functions, their queue mappings and asynchronous retries: created when missing, left alone when as
declared, updated in place when they differ."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber

from lakebox_infra import duckdb_layer, packaging
from lakebox_infra.capabilities import Capabilities
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.provision import functions
from lakebox_infra.topology import HANDLER, RUNTIME, FunctionSpec, Topology
from lakebox_layer.registry import Stage
from tests.fakes.provision import AWS, NAMES, TAGS, TOPOLOGY, Stubs, missing

ARCHIVE = b"PK function archive"
LAYER_ARCHIVE = b"PK layer archive"
LAYER_DESCRIPTION = f"lakebox shared library sha256:{packaging.code_sha256(LAYER_ARCHIVE)}"
LAYER_ARN = f"arn:aws:lambda:us-east-1:000000000000:layer:{NAMES.layer}:2"
[SPEC, *_] = TOPOLOGY.functions
ARN = TOPOLOGY.function_arn(SPEC.name)
WANTED = functions.function_config(Stubs().context, SPEC, LAYER_ARN)
MAPPING = TOPOLOGY.event_source_mapping(SPEC)
INVOKE_CONFIG = TOPOLOGY.event_invoke_config(SPEC)
UUID = "00000000-0000-4000-8000-000000000000"
# DuckDB's layer, attached to the functions whose spec says they import it.
DUCKDB_ARCHIVE = b"PK duckdb layer archive"
DUCKDB_LAYER = f"{NAMES.project}-duckdb"
DUCKDB_ARN = f"arn:aws:lambda:us-east-1:000000000000:layer:{DUCKDB_LAYER}:1"
# The first function under another name: one that runs the stage that imports DuckDB.
DUCKDB_SPEC = dataclasses.replace(SPEC, stage=Stage.CURATION)
MINISTACK = Capabilities("MiniStack 1.5.33", layers_applied=True, tls=False, host_interpreter=True)
LOCALSTACK = Capabilities("LocalStack 4.14.0 (community)", layers_applied=False, tls=False)


@pytest.fixture(autouse=True)
def _archives(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fixed archives instead of zips built from the checkout."""
    monkeypatch.setattr(packaging, "build_layer", lambda: LAYER_ARCHIVE)
    monkeypatch.setattr(packaging, "build_function", lambda stage, bundle_layer=False, extra=(): ARCHIVE)


def configuration(**overrides: Any) -> dict[str, Any]:
    """A function's configuration as get_function returns it, as declared unless overridden."""
    found = {key: value for key, value in WANTED.items() if key != "Layers"}
    return {**found, "Layers": [{"Arn": LAYER_ARN}], "CodeSha256": packaging.code_sha256(ARCHIVE),
            "FunctionArn": ARN, "State": "Active", "LastUpdateStatus": "Successful", **overrides}


def expect_waiter(lam: Stubber) -> None:
    lam.add_response("get_function", {"Configuration": configuration()}, {"FunctionName": SPEC.name})


def expect_tags(lam: Stubber, found: dict[str, str]) -> None:
    lam.add_response("list_tags", {"Tags": found}, {"Resource": ARN})
    if found != TAGS:
        lam.add_response("tag_resource", {}, {"Resource": ARN, "Tags": {**found, **TAGS}})


def test_the_layer_is_published_only_when_its_content_changed() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    older = {"Version": 1, "Description": "lakebox shared library sha256:old", "LayerVersionArn": LAYER_ARN[:-1] + "1"}
    latest = {"Version": 2, "Description": LAYER_DESCRIPTION, "LayerVersionArn": LAYER_ARN}
    lam.add_response("list_layer_versions", {"LayerVersions": [latest, older]}, {"LayerName": NAMES.layer})
    lam.add_response("list_layer_versions", {"LayerVersions": [older]}, {"LayerName": NAMES.layer})
    lam.add_response("publish_layer_version", {"LayerVersionArn": LAYER_ARN, "Version": 2}, {
        "LayerName": NAMES.layer, "Description": LAYER_DESCRIPTION, "Content": {"ZipFile": LAYER_ARCHIVE},
        "CompatibleRuntimes": [RUNTIME, "python3.11"]})

    assert functions.apply_layer(stubs.context) == LAYER_ARN
    assert functions.apply_layer(stubs.context) == LAYER_ARN

    stubs.done()
    assert stubs.unchanged == [f"layer {NAMES.layer}"]
    assert stubs.changes == [("published", f"layer {NAMES.layer} version 2")]


def test_a_missing_function_is_created_once_its_role_can_be_assumed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The retry waits on a clock that moves only when asked to sleep.
    monkeypatch.setattr("lakebox_infra.provision.base.time", SimpleNamespace(monotonic=lambda: 0.0,
                                                                             sleep=lambda seconds: None))
    stubs = Stubs()
    lam = stubs("lambda")
    missing(lam, "get_function", "ResourceNotFoundException", {"FunctionName": SPEC.name})
    created = {**WANTED, "Code": {"ZipFile": ARCHIVE}}
    # A role just created is not yet assumable on AWS: the first attempt is refused.
    lam.add_client_error("create_function", service_error_code="InvalidParameterValueException",
                         http_status_code=400, expected_params=created)
    lam.add_response("create_function", {}, created)
    expect_waiter(lam)
    expect_tags(lam, {})

    functions.apply_function(stubs.context, SPEC, LAYER_ARN)

    stubs.done()
    assert WANTED["Handler"] == HANDLER and WANTED["TracingConfig"] == {"Mode": "Active"}
    assert stubs.changes == [("created", f"function {SPEC.name}"), ("set", f"tags of function {SPEC.name}")]


def test_a_function_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response("get_function", {"Configuration": configuration()}, {"FunctionName": SPEC.name})
    expect_tags(lam, TAGS)

    functions.apply_function(stubs.context, SPEC, LAYER_ARN)

    stubs.done()
    assert stubs.changes == []


def test_different_code_and_configuration_are_updated() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response("get_function", {"Configuration": configuration(CodeSha256="old", Timeout=3)},
                     {"FunctionName": SPEC.name})
    lam.add_response("update_function_code", {}, {"FunctionName": SPEC.name, "ZipFile": ARCHIVE})
    expect_waiter(lam)
    lam.add_response("update_function_configuration", {}, WANTED)
    expect_waiter(lam)
    expect_tags(lam, {"project": "other", "owner": "data"})

    functions.apply_function(stubs.context, SPEC, LAYER_ARN)

    stubs.done()
    assert stubs.changes == [("updated code of", f"function {SPEC.name}"),
                             ("updated configuration of", f"function {SPEC.name}"),
                             ("set", f"tags of function {SPEC.name}")]


def mappings(*found: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    return ("list_event_source_mappings", {"EventSourceMappings": list(found)},
            {"FunctionName": SPEC.name, "EventSourceArn": MAPPING["EventSourceArn"]})


def mapping(**overrides: Any) -> dict[str, Any]:
    declared = {k: v for k, v in MAPPING.items() if k not in functions.MAPPING_IDENTITY}
    return {"UUID": UUID, "State": "Enabled", **declared,
            **overrides}


def test_a_missing_mapping_is_created_enabled() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings())
    lam.add_response("create_event_source_mapping", {}, {**MAPPING, "Enabled": True})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("mapped", f"mapping {SPEC.queue} -> {SPEC.name}")]


def test_a_mapping_as_declared_is_left_alone() -> None:
    stubs = Stubs()
    stubs("lambda").add_response(*mappings(mapping()))

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == []


@pytest.mark.parametrize("found", [mapping(BatchSize=1), mapping(State="Disabled")], ids=["batch size", "disabled"])
def test_a_mapping_that_differs_is_updated_in_place(found: dict[str, Any]) -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response(*mappings(found))
    lam.add_response("update_event_source_mapping", {}, {
        "UUID": UUID, "Enabled": True, "BatchSize": MAPPING["BatchSize"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"], "ScalingConfig": MAPPING["ScalingConfig"]})

    functions.apply_event_source_mapping(stubs.context, SPEC)

    stubs.done()
    assert stubs.changes == [("updated", f"mapping {SPEC.queue} -> {SPEC.name}")]


def test_async_retries_are_set_when_missing_or_different_and_left_when_equal() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    asked = {"FunctionName": SPEC.name}
    missing(lam, "get_function_event_invoke_config", "ResourceNotFoundException", asked)
    lam.add_response("put_function_event_invoke_config", {}, INVOKE_CONFIG)
    found = {key: value for key, value in INVOKE_CONFIG.items() if key != "FunctionName"}
    lam.add_response("get_function_event_invoke_config", found, asked)
    lam.add_response("get_function_event_invoke_config", {**found, "MaximumRetryAttempts": 0}, asked)
    lam.add_response("put_function_event_invoke_config", {}, INVOKE_CONFIG)

    for _ in range(3):
        functions.apply_event_invoke_config(stubs.context, SPEC)

    stubs.done()
    assert [action for action, _ in stubs.changes] == ["set", "set"]
    assert stubs.unchanged == [f"async invoke config of {SPEC.name}"]


def test_teardown_deletes_mappings_then_the_function_then_the_layer() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response("list_event_source_mappings", {"EventSourceMappings": [mapping()]}, {"FunctionName": SPEC.name})
    lam.add_response("delete_event_source_mapping", {}, {"UUID": UUID})
    lam.add_response("delete_function", {}, {"FunctionName": SPEC.name})
    lam.add_response("list_layer_versions", {"LayerVersions": []}, {"LayerName": NAMES.layer})

    functions.teardown_function(stubs.context, SPEC)
    functions.teardown_layer(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"mapping {SPEC.queue} -> {SPEC.name}"), ("deleted", f"function {SPEC.name}")]
    assert stubs.unchanged == [f"layer {NAMES.layer} (absent)"]


@pytest.fixture
def duckdb_sources(monkeypatch: pytest.MonkeyPatch) -> list[duckdb_layer.Source]:
    """A fixed DuckDB layer archive instead of a build; records the source each build asked for."""
    asked: list[duckdb_layer.Source] = []

    def build(source: duckdb_layer.Source) -> bytes:
        asked.append(source)
        return DUCKDB_ARCHIVE

    monkeypatch.setattr(duckdb_layer, "build_duckdb_layer", build)
    return asked


def with_functions(monkeypatch: pytest.MonkeyPatch, *specs: FunctionSpec) -> None:
    """The topology declares `specs`, whatever functions it declares today."""
    monkeypatch.setattr(Topology, "functions", property(lambda self: list(specs)))


@pytest.mark.parametrize(("capabilities", "source"), [
    (AWS, duckdb_layer.Source.WHEEL), (LOCALSTACK, duckdb_layer.Source.WHEEL),
    (MINISTACK, duckdb_layer.Source.INSTALLED)], ids=["AWS", "LocalStack", "MiniStack"])
def test_the_duckdb_layer_is_published_when_absent_and_left_when_its_digest_matches(
        capabilities: Capabilities, source: duckdb_layer.Source, duckdb_sources: list[duckdb_layer.Source],
        monkeypatch: pytest.MonkeyPatch) -> None:
    with_functions(monkeypatch, SPEC, DUCKDB_SPEC)
    stubs = Stubs(capabilities)
    lam = stubs("lambda")
    description = (f"lakebox duckdb {duckdb_layer.installed_version()} ({source.value}) "
                   f"sha256:{packaging.code_sha256(DUCKDB_ARCHIVE)}")
    lam.add_response("list_layer_versions", {"LayerVersions": []}, {"LayerName": DUCKDB_LAYER})
    lam.add_response("publish_layer_version", {"LayerVersionArn": DUCKDB_ARN, "Version": 1}, {
        "LayerName": DUCKDB_LAYER, "Description": description, "Content": {"ZipFile": DUCKDB_ARCHIVE},
        "CompatibleRuntimes": [RUNTIME, "python3.11"]})
    found = {"Version": 1, "Description": description, "LayerVersionArn": DUCKDB_ARN}
    lam.add_response("list_layer_versions", {"LayerVersions": [found]}, {"LayerName": DUCKDB_LAYER})

    assert functions.apply_duckdb_layer(stubs.context) == DUCKDB_ARN
    assert functions.apply_duckdb_layer(stubs.context) == DUCKDB_ARN

    stubs.done()
    assert duckdb_sources == [source, source]
    assert stubs.changes == [("published", f"layer {DUCKDB_LAYER} version 1")]
    assert stubs.unchanged == [f"layer {DUCKDB_LAYER}"]


def test_a_duckdb_layer_whose_digest_differs_is_published_again(duckdb_sources: list[duckdb_layer.Source],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with_functions(monkeypatch, DUCKDB_SPEC)
    stubs = Stubs()
    lam = stubs("lambda")
    older = {"Version": 1, "Description": "lakebox duckdb 1.1.0 (wheel) sha256:old", "LayerVersionArn": DUCKDB_ARN}
    lam.add_response("list_layer_versions", {"LayerVersions": [older]}, {"LayerName": DUCKDB_LAYER})
    lam.add_response("publish_layer_version", {"LayerVersionArn": DUCKDB_ARN[:-1] + "2", "Version": 2}, {
        "LayerName": DUCKDB_LAYER, "Content": {"ZipFile": DUCKDB_ARCHIVE},
        "Description": f"lakebox duckdb {duckdb_layer.installed_version()} (wheel) "
                       f"sha256:{packaging.code_sha256(DUCKDB_ARCHIVE)}",
        "CompatibleRuntimes": [RUNTIME, "python3.11"]})

    assert functions.apply_duckdb_layer(stubs.context) == DUCKDB_ARN[:-1] + "2"

    stubs.done()
    assert stubs.changes == [("published", f"layer {DUCKDB_LAYER} version 2")]


def test_no_duckdb_layer_is_built_when_no_function_imports_duckdb(duckdb_sources: list[duckdb_layer.Source],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with_functions(monkeypatch, SPEC)
    stubs = Stubs()
    stubs("lambda")

    assert functions.apply_duckdb_layer(stubs.context) is None

    stubs.done()
    assert duckdb_sources == []
    assert stubs.changes == [] and stubs.unchanged == []


def test_the_duckdb_layer_is_attached_after_the_shared_one_only_where_the_spec_asks() -> None:
    context = Stubs().context

    assert functions.function_config(context, DUCKDB_SPEC, LAYER_ARN, DUCKDB_ARN)["Layers"] == [LAYER_ARN, DUCKDB_ARN]
    assert functions.function_config(context, SPEC, LAYER_ARN, DUCKDB_ARN)["Layers"] == [LAYER_ARN]
    with pytest.raises(ProvisioningError, match="DuckDB"):
        functions.function_config(context, DUCKDB_SPEC, LAYER_ARN)


def test_a_duckdb_function_is_created_with_both_layers() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    wanted = functions.function_config(stubs.context, DUCKDB_SPEC, LAYER_ARN, DUCKDB_ARN)
    missing(lam, "get_function", "ResourceNotFoundException", {"FunctionName": SPEC.name})
    lam.add_response("create_function", {}, {**wanted, "Code": {"ZipFile": ARCHIVE}})
    expect_waiter(lam)
    expect_tags(lam, TAGS)

    functions.apply_function(stubs.context, DUCKDB_SPEC, LAYER_ARN, DUCKDB_ARN)

    stubs.done()
    assert wanted["Layers"] == [LAYER_ARN, DUCKDB_ARN]
    assert stubs.changes == [("created", f"function {SPEC.name}")]


@pytest.mark.parametrize(("capabilities", "spec", "bundled"), [
    (AWS, DUCKDB_SPEC, False), (MINISTACK, DUCKDB_SPEC, False), (LOCALSTACK, SPEC, False),
    (LOCALSTACK, DUCKDB_SPEC, True)], ids=["AWS", "MiniStack", "LocalStack without duckdb", "LocalStack"])
def test_duckdb_files_are_bundled_only_where_layers_are_not_applied(
        capabilities: Capabilities, spec: FunctionSpec, bundled: bool,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engine = tmp_path / "_duckdb.abi3.so"
    asked: list[duckdb_layer.Source] = []
    built: list[list[tuple[str, Path]]] = []

    def entries(source: duckdb_layer.Source) -> list[tuple[str, Path]]:
        asked.append(source)
        return [("python/_duckdb.abi3.so", engine)]

    def build(stage: str, bundle_layer: bool = False, extra: list[tuple[str, Path]] | None = None) -> bytes:
        built.append(list(extra or []))
        return ARCHIVE

    monkeypatch.setattr(duckdb_layer, "layer_entries", entries)
    monkeypatch.setattr(packaging, "build_function", build)
    stubs = Stubs(capabilities)
    lam = stubs("lambda")
    wanted = functions.function_config(stubs.context, spec, LAYER_ARN, DUCKDB_ARN)
    found = {**configuration(), **{key: value for key, value in wanted.items() if key != "Layers"}}
    lam.add_response("get_function", {"Configuration": {**found, "Layers": [
        {"Arn": arn} for arn in wanted["Layers"]]}}, {"FunctionName": SPEC.name})
    expect_tags(lam, TAGS)

    functions.apply_function(stubs.context, spec, LAYER_ARN, DUCKDB_ARN)

    stubs.done()
    assert built == [[("_duckdb.abi3.so", engine)] if bundled else []]
    assert asked == ([duckdb_layer.Source.WHEEL] if bundled else [])


def test_teardown_deletes_every_version_of_the_duckdb_layer() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    lam.add_response("list_layer_versions", {"LayerVersions": [{"Version": 1}, {"Version": 2}]},
                     {"LayerName": DUCKDB_LAYER})
    lam.add_response("delete_layer_version", {}, {"LayerName": DUCKDB_LAYER, "VersionNumber": 1})
    lam.add_response("delete_layer_version", {}, {"LayerName": DUCKDB_LAYER, "VersionNumber": 2})
    lam.add_response("list_layer_versions", {"LayerVersions": []}, {"LayerName": DUCKDB_LAYER})

    functions.teardown_duckdb_layer(stubs.context)
    functions.teardown_duckdb_layer(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"layer {DUCKDB_LAYER}")]
    assert stubs.unchanged == [f"layer {DUCKDB_LAYER} (absent)"]
