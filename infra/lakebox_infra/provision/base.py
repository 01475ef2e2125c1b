"""What every resource kind shares: the run's context and report, the one read-compare-write step, retries, and the
teardown step that counts "already gone" as done."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Set
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from lakebox_infra.capabilities import Capabilities
from lakebox_infra.exceptions import ProvisioningError
from lakebox_infra.topology import Topology, canonical
from lakebox_layer.adapters.errors import cannot_list, error_code, missing, unavailable
from lakebox_layer.settings import ResourceNames

log = logging.getLogger("lakebox.bootstrap")
T = TypeVar("T")


@dataclass
class Report:
    """What a run did, resource by resource."""

    changes: list[tuple[str, str]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def changed(self, action: str, resource: str) -> None:
        """Record a write: what was done ("created", "set", ...) to which resource."""
        self.changes.append((action, resource))
        log.info("%s %s", action, resource)

    def same(self, resource: str) -> None:
        """Record a resource found already as declared."""
        self.unchanged.append(resource)
        log.debug("unchanged %s", resource)

    def warn(self, message: str) -> None:
        """Record something the run could not do as declared, and why."""
        self.warnings.append(message)
        log.warning(message)

    def summary(self) -> str:
        """One line: how many resources changed, or that none did."""
        if not self.changes:
            return f"no changes: all {len(self.unchanged)} resources already as declared"
        return f"{len(self.changes)} changed, {len(self.unchanged)} unchanged"


def retry(call: Callable[[], T], *, retry_on: Set[str], what: str, deadline_s: float = 90.0) -> T:
    """Retry a call while it fails with one of `retry_on` (IAM propagation on AWS), until a deadline."""
    deadline = time.monotonic() + deadline_s
    delay = 1.0
    while True:
        try:
            return call()
        except ClientError as error:
            if error_code(error) not in retry_on or time.monotonic() + delay > deadline:
                raise ProvisioningError(f"{what}: {error_code(error)}: {error}") from error
            log.info("%s: %s, retrying in %.0f s", what, error_code(error), delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


@dataclass
class Context:
    """One run: the topology, the endpoint and what it can do, the report, and one client per service."""

    topology: Topology
    session: boto3.Session
    endpoint_url: str | None
    capabilities: Capabilities
    report: Report = field(default_factory=Report)
    clients: dict[str, Any] = field(default_factory=dict)
    # Resource kinds the endpoint cannot tag: warned about once, then left untagged.
    untaggable: set[str] = field(default_factory=set)
    # Clients are made one at a time: a session is not thread-safe (its clients are), and steps run at once.
    _clients_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def names(self) -> ResourceNames:
        return self.topology.names

    def client(self, service: str) -> Any:
        """The run's client for `service`, built on first use."""
        with self._clients_lock:
            if service not in self.clients:
                self.clients[service] = self.session.client(  # type: ignore[call-overload]
                    service, region_name=self.names.region, endpoint_url=self.endpoint_url,
                )
            return self.clients[service]


Done = Mapping[str, Any]


def in_order(steps: Mapping[str, tuple[str, ...]], run: Callable[[str, Done], Any]) -> dict[str, Any]:
    """Run every step, each on a thread of its own as soon as the steps it needs are done: `run(step, done)`, with
    what the steps done so far returned. Returns what each returned. A step whose needs failed does not run; when
    every step has ended, the first failure in the steps' order is raised."""
    seen: set[str] = set()
    for step, needs in steps.items():
        if not seen.issuperset(needs):
            raise ValueError(f"step {step} needs {', '.join(sorted(set(needs) - seen))}, which must come before it")
        seen.add(step)
    with ThreadPoolExecutor(len(steps), thread_name_prefix="provision") as pool:
        futures: dict[str, Future[Any]] = {}

        def after(step: str) -> Any:
            done = {need: futures[need].result() for need in steps[step]}
            return run(step, done)

        for step in steps:  # a step's needs come before it, so their futures exist when it asks
            futures[step] = pool.submit(after, step)
    return {step: future.result() for step, future in futures.items()}


def offered(ctx: Context, service: str, listing: Callable[[], T], skipped: str) -> T | None:
    """What `listing` returns (a call that lists the service's resources); or None, with one warning saying what is
    `skipped`, when the endpoint cannot list them: an endpoint that cannot list a service's resources does not offer
    the service (see :func:`lakebox_layer.adapters.errors.cannot_list`)."""
    try:
        return listing()
    except ClientError as error:
        if not cannot_list(error):
            raise
        ctx.report.warn(f"{ctx.capabilities.emulator} does not offer {service} ({error_code(error)}): {skipped}")
        return None


def current(read: Callable[[], T | None]) -> T | None:
    """What `read` returns, or None when the resource or setting it reads does not exist."""
    try:
        return read()
    except ClientError as error:
        if not missing(error):
            raise
        return None


def same(found: Any, wanted: Any) -> bool:
    """Whether a value read back equals the wanted one; documents (dicts, lists) compare as canonical JSON."""
    if found is None:
        return False
    if isinstance(wanted, dict | list):
        return canonical(found) == canonical(wanted)
    return bool(found == wanted)


def ensure(ctx: Context, what: str, read: Callable[[], T | None], wanted: Any, write: Callable[[T | None], object],
           action: str | Callable[[T | None], str] = "set") -> bool:
    """Read `what` as it is (None when missing), and write it only when it differs from `wanted`; report which.

    `read` returns the resource in the shape of `wanted`; `write` gets what was read (None: create it); `action`
    names the write in the report, or says how from what was read. Returns whether anything was written.
    """
    found = current(read)
    if same(found, wanted):
        ctx.report.same(what)
        return False
    write(found)
    ctx.report.changed(action(found) if callable(action) else action, what)
    return True


def absent(ctx: Context, resource: str, delete: Callable[[], object]) -> None:
    """Delete a resource; one already gone (or a service the endpoint lacks) counts as absent, not as a failure.
    `delete` returns False when it found nothing to delete."""
    try:
        result = delete()
    except ClientError as error:
        if missing(error) or unavailable(error):
            ctx.report.same(f"{resource} (absent)")
            return
        raise
    if result is False:
        ctx.report.same(f"{resource} (absent)")
    else:
        ctx.report.changed("deleted", resource)
