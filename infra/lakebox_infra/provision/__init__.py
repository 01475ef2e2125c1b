"""The boto3 calls that make :class:`lakebox_infra.topology.Topology` real, and remove it again.

One module per kind of resource (storage, table, iam, keys, functions, queues, streams, events, catalog,
lake_formation, analytics, monitoring, ingest_api), each with its apply and teardown steps. Every step reads first
and writes only what differs (:func:`base.ensure`), so a second run reports no changes. `apply` runs its steps at
once where they do not depend on each other (:data:`APPLY_STEPS`). The same calls run against AWS and against an
emulator; only the endpoint differs. Waits use boto3 waiters or a bounded poll.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3

from lakebox_infra.capabilities import Capabilities, detect
from lakebox_infra.provision import (
    analytics,
    catalog,
    comprehend,
    events,
    functions,
    iam,
    ingest_api,
    keys,
    lake_formation,
    monitoring,
    queues,
    schedule,
    storage,
    streams,
    table,
)
from lakebox_infra.provision.base import Context, Done, Report, in_order, retry
from lakebox_infra.session import session_for
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames

__all__ = ["APPLY_STEPS", "Provisioner", "Report", "build_ahead", "retry"]
PLACEHOLDER_ACCOUNT = "000000000000"

# The steps of `apply`, each with the steps it needs done first. Each is a method `_<step>` of the provisioner.
APPLY_STEPS: dict[str, tuple[str, ...]] = {
    "packages": (),  # every zip built (or found in the cache) at once, before anything is published
    "buckets": (),
    "table": (),
    "identities": (),  # the steward, the keys (whose policy names it), the functions' roles
    "layer": ("packages",),
    "native_layers": ("packages", "buckets"),  # a large layer is published from the processed bucket
    "plumbing": (),  # the event bus, the queues, the ingest stream
    "catalog": (),
    "monitoring": (),  # the alerts topic, the alarms, the dashboard
    "functions": ("identities", "layer", "native_layers"),  # created, not yet waited for
    "triggers": ("functions", "plumbing"),  # the mappings, the asynchronous retries, the healer's schedule
    "rules": ("functions", "plumbing", "monitoring"),  # one of them notifies the alerts topic
    "active": ("functions", "triggers", "rules"),  # each function created is waited for, once wired
    "notification": ("buckets",),
    "lake_formation": ("buckets", "catalog", "identities"),  # grants to the steward and the curation role
    "workgroup": ("buckets",),
    "free_text_check": (),
    "ingest_api": ("functions",),  # API Gateway's permission names the functions
}


def build_ahead(capabilities: Capabilities, project: str, region: str) -> Future[Capabilities]:
    """Start building every package for an endpoint known to have `capabilities`, before its account is known (no
    package depends on it: the names here are placeholders), on a thread of its own; give the future to the
    :class:`Provisioner`. `lakebox up` starts it before the embedded emulator it starts."""
    names = ResourceNames(project=project, account=PLACEHOLDER_ACCOUNT, region=region)
    context = Context(Topology(names), boto3.Session(region_name=region), None, capabilities)

    def build() -> Capabilities:
        functions.build_packages(context)
        return capabilities

    builder = ThreadPoolExecutor(1, thread_name_prefix="build-ahead")
    try:
        return builder.submit(build)
    finally:
        builder.shutdown(wait=False)


class Provisioner:
    """Applies or tears down a topology through one boto3 session."""

    def __init__(self, topology: Topology, session: boto3.Session, endpoint_url: str | None = None,
                 capabilities: Capabilities | None = None, built_ahead: Future[Capabilities] | None = None) -> None:
        self.context = Context(topology, session, endpoint_url, capabilities or detect(endpoint_url))
        # The packages being built already (see `build_ahead`): the packages step waits for them.
        self.built_ahead = built_ahead

    @classmethod
    def connect(cls, project: str, region: str, endpoint_url: str | None,
                session: boto3.Session | None = None, **topology_args: Any) -> Provisioner:
        """A provisioner for `project` in the account the session's credentials belong to."""
        session = session or session_for(endpoint_url, region)
        sts = session.client("sts", region_name=region, endpoint_url=endpoint_url)
        account = sts.get_caller_identity()["Account"]
        names = ResourceNames(project=project, account=account, region=region)
        return cls(Topology(names, **topology_args), session, endpoint_url)

    @property
    def topology(self) -> Topology:
        return self.context.topology

    @property
    def names(self) -> ResourceNames:
        return self.context.names

    @property
    def session(self) -> boto3.Session:
        return self.context.session

    @property
    def endpoint_url(self) -> str | None:
        return self.context.endpoint_url

    @property
    def capabilities(self) -> Capabilities:
        return self.context.capabilities

    @property
    def report(self) -> Report:
        return self.context.report

    def client(self, service: str) -> Any:
        """The run's client for `service`."""
        return self.context.client(service)

    def apply(self) -> Report:
        """Make every resource of the topology exist as declared; a second run changes nothing.

        The steps of :data:`APPLY_STEPS` run at once, each as soon as the steps it needs are done."""
        storage.warn_without_tls(self.context)
        functions.warn_bundled_layer(self.context)
        in_order(APPLY_STEPS, lambda step, done: getattr(self, f"_{step}")(done))
        return self.context.report

    def _packages(self, _: Done) -> None:
        if self.built_ahead is not None:
            ahead, here = self.built_ahead.result(), self.capabilities
            if (ahead.bundle_layer, ahead.host_interpreter) == (here.bundle_layer, here.host_interpreter):
                return
        functions.build_packages(self.context)

    def _buckets(self, _: Done) -> None:
        for bucket in self.topology.buckets:
            storage.apply_bucket(self.context, bucket)

    def _table(self, _: Done) -> None:
        table.apply_table(self.context)
        table.apply_contracts(self.context)
        table.apply_lake_settings(self.context)

    def _identities(self, _: Done) -> None:
        ctx = self.context
        # The steward first: the personal-data key's policy names it.
        iam.apply_user(ctx, ctx.names.steward, ctx.topology.steward_policy)
        keys.apply_keys(ctx)
        for function in ctx.topology.functions:
            iam.apply_role(ctx, function.role, "lambda.amazonaws.com", function.policy)

    def _layer(self, _: Done) -> str:
        return functions.apply_layer(self.context)

    def _native_layers(self, _: Done) -> dict[str, str]:
        return functions.apply_native_layers(self.context)

    def _plumbing(self, _: Done) -> None:
        events.apply_bus(self.context)
        for queue in self.topology.queues.values():
            queues.apply_queue(self.context, queue)
        streams.apply_stream(self.context)

    def _catalog(self, _: Done) -> None:
        catalog.apply_catalog(self.context)

    def _monitoring(self, _: Done) -> None:
        monitoring.apply_monitoring(self.context)

    def _functions(self, done: Done) -> list[str]:
        return functions.apply_functions(self.context, self.topology.functions, done["layer"], done["native_layers"],
                                         wait=False)

    def _active(self, done: Done) -> None:
        functions.wait_active(self.context, done["functions"])

    def _triggers(self, _: Done) -> None:
        ctx = self.context
        for function in ctx.topology.functions:
            if function.declared.mapped:
                functions.apply_event_source_mapping(ctx, function)
            functions.apply_event_invoke_config(ctx, function)
        schedule.apply_schedule(ctx)

    def _rules(self, _: Done) -> None:
        for rule in self.topology.rules:
            events.apply_rule(self.context, rule)

    def _notification(self, _: Done) -> None:
        storage.apply_notification(self.context)

    def _lake_formation(self, _: Done) -> None:
        lake_formation.apply_lake_formation(self.context)

    def _workgroup(self, _: Done) -> None:
        analytics.apply_workgroup(self.context)

    def _free_text_check(self, _: Done) -> None:
        comprehend.apply_free_text_check(self.context)

    def _ingest_api(self, _: Done) -> str | None:
        return ingest_api.apply_ingest_api(self.context)

    def teardown(self) -> Report:
        """Remove everything apply creates, emptying buckets first; safe to run again."""
        ctx = self.context
        monitoring.teardown_monitoring(ctx)
        ingest_api.teardown_ingest_api(ctx)
        schedule.teardown_schedule(ctx)
        events.teardown_rules(ctx)
        events.teardown_bus(ctx)
        for function in ctx.topology.functions:
            functions.teardown_function(ctx, function)
        functions.teardown_layer(ctx)
        functions.teardown_native_layers(ctx)
        queues.teardown_queues(ctx)
        streams.teardown_stream(ctx)
        analytics.teardown_workgroup(ctx)
        lake_formation.teardown_lake_formation(ctx)
        catalog.teardown_catalog(ctx)
        table.teardown_table(ctx)
        storage.teardown_buckets(ctx)
        keys.teardown_keys(ctx)
        iam.teardown_roles(ctx)
        iam.teardown_users(ctx)
        return ctx.report
