"""The layer, the functions and their asynchronous retries: created when missing, left alone when as declared,
updated in place when they differ (their mappings: test_provision_mappings.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.stub import Stubber

from lakebox_infra import native_layers, packaging
from lakebox_infra.capabilities import Capabilities
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.native_layers import installed_version as version
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
INVOKE_CONFIG = TOPOLOGY.event_invoke_config(SPEC)
UUID = "00000000-0000-4000-8000-000000000000"
# The native layers (DuckDB's, cryptography's), attached to the functions whose stage declares them.
NATIVE_ARCHIVES = {name: f"PK {name} layer archive".encode() for name in native_layers.LAYERS}
NATIVE_LAYERS = {name: f"{NAMES.project}-{name}" for name in native_layers.LAYERS}
NATIVE_ARNS = {name: f"arn:aws:lambda:us-east-1:000000000000:layer:{layer}:1" for name, layer in NATIVE_LAYERS.items()}
DUCKDB_LAYER, CRYPTOGRAPHY_LAYER = NATIVE_LAYERS["duckdb"], NATIVE_LAYERS["cryptography"]
DUCKDB_ARN, CRYPTOGRAPHY_ARN = NATIVE_ARNS["duckdb"], NATIVE_ARNS["cryptography"]
# The first function under another name: one that runs the stage that imports DuckDB and cryptography.
CURATION_SPEC = dataclasses.replace(SPEC, stage=Stage.CURATION)
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
    assert WANTED["EphemeralStorage"] == {"Size": SPEC.tmp}
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
    lam.add_response("list_event_source_mappings", {"EventSourceMappings": [{"UUID": UUID, "State": "Enabled"}]},
                     {"FunctionName": SPEC.name})
    lam.add_response("delete_event_source_mapping", {}, {"UUID": UUID})
    lam.add_response("delete_function", {}, {"FunctionName": SPEC.name})
    lam.add_response("list_layer_versions", {"LayerVersions": []}, {"LayerName": NAMES.layer})

    functions.teardown_function(stubs.context, SPEC)
    functions.teardown_layer(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"mapping {SPEC.queue} -> {SPEC.name}"), ("deleted", f"function {SPEC.name}")]
    assert stubs.unchanged == [f"layer {NAMES.layer} (absent)"]


@pytest.fixture
def native_builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, native_layers.Source]]:
    """Fixed native layer archives instead of builds; records the layer and source each build asked for."""
    asked: list[tuple[str, native_layers.Source]] = []

    def build(layer: native_layers.NativeLayer, source: native_layers.Source) -> bytes:
        asked.append((layer.name, source))
        return NATIVE_ARCHIVES[layer.name]

    monkeypatch.setattr(native_layers, "build_layer", build)
    return asked


def with_functions(monkeypatch: pytest.MonkeyPatch, *specs: FunctionSpec) -> None:
    """The topology declares `specs`, whatever functions it declares today."""
    monkeypatch.setattr(Topology, "functions", property(lambda self: list(specs)))


def native_description(name: str, source: str) -> str:
    """What a native layer's version says of itself ("lakebox cryptography 51.0.1, cffi 2.1.1 (wheel) sha256:...")."""
    what = ", ".join(f"{dist} {version(dist)}" for dist in native_layers.LAYERS[name].distributions)
    return f"lakebox {what} ({source}) sha256:{packaging.code_sha256(NATIVE_ARCHIVES[name])}"


def expect_versions(lam: Stubber, name: str, *descriptions: str) -> None:
    """The native layer's versions listed: one per description, numbered from 1."""
    found = [{"Version": number, "Description": description, "LayerVersionArn": f"{NATIVE_ARNS[name][:-1]}{number}"}
             for number, description in enumerate(descriptions, 1)]
    lam.add_response("list_layer_versions", {"LayerVersions": found}, {"LayerName": NATIVE_LAYERS[name]})


def expect_publish(lam: Stubber, name: str, source: str, number: int = 1) -> None:
    published = {"LayerVersionArn": f"{NATIVE_ARNS[name][:-1]}{number}", "Version": number}
    lam.add_response("publish_layer_version", published, {
        "LayerName": NATIVE_LAYERS[name], "Description": native_description(name, source),
        "Content": {"ZipFile": NATIVE_ARCHIVES[name]}, "CompatibleRuntimes": [RUNTIME, "python3.11"]})


@pytest.mark.parametrize(("capabilities", "source"), [
    (AWS, native_layers.Source.WHEEL), (LOCALSTACK, native_layers.Source.WHEEL),
    (MINISTACK, native_layers.Source.INSTALLED)], ids=["AWS", "LocalStack", "MiniStack"])
def test_the_native_layers_are_published_when_absent_and_left_when_their_digests_match(
        capabilities: Capabilities, source: native_layers.Source,
        native_builds: list[tuple[str, native_layers.Source]], monkeypatch: pytest.MonkeyPatch) -> None:
    # Two functions declare them: each layer is still built and published once per run.
    with_functions(monkeypatch, SPEC, CURATION_SPEC, dataclasses.replace(CURATION_SPEC, name="lakebox-other"))
    stubs = Stubs(capabilities)
    lam = stubs("lambda")
    for name in ("duckdb", "cryptography"):
        expect_versions(lam, name)
        expect_publish(lam, name, source.value)
    for name in ("duckdb", "cryptography"):
        expect_versions(lam, name, native_description(name, source.value))

    assert functions.apply_native_layers(stubs.context) == NATIVE_ARNS
    assert functions.apply_native_layers(stubs.context) == NATIVE_ARNS

    stubs.done()
    assert native_builds == [("duckdb", source), ("cryptography", source)] * 2
    assert stubs.changes == [("published", f"layer {layer} version 1") for layer in (DUCKDB_LAYER, CRYPTOGRAPHY_LAYER)]
    assert stubs.unchanged == [f"layer {DUCKDB_LAYER}", f"layer {CRYPTOGRAPHY_LAYER}"]


def test_only_a_native_layer_whose_digest_differs_is_published_again(
        native_builds: list[tuple[str, native_layers.Source]], monkeypatch: pytest.MonkeyPatch) -> None:
    with_functions(monkeypatch, CURATION_SPEC)
    stubs = Stubs()
    lam = stubs("lambda")
    expect_versions(lam, "duckdb", "lakebox duckdb 1.1.0 (wheel) sha256:old")
    expect_publish(lam, "duckdb", "wheel", number=2)
    expect_versions(lam, "cryptography", native_description("cryptography", "wheel"))

    assert functions.apply_native_layers(stubs.context) == {**NATIVE_ARNS, "duckdb": DUCKDB_ARN[:-1] + "2"}

    stubs.done()
    assert stubs.changes == [("published", f"layer {DUCKDB_LAYER} version 2")]
    assert stubs.unchanged == [f"layer {CRYPTOGRAPHY_LAYER}"]
    # DuckDB's layer describes itself as it did when it was the only native layer.
    assert native_description("duckdb", "wheel").startswith(f"lakebox duckdb {version('duckdb')} (wheel) sha256:")


def test_no_native_layer_is_built_when_no_function_declares_one(
        native_builds: list[tuple[str, native_layers.Source]], monkeypatch: pytest.MonkeyPatch) -> None:
    with_functions(monkeypatch, SPEC)
    stubs = Stubs()
    stubs("lambda")

    assert functions.apply_native_layers(stubs.context) == {}

    stubs.done()
    assert native_builds == []
    assert stubs.changes == [] and stubs.unchanged == []


def test_the_native_layers_are_attached_after_the_shared_one_only_where_the_spec_asks() -> None:
    context = Stubs().context

    assert CURATION_SPEC.native_layers == ("duckdb", "cryptography") and SPEC.native_layers == ()
    assert functions.function_config(context, CURATION_SPEC, LAYER_ARN, NATIVE_ARNS)["Layers"] == [
        LAYER_ARN, DUCKDB_ARN, CRYPTOGRAPHY_ARN]
    assert functions.function_config(context, SPEC, LAYER_ARN, NATIVE_ARNS)["Layers"] == [LAYER_ARN]
    with pytest.raises(ProvisioningError, match="imports DuckDB, and no DuckDB layer was published"):
        functions.function_config(context, CURATION_SPEC, LAYER_ARN)
    with pytest.raises(ProvisioningError, match="imports cryptography, and no cryptography layer was published"):
        functions.function_config(context, CURATION_SPEC, LAYER_ARN, {"duckdb": DUCKDB_ARN})


def test_a_curation_function_is_created_with_all_its_layers() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    wanted = functions.function_config(stubs.context, CURATION_SPEC, LAYER_ARN, NATIVE_ARNS)
    missing(lam, "get_function", "ResourceNotFoundException", {"FunctionName": SPEC.name})
    lam.add_response("create_function", {}, {**wanted, "Code": {"ZipFile": ARCHIVE}})
    expect_waiter(lam)
    expect_tags(lam, TAGS)

    functions.apply_function(stubs.context, CURATION_SPEC, LAYER_ARN, NATIVE_ARNS)

    stubs.done()
    assert wanted["Layers"] == [LAYER_ARN, DUCKDB_ARN, CRYPTOGRAPHY_ARN]
    assert stubs.changes == [("created", f"function {SPEC.name}")]


@pytest.mark.parametrize(("capabilities", "spec", "bundled"), [
    (AWS, CURATION_SPEC, False), (MINISTACK, CURATION_SPEC, False), (LOCALSTACK, SPEC, False),
    (LOCALSTACK, CURATION_SPEC, True)], ids=["AWS", "MiniStack", "LocalStack without native layers", "LocalStack"])
def test_native_layer_files_are_bundled_only_where_layers_are_not_applied(
        capabilities: Capabilities, spec: FunctionSpec, bundled: bool,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    engines = {"duckdb": tmp_path / "_duckdb.abi3.so", "cryptography": tmp_path / "_rust.abi3.so"}
    asked: list[tuple[str, native_layers.Source]] = []
    built: list[list[tuple[str, Path]]] = []

    def entries(layer: native_layers.NativeLayer, source: native_layers.Source) -> list[tuple[str, Path]]:
        asked.append((layer.name, source))
        return [(f"python/{engines[layer.name].name}", engines[layer.name])]

    def build(stage: str, bundle_layer: bool = False, extra: list[tuple[str, Path]] | None = None) -> bytes:
        built.append(list(extra or []))
        return ARCHIVE

    monkeypatch.setattr(native_layers, "layer_entries", entries)
    monkeypatch.setattr(packaging, "build_function", build)
    stubs = Stubs(capabilities)
    lam = stubs("lambda")
    wanted = functions.function_config(stubs.context, spec, LAYER_ARN, NATIVE_ARNS)
    found = {**configuration(), **{key: value for key, value in wanted.items() if key != "Layers"}}
    lam.add_response("get_function", {"Configuration": {**found, "Layers": [
        {"Arn": arn} for arn in wanted["Layers"]]}}, {"FunctionName": SPEC.name})
    expect_tags(lam, TAGS)

    functions.apply_function(stubs.context, spec, LAYER_ARN, NATIVE_ARNS)

    stubs.done()
    assert built == [[(path.name, path) for path in engines.values()] if bundled else []]
    assert asked == [(name, native_layers.Source.WHEEL) for name in engines if bundled]


def test_teardown_deletes_every_version_of_each_native_layer() -> None:
    stubs = Stubs()
    lam = stubs("lambda")
    expect_versions(lam, "duckdb", "", "")
    lam.add_response("delete_layer_version", {}, {"LayerName": DUCKDB_LAYER, "VersionNumber": 1})
    lam.add_response("delete_layer_version", {}, {"LayerName": DUCKDB_LAYER, "VersionNumber": 2})
    expect_versions(lam, "cryptography")
    expect_versions(lam, "duckdb")
    expect_versions(lam, "cryptography", "")
    lam.add_response("delete_layer_version", {}, {"LayerName": CRYPTOGRAPHY_LAYER, "VersionNumber": 1})

    functions.teardown_native_layers(stubs.context)
    functions.teardown_native_layers(stubs.context)

    stubs.done()
    assert stubs.changes == [("deleted", f"layer {DUCKDB_LAYER}"), ("deleted", f"layer {CRYPTOGRAPHY_LAYER}")]
    assert stubs.unchanged == [f"layer {CRYPTOGRAPHY_LAYER} (absent)", f"layer {DUCKDB_LAYER} (absent)"]


def test_functions_created_are_waited_for_once_all_are_created() -> None:
    """Lambda creates a function Pending: the second is created before the first is waited for."""
    stubs = Stubs()
    lam = stubs("lambda")
    specs = [SPEC, dataclasses.replace(SPEC, stage=Stage.QUALITY)]
    for spec in specs:
        wanted = functions.function_config(stubs.context, spec, LAYER_ARN)
        missing(lam, "get_function", "ResourceNotFoundException", {"FunctionName": spec.name})
        lam.add_response("create_function", {}, {**wanted, "Code": {"ZipFile": ARCHIVE}})
        arn = TOPOLOGY.function_arn(spec.name)
        lam.add_response("list_tags", {"Tags": TAGS}, {"Resource": arn})
    for spec in specs:
        lam.add_response("get_function", {"Configuration": configuration(FunctionName=spec.name)},
                         {"FunctionName": spec.name})

    functions.apply_functions(stubs.context, specs, LAYER_ARN)

    stubs.done()
    assert stubs.changes == [("created", f"function {spec.name}") for spec in specs]
