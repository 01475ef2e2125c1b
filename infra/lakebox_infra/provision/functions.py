"""The shared layer, the native layers (DuckDB's, cryptography's), the stage functions, their queue triggers and
their asynchronous retries."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from lakebox_infra import native_layers, packaging
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.provision.base import Context, absent, current, ensure, retry
from lakebox_infra.provision.tags import ensure_tags
from lakebox_infra.topology import HANDLER, RUNTIME, FunctionSpec
from lakebox_layer.adapters.health import HealthStore
from lakebox_layer.circuits import State
from lakebox_layer.settings import ENV_NAMES

# A function is active a moment after it is created or changed (about 0.5 s on MiniStack, seconds on AWS): poll
# every quarter second, for up to two minutes, rather than sleep a whole second after the first look.
WAIT: dict[str, float] = {"Delay": 0.25, "MaxAttempts": 480}
# What a mapping declares that cannot be compared or changed in place: which function reads what, from where.
MAPPING_IDENTITY = ("FunctionName", "EventSourceArn", "StartingPosition")
LIVE_MAPPING_STATES = (None, "Enabled", "Enabling", "Creating", "Updating")
# A function is wired while it may still be Pending (it is waited for after): on AWS a call Lambda refuses until it
# is Active answers ResourceConflictException, and one whose role is not yet assumable InvalidParameterValueException.
WIRING_RETRIES = frozenset({"InvalidParameterValueException", "ResourceConflictException"})
# A layer zip larger than this is published from the processed bucket, staged under the prefix for the call.
STAGED_LAYER_BYTES = 8 * 1024 * 1024
STAGING_PREFIX = "lakebox-staging/layers"
# Zips built at once: the largest (DuckDB's layer) takes about a second, the rest less than half.
PACKAGE_BUILDERS = 3


def warn_bundled_layer(ctx: Context) -> None:
    """Say once per run that the layer's files are bundled into each function, where the endpoint needs it."""
    if ctx.capabilities.bundle_layer:
        ctx.report.warn(
            f"{ctx.capabilities.emulator} does not apply Lambda layers at invoke time: the layer is still "
            "published and attached, and its files are also bundled into each function's zip"
        )


def build_packages(ctx: Context) -> None:
    """Build every zip the run publishes (the shared layer, the native layers, each function's) at once, into the
    package cache the publishing steps then read them from: zlib compresses outside the interpreter's lock, so the
    builds overlap one another and the calls the other steps make. Each zip already cached is only looked up."""
    source = native_source(ctx)
    builds: list[Callable[[], bytes]] = [packaging.build_layer]
    builds += [partial(native_layers.build_layer, layer, source) for layer in declared_layers(ctx)]
    builds += [partial(_function_zip, ctx, spec) for spec in ctx.topology.functions]
    with ThreadPoolExecutor(PACKAGE_BUILDERS, thread_name_prefix="package") as pool:
        list(pool.map(lambda build: build(), builds))


def _function_zip(ctx: Context, spec: FunctionSpec) -> bytes:
    """The function's zip; where the endpoint does not apply layers, their files (its native layers' too) in it."""
    bundle = ctx.capabilities.bundle_layer
    extra = _bundled_native(ctx, spec) if bundle else []
    return packaging.build_function(spec.component, bundle_layer=bundle, extra=extra)


def apply_layer(ctx: Context) -> str:
    """Publish the shared library as a new layer version when its content changed; return the version's ARN."""
    archive = packaging.build_layer()
    return _publish_layer(ctx, ctx.names.layer, "lakebox shared library", archive)


def native_source(ctx: Context) -> native_layers.Source:
    """Compiled code built for the emulator's own interpreter where functions run on it, else the declared
    runtime's."""
    return native_layers.source_for(ctx.capabilities.host_interpreter)


def declared_layers(ctx: Context) -> list[native_layers.NativeLayer]:
    """Each native layer some function declares, once, in the order they are first declared."""
    declared = dict.fromkeys(name for spec in ctx.topology.functions for name in spec.native_layers)
    return [native_layers.named(name) for name in declared]


def apply_native_layers(ctx: Context) -> dict[str, str]:
    """Publish each native layer a function imports, once however many import it, when its content changed; the
    versions' ARNs by the layers' names (none when no function needs one)."""
    source = native_source(ctx)
    arns = {}
    for layer in declared_layers(ctx):
        archive = native_layers.build_layer(layer, source)
        what = f"lakebox {layer.describe()} ({source.value})"
        arns[layer.name] = _publish_layer(ctx, layer.layer_name(ctx.names), what, archive)
    return arns


def _publish_layer(ctx: Context, layer: str, what: str, archive: bytes) -> str:
    lam = ctx.client("lambda")
    # A layer version cannot be read back as a zip: its description carries the content's digest instead.
    digest = packaging.code_sha256(archive)
    description = f"{what} sha256:{digest}"
    versions = lam.list_layer_versions(LayerName=layer).get("LayerVersions", [])
    latest = max(versions, key=lambda v: v["Version"], default=None)
    if latest and latest.get("Description") == description:
        ctx.report.same(f"layer {layer}")
        return str(latest["LayerVersionArn"])
    with _layer_content(ctx, layer, archive, digest) as content:
        published = lam.publish_layer_version(LayerName=layer, Description=description, Content=content,
                                              CompatibleRuntimes=[RUNTIME, "python3.11"])
    ctx.report.changed("published", f"layer {layer} version {published['Version']}")
    return str(published["LayerVersionArn"])


@contextmanager
def _layer_content(ctx: Context, layer: str, archive: bytes, digest: str) -> Iterator[dict[str, Any]]:
    """The layer version's content: a small zip in the request, a large one staged in the processed bucket for the
    publish and removed after it, under a key named by the layer and its `digest` (a request carries the zip
    base64-encoded in JSON, which costs the caller and the endpoint a third of a second for DuckDB's)."""
    if len(archive) <= STAGED_LAYER_BYTES:
        yield {"ZipFile": archive}
        return
    s3, bucket = ctx.client("s3"), ctx.names.processed_bucket
    key = f"{STAGING_PREFIX}/{layer}-{base64.b64decode(digest).hex()[:16]}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=archive)
    try:
        yield {"S3Bucket": bucket, "S3Key": key}
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def function_config(ctx: Context, spec: FunctionSpec, layer_arn: str,
                    native_layer_arns: Mapping[str, str] | None = None) -> dict[str, Any]:
    """update_function_configuration arguments, and the shape a function's configuration is compared in. A function
    that imports compiled code gets its native layers after the shared one, in the order its stage declares them."""
    layers = [layer_arn]
    for name in spec.native_layers:
        if (arn := (native_layer_arns or {}).get(name)) is None:
            title = native_layers.named(name).title
            raise ProvisioningError(f"function {spec.name} imports {title}, and no {title} layer was published")
        layers.append(arn)
    return {
        "FunctionName": spec.name,
        "Runtime": RUNTIME,
        "Role": ctx.topology.role_arn(spec.role),
        "Handler": HANDLER,
        "Description": spec.description,
        "Timeout": spec.timeout,
        "MemorySize": spec.memory,
        "EphemeralStorage": {"Size": spec.tmp},
        "Environment": {"Variables": function_environment(ctx, spec)},
        "TracingConfig": {"Mode": "Active"},
        "Layers": layers,
    }


def function_environment(ctx: Context, spec: FunctionSpec) -> dict[str, str]:
    """The function's settings; the stream batcher's say to hold young batches back for the batching window where
    the endpoint's mapping ignores it."""
    environment = ctx.topology.function_environment(spec.component)
    if spec.queue is None and not ctx.capabilities.batching_window:
        environment[ENV_NAMES["stream_hold_s"]] = str(ctx.topology.settings.stream_window_s)
    return environment


def _bundled_native(ctx: Context, spec: FunctionSpec) -> list[tuple[str, Path]]:
    """The files of the function's native layers at its zip's root, as the shared layer's are bundled."""
    source = native_source(ctx)
    return [(name.removeprefix("python/"), path) for layer in spec.native_layers
            for name, path in native_layers.layer_entries(native_layers.named(layer), source)]


def _comparable_config(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "FunctionName": found["FunctionName"],
        "Runtime": found.get("Runtime"),
        "Role": found.get("Role"),
        "Handler": found.get("Handler"),
        "Description": found.get("Description", ""),
        "Timeout": found.get("Timeout"),
        "MemorySize": found.get("MemorySize"),
        "EphemeralStorage": {"Size": found.get("EphemeralStorage", {}).get("Size", 512)},
        "Environment": {"Variables": found.get("Environment", {}).get("Variables", {})},
        "TracingConfig": {"Mode": found.get("TracingConfig", {}).get("Mode")},
        "Layers": [layer["Arn"] for layer in found.get("Layers", [])],
    }


def _wait(ctx: Context, name: str, waiter: str) -> None:
    ctx.client("lambda").get_waiter(waiter).wait(FunctionName=name, WaiterConfig=WAIT)


def apply_functions(ctx: Context, specs: Sequence[FunctionSpec], layer_arn: str,
                    native_layer_arns: Mapping[str, str] | None = None, wait: bool = True) -> list[str]:
    """Every function, as :func:`apply_function` makes it; the names of those created. Lambda creates a function
    Pending: each one created is waited for only once all are created, so that their waits overlap instead of adding
    up; with `wait` False, not at all (the caller then waits with :func:`wait_active`)."""
    created = [spec.name for spec in specs if apply_function(ctx, spec, layer_arn, native_layer_arns, wait=False)]
    if wait:
        wait_active(ctx, created)
    return created


def wait_active(ctx: Context, names: Sequence[str]) -> None:
    """Wait for each function named to be Active."""
    for name in names:
        _wait(ctx, name, "function_active_v2")


def apply_function(ctx: Context, spec: FunctionSpec, layer_arn: str,
                   native_layer_arns: Mapping[str, str] | None = None, wait: bool = True) -> bool:
    """Create the function, or update its code and its configuration where they differ; then its tags. Where the
    endpoint does not apply layers, their files go into the zip too (its native layers' as well). Whether it was
    created; one created is Active on return unless `wait` is False."""
    lam = ctx.client("lambda")
    archive = _function_zip(ctx, spec)
    wanted = function_config(ctx, spec, layer_arn, native_layer_arns)
    found = current(lambda: lam.get_function(FunctionName=spec.name)["Configuration"])
    if found is None:
        # On AWS a new role takes seconds to become assumable: retry only that error, with a deadline.
        retry(lambda: lam.create_function(**wanted, Code={"ZipFile": archive}),
              retry_on={"InvalidParameterValueException"}, what=f"creating function {spec.name}")
        if wait:
            _wait(ctx, spec.name, "function_active_v2")
        ctx.report.changed("created", f"function {spec.name}")
    else:
        if found.get("CodeSha256") != packaging.code_sha256(archive):
            lam.update_function_code(FunctionName=spec.name, ZipFile=archive)
            _wait(ctx, spec.name, "function_updated_v2")
            ctx.report.changed("updated code of", f"function {spec.name}")

        def update(_: object) -> None:
            retry(lambda: lam.update_function_configuration(**wanted),
                  retry_on={"InvalidParameterValueException", "ResourceConflictException"},
                  what=f"configuring function {spec.name}")
            _wait(ctx, spec.name, "function_updated_v2")

        ensure(ctx, f"function {spec.name}", lambda: _comparable_config(found), wanted, update,
               "updated configuration of")
    arn = ctx.topology.function_arn(spec.name)
    ensure_tags(ctx, "functions", f"function {spec.name}", lambda: dict(lam.list_tags(Resource=arn)["Tags"]),
                lambda tags: lam.tag_resource(Resource=arn, Tags=tags))
    return found is None


def _source(spec: FunctionSpec) -> str:
    return spec.queue or "the ingest stream"


def apply_event_source_mapping(ctx: Context, spec: FunctionSpec) -> None:
    """The function reads its stage's queue, or the ingest stream; a mapping that differs is updated in place."""
    lam = ctx.client("lambda")
    wanted = ctx.topology.event_source_mapping(spec)
    fields = [key for key in wanted if key not in MAPPING_IDENTITY]
    mappings = lam.list_event_source_mappings(
        FunctionName=spec.name, EventSourceArn=wanted["EventSourceArn"]).get("EventSourceMappings", [])

    # A stage whose circuit is open stays paused: enabling its mapping would close the circuit behind the healer's
    # back (`lakebox resume` closes it).
    live = not (mappings and paused(ctx, spec))

    def read() -> dict[str, Any] | None:
        if not mappings:
            return None
        # A disabled mapping differs whatever its settings: it reads nothing.
        return {"live": mappings[0].get("State") in LIVE_MAPPING_STATES,
                **{key: mappings[0].get(key) for key in fields}}

    def write(found: dict[str, Any] | None) -> None:
        if found is None:
            retry(lambda: lam.create_event_source_mapping(**wanted, Enabled=True),
                  retry_on=WIRING_RETRIES, what=f"mapping {_source(spec)} to {spec.name}")
            return
        lam.update_event_source_mapping(UUID=mappings[0]["UUID"], Enabled=live, **{key: wanted[key] for key in fields})

    ensure(ctx, f"mapping {_source(spec)} -> {spec.name}" + ("" if live else " (paused: its circuit is open)"), read,
           {"live": live, **{key: wanted[key] for key in fields}}, write,
           lambda found: "mapped" if found is None else "updated")


def paused(ctx: Context, spec: FunctionSpec) -> bool:
    """Whether the stage's circuit is open (the healer or `lakebox pause` paused it)."""
    circuit = HealthStore(ctx.client("dynamodb"), ctx.names.metadata_table).circuit(spec.stage.value)
    return circuit.state is State.OPEN


def apply_event_invoke_config(ctx: Context, spec: FunctionSpec) -> None:
    """Asynchronous invocations: bounded retries and age, then the dead-letter queue."""
    lam = ctx.client("lambda")
    wanted = ctx.topology.event_invoke_config(spec)
    compared = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def read() -> dict[str, Any]:
        found = lam.get_function_event_invoke_config(FunctionName=spec.name)
        return {key: found.get(key, {} if key == "DestinationConfig" else None) for key in compared}

    ensure(ctx, f"async invoke config of {spec.name}", read, {key: wanted[key] for key in compared},
           lambda _: retry(lambda: lam.put_function_event_invoke_config(**wanted),
                           retry_on=WIRING_RETRIES, what=f"configuring retries of {spec.name}"))


def teardown_function(ctx: Context, spec: FunctionSpec) -> None:
    """Delete the function's queue mappings, then the function."""
    lam = ctx.client("lambda")
    absent(ctx, f"mapping {_source(spec)} -> {spec.name}", partial(_delete_mappings, ctx, spec.name))
    absent(ctx, f"function {spec.name}", partial(lam.delete_function, FunctionName=spec.name))


def teardown_layer(ctx: Context) -> None:
    """Delete every version of the shared layer."""
    absent(ctx, f"layer {ctx.names.layer}", partial(_delete_layer_versions, ctx, ctx.names.layer))


def teardown_native_layers(ctx: Context) -> None:
    """Delete every version of each native layer lakebox defines, whether or not a stage still declares it."""
    for layer in native_layers.LAYERS.values():
        name = layer.layer_name(ctx.names)
        absent(ctx, f"layer {name}", partial(_delete_layer_versions, ctx, name))


# The names the provisioner calls these steps by, from when DuckDB's was the only native layer.
def _delete_mappings(ctx: Context, function: str) -> bool:
    lam = ctx.client("lambda")
    mappings = lam.list_event_source_mappings(FunctionName=function).get("EventSourceMappings", [])
    for mapping in mappings:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return bool(mappings)


def _delete_layer_versions(ctx: Context, layer: str) -> bool:
    lam = ctx.client("lambda")
    versions = lam.list_layer_versions(LayerName=layer).get("LayerVersions", [])
    for version in versions:
        lam.delete_layer_version(LayerName=layer, VersionNumber=version["Version"])
    return bool(versions)
