"""A provisioning context whose clients answer from botocore Stubbers, shared by the test_provision_* modules."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from lakebox_infra.capabilities import Capabilities
from lakebox_infra.provision.base import Context
from lakebox_infra.topology import Topology
from lakebox_layer.settings import ResourceNames

NAMES = ResourceNames("lakebox", "000000000000", "us-east-1")
TOPOLOGY = Topology(NAMES)
TAGS = TOPOLOGY.resource_tags
TAG_LIST = [{"Key": key, "Value": value} for key, value in TAGS.items()]
AWS = Capabilities("AWS", layers_applied=True, tls=True)
PLAIN_HTTP = Capabilities("MiniStack 1.5.33", layers_applied=True, tls=False)


class Stubs:
    """One stubbed client per service behind a fresh context; `done` checks every expected call was made."""

    def __init__(self, capabilities: Capabilities = AWS, topology: Topology = TOPOLOGY) -> None:
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        self.context = Context(topology, session, None, capabilities)
        self._stubbers: dict[str, Stubber] = {}

    def __call__(self, service: str) -> Stubber:
        """The activated Stubber of the context's `service` client."""
        if service not in self._stubbers:
            stubber = Stubber(self.context.client(service))
            stubber.activate()
            self._stubbers[service] = stubber
        return self._stubbers[service]

    def done(self) -> None:
        """Fail unless every stubbed response was consumed; then release the clients."""
        for stubber in self._stubbers.values():
            stubber.assert_no_pending_responses()
            stubber.deactivate()

    @property
    def changes(self) -> list[tuple[str, str]]:
        return self.context.report.changes

    @property
    def unchanged(self) -> list[str]:
        return self.context.report.unchanged


def missing(stubber: Stubber, operation: str, code: str, expected: dict[str, Any], status: int = 404) -> None:
    """Expect `operation` with `expected` parameters, answered by a not-found error."""
    stubber.add_client_error(operation, service_error_code=code, http_status_code=status, expected_params=expected)
