"""The boto3 calls that make :class:`lakebox_infra.topology.Topology` real, and remove it again.

One module per kind of resource (storage, table, iam, keys, functions, queues, streams, events, catalog,
lake_formation, analytics, monitoring), each with its apply and teardown steps. Every step reads first and writes
only what differs (:func:`base.ensure`), so a second run reports no changes. The same calls run against AWS and
against an emulator; only the endpoint differs. Waits use boto3 waiters or a bounded poll.
"""

from __future__ import annotations

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
    keys,
    lake_formation,
    monitoring,
    queues,
    schedule,
    storage,
    streams,
    table,
)
from lakebox_infra.provision.base import Context, Report, retry
from lakebox_infra.session import session_for
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames

__all__ = ["Provisioner", "Report", "retry"]


class Provisioner:
    """Applies or tears down a topology through one boto3 session."""

    def __init__(self, topology: Topology, session: boto3.Session, endpoint_url: str | None = None,
                 capabilities: Capabilities | None = None) -> None:
        self.context = Context(topology, session, endpoint_url, capabilities or detect(endpoint_url))

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
        """Make every resource of the topology exist as declared; a second run changes nothing."""
        ctx = self.context
        topology = ctx.topology
        storage.warn_without_tls(ctx)
        functions.warn_bundled_layer(ctx)
        for bucket in topology.buckets:
            storage.apply_bucket(ctx, bucket)
        table.apply_table(ctx)
        table.apply_contracts(ctx)
        table.apply_lake_settings(ctx)
        # The steward first: the personal-data key's policy names it.
        iam.apply_user(ctx, ctx.names.steward, topology.steward_policy)
        keys.apply_keys(ctx)
        for function in topology.functions:
            iam.apply_role(ctx, function.role, "lambda.amazonaws.com", function.policy)
        layer_arn = functions.apply_layer(ctx)
        native_layer_arns = functions.apply_native_layers(ctx)
        functions.apply_functions(ctx, topology.functions, layer_arn, native_layer_arns)
        events.apply_bus(ctx)
        for queue in topology.queues.values():
            queues.apply_queue(ctx, queue)
        streams.apply_stream(ctx)
        for function in topology.functions:
            if function.declared.mapped:
                functions.apply_event_source_mapping(ctx, function)
            functions.apply_event_invoke_config(ctx, function)
        schedule.apply_schedule(ctx)
        # The alerts topic before the rules: one of them notifies it.
        monitoring.apply_monitoring(ctx)
        for rule in topology.rules:
            events.apply_rule(ctx, rule)
        storage.apply_notification(ctx)
        catalog.apply_catalog(ctx)
        lake_formation.apply_lake_formation(ctx)
        analytics.apply_workgroup(ctx)
        comprehend.apply_free_text_check(ctx)
        return ctx.report

    def teardown(self) -> Report:
        """Remove everything apply creates, emptying buckets first; safe to run again."""
        ctx = self.context
        monitoring.teardown_monitoring(ctx)
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
