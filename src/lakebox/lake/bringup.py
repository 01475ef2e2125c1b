"""`lakebox up`'s work: make sure an emulator answers, start the embedded one if needed, provision, and under
enforced IAM issue the operator's and the steward's keys. Also what `up` prints about the result."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from lakebox.emulator.embedded import DEFAULT_PORT, EmbeddedEmulator, EmulatorState, healthy, saved_port
from lakebox.emulator.identities import IDENTITIES, issue_credentials
from lakebox.exceptions import EmulatorError
from lakebox.lake import applied
from lakebox.lake.target import Target, default_project, default_region, state_dir
from lakebox_infra import native_layers, project_root
from lakebox_infra.capabilities import Capabilities, ministack
from lakebox_infra.provision import Provisioner, build_ahead
from lakebox_infra.provision.ingest_api import find_url
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames, Settings

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    """Progress goes nowhere unless the caller passes somewhere to say it."""


def emulator_port(given: int | None, saved: int | None) -> int | None:
    """The port to start the embedded emulator on; None for any free port.

    `given` is `--port` as the user typed it: None when absent, 0 for any free port. A persisted state's `saved`
    port is kept unless the user named another port, since MiniStack's saved state (queue URLs) names that port.
    """
    if given is None:
        return saved if saved is not None else DEFAULT_PORT
    if given == 0:
        return saved
    return given


def bring_up(port: int | None = None, persist: Path | None = None, strict_iam: bool = False,
             say: Say = _quiet, verify: bool = False) -> Target:
    """Make sure an emulator answers, provision the topology there, and return the target.

    With AWS_ENDPOINT_URL set, that emulator must answer; otherwise the embedded one recorded in the state
    directory is reused or started (`port` as `emulator_port` reads it). With `strict_iam` the embedded emulator
    enforces IAM, and the operator's and the steward's fresh keys are recorded for the other commands to act as.
    An embedded emulator this checkout provisioned with nothing changed since is left as it is, unless `verify`
    (see :mod:`lakebox.lake.applied`).
    """
    # Refuse before starting anything: no checkout to provision from, or a setting that cannot be used.
    project_root()
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
    region = default_region()
    ResourceNames.check(default_project(), region)
    overrides = Settings.bootstrap_overrides()
    state: EmulatorState | None = None  # the embedded emulator's, when it is the one provisioned
    ahead: Future[Capabilities] | None = None
    if endpoint is not None:
        if not healthy(endpoint):
            raise EmulatorError(f"nothing answers at AWS_ENDPOINT_URL={endpoint}; start your emulator or unset it")
        say(f"using the emulator at {endpoint} (AWS_ENDPOINT_URL)")
    else:
        saved = saved_port(persist) if persist is not None else None
        wanted = emulator_port(port, saved)
        if saved is not None and wanted != saved:
            say(f"warning: the state kept in {persist} was saved on port {saved}; its queue URLs name that port")
        emulator = EmbeddedEmulator(state_dir())
        # An emulator about to start is provisioned in full: its packages are built meanwhile.
        ahead = build_ahead(ministack(), default_project(), region) if emulator.state() is None else None
        state, started = emulator.start(port=wanted, region=region, persist_dir=persist, strict_iam=strict_iam)
        endpoint, region = state.endpoint, state.region
        verb = "started" if started else "reusing"
        say(f"{verb} the embedded emulator (MiniStack) at {endpoint}, pid {state.pid}, log {state.log_file}")
    target = Target.at(endpoint, region)
    key = applied.declared_key(state) if state is not None else ""
    last = _unchanged(state, key, strict_iam) if state is not None and not verify else None
    if last is not None:
        for warning in last.warnings:
            say(f"  {warning}")
        say(f"  no changes: nothing declared has changed since {last.at}, when all {last.resources} resources were "
            "as declared (`lakebox up --verify` reads and compares each)")
        return target
    say(f"provisioning {target.project} at {endpoint}")
    topology = Topology(target.names, settings_overrides=overrides)
    provisioner = Provisioner(topology, target.session, endpoint, built_ahead=ahead)
    report = provisioner.apply()
    say(f"  {report.summary()}")
    if strict_iam and state is not None:
        emulator = EmbeddedEmulator(state_dir())
        for identity in IDENTITIES:
            emulator.record_credentials(identity, issue_credentials(provisioner.client("iam"), topology, identity))
        say(f"  IAM is enforced: lakebox acts as the user {target.names.operator} "
            f"({target.names.steward} with LAKEBOX_IDENTITY=steward)")
    if state is not None:
        applied.remember(state_dir(), key, state, len(report.changes) + len(report.unchanged), report.warnings)
    return target


def _unchanged(state: EmulatorState, key: str, strict_iam: bool) -> applied.Applied | None:
    """The record of the last full run when it still holds for this emulator process and this checkout (and, under
    enforced IAM, the identities' keys are still recorded): then there is nothing to change."""
    last = applied.recorded(state_dir())
    if last is None or not last.holds_for(key, state) or strict_iam != state.strict_iam:
        return None
    if strict_iam and not all(EmbeddedEmulator(state_dir()).credentials(identity) for identity in IDENTITIES):
        return None
    return last


def describe(target: Target) -> dict[str, Any]:
    """Where everything is: what `lakebox up` prints (and `--json` as one object)."""
    names = target.names
    topology = Topology(names)
    return {
        "endpoint": target.endpoint,
        "region": target.region,
        "project": target.project,
        "raw_bucket": names.raw_bucket,
        "processed_bucket": names.processed_bucket,
        "quarantine_bucket": names.quarantine_bucket,
        "metadata_table": names.metadata_table,
        "event_bus": names.event_bus,
        "ingest_stream": names.ingest_stream,
        "ingest_api": find_url(target.clients.client("apigatewayv2"), names, target.endpoint),
        "functions": [function.name for function in topology.functions],
        "layers": [names.layer, *(layer.layer_name(names) for layer in native_layers.LAYERS.values())],
        "layer": names.layer,
        "glue_database": names.glue_database,
        "athena_workgroup": names.athena_workgroup,
        "alerts_topic": topology.alerts_topic_arn,
        "quality_events_queue": names.quality_events_queue,
        "dead_letter_queue": names.dead_letter_queue,
    }
