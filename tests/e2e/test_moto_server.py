"""Bootstrap on moto's server, a second implementation of the AWS APIs: provisioning and teardown each succeed twice,
the second time with no changes, and a service the endpoint does not offer is skipped with one warning per run.

The test starts its own server (`python -m moto.server`, from the dev dependencies) on a free port of 127.0.0.1,
runs `infra/bootstrap.py` against it as a subprocess, as an operator would, and stops the server whatever happens.
Nothing is provisioned in the session's MiniStack (the test asks for no `lake`).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import boto3
import pytest
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.compat import HTTPHeaders

from lakebox.polling import wait_until
from lakebox_infra.provision import Provisioner, Report
from lakebox_layer.settings import ResourceNames

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REGION = "us-east-1"
# moto's server answers in about 2 s; the first bootstrap in about 10 s (more when the DuckDB wheel for the declared
# runtime is not cached yet and is downloaded first).
START_DEADLINE_S = 30.0
RUN_TIMEOUT_S = 300
# What bootstrap says when it skips something the endpoint does not offer (base.offered), or cannot tag
# (tags.ensure_tags): the service or kind each names.
SKIPPED = re.compile(r" does not offer (?P<what>.+?) \([^)]*\): ")
UNTAGGED = re.compile(r" cannot tag (?P<what>.+?) \([^)]*\): ")


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: where it answers, and the log it writes."""

    endpoint: str
    log: Path


@dataclass(frozen=True)
class Run:
    """One bootstrap run: its exit code and what it logged, a line per record."""

    returncode: int
    lines: list[str]

    @property
    def summary(self) -> str:
        return self.lines[-1] if self.lines else ""

    def skipped(self) -> Counter[str]:
        """How many lines name each service skipped or kind left untagged."""
        return Counter(match["what"] for line in self.lines
                       for match in (SKIPPED.search(line), UNTAGGED.search(line)) if match)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def answers(endpoint: str) -> bool:
    """Whether moto's own API answers at `endpoint`."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) or "(log is empty)"
    except OSError:
        return "(no log)"


@pytest.fixture(scope="module")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's server on a free port of 127.0.0.1, answering; stopped afterwards, whatever happened."""
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    port = free_port()
    endpoint = f"http://{HOST}:{port}"
    # The caller's AWS identity and endpoint stay out of the server's environment.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    with log.open("wb") as output:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                                  stdout=output, stderr=subprocess.STDOUT, env=environment)
    try:
        wait_until(lambda: server.poll() is not None or answers(endpoint), deadline_s=START_DEADLINE_S,
                   what=f"moto's server to answer at {endpoint}/moto-api/",
                   on_timeout=lambda: f"; its log ({log}):\n{tail(log)}")
        if server.poll() is not None:
            raise RuntimeError(f"moto's server exited with {server.returncode} before answering; its log:\n{tail(log)}")
        yield MotoServer(endpoint, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def bootstrap(server: MotoServer, project: str, *args: str) -> Run:
    """`python infra/bootstrap.py` against the server, as an operator runs it."""
    # Only the caller's AWS and lakebox settings are left out: the rest (HOME, where pip and lakebox cache the
    # runtime's DuckDB wheel, and any proxy pip needs to fetch it) is kept.
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "LAKEBOX_"))}
    environment |= {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": REGION, "LAKEBOX_PROJECT": project}
    done = subprocess.run([sys.executable, str(ROOT / "infra" / "bootstrap.py"), *args], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    return Run(done.returncode, done.stderr.splitlines())


def assert_clean(run: Run, what: str, *, changed: bool, server: MotoServer) -> None:
    """The run succeeded, and its summary says it changed something, or nothing."""
    assert run.returncode == 0, f"{what} failed:\n" + "\n".join(run.lines) + f"\nmoto's log:\n{tail(server.log)}"
    if changed:
        assert not run.summary.startswith("no changes"), f"{what} changed nothing:\n" + "\n".join(run.lines)
    else:
        assert run.summary.startswith("no changes"), f"{what} changed something:\n" + "\n".join(run.lines)


def assert_one_warning_each(run: Run, what: str) -> None:
    """Each service skipped (or kind left untagged) is named by one line, not one per resource."""
    repeated = {name: count for name, count in run.skipped().items() if count > 1}
    assert not repeated, f"{what} warned more than once about {repeated}:\n" + "\n".join(run.lines)


def test_bootstrap_and_teardown_on_moto_are_clean_and_idempotent(moto_server: MotoServer) -> None:
    project = f"moto-{uuid.uuid4().hex[:8]}"
    names = ResourceNames(project, "123456789012", REGION)  # moto's default account

    first = bootstrap(moto_server, project)
    assert_clean(first, "the first bootstrap", changed=True, server=moto_server)
    assert_one_warning_each(first, "the first bootstrap")
    created = f"created athena workgroup {names.athena_workgroup}" in first.lines
    assert created != ("Athena" in first.skipped()), "Athena is neither provisioned nor skipped with one warning"

    second = bootstrap(moto_server, project)
    assert_clean(second, "the second bootstrap", changed=False, server=moto_server)
    assert_one_warning_each(second, "the second bootstrap")
    assert second.skipped() == first.skipped()

    teardown = bootstrap(moto_server, project, "--teardown")
    assert_clean(teardown, "the first teardown", changed=True, server=moto_server)
    assert_one_warning_each(teardown, "the first teardown")
    again = bootstrap(moto_server, project, "--teardown")
    assert_clean(again, "the second teardown", changed=False, server=moto_server)
    assert_one_warning_each(again, "the second teardown")

    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
    buckets = session.client("s3", endpoint_url=moto_server.endpoint).list_buckets().get("Buckets", [])
    functions = session.client("lambda", endpoint_url=moto_server.endpoint).list_functions().get("Functions", [])
    left = [bucket["Name"] for bucket in buckets] + [function["FunctionName"] for function in functions]
    assert [name for name in left if name.startswith(project)] == []


class _Body:
    """A raw HTTP body as botocore reads one."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.content


def not_yet_implemented(request: AWSRequest, **_: object) -> AWSResponse:
    """What moto's mock answers for an operation it lacks (moto/core/botocore_stubber.py): a bare 404."""
    return AWSResponse(str(request.url), 404, HTTPHeaders(), _Body(b"Not yet implemented"))


def test_an_endpoint_that_cannot_list_workgroups_gets_no_athena_and_one_warning(moto_server: MotoServer) -> None:
    """moto's server has Athena; answered as moto's mock answers an operation it lacks, ListWorkGroups makes the
    endpoint one without Athena, and everything else is still provisioned and removed idempotently."""
    project = f"moto-{uuid.uuid4().hex[:8]}"

    def run(step: str) -> Report:
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION)
        # A before-send handler answers in the endpoint's place (botocore's stubs type handlers as returning None).
        session.events.register("before-send.athena.ListWorkGroups",
                                cast("Callable[..., None]", not_yet_implemented))
        provisioner = Provisioner.connect(project, REGION, moto_server.endpoint, session=session)
        report: Report = getattr(provisioner, step)()
        return report

    reports = [run(step) for step in ("apply", "apply", "teardown", "teardown")]

    for report in reports:
        athena = [warning for warning in report.warnings if " does not offer Athena " in warning]
        assert athena == ["moto's server does not offer Athena (404): the workgroup is skipped, and `lakebox query` "
                          "will not work there"], report.warnings
        assert not any("athena" in resource for _, resource in report.changes), report.changes
    first_apply, second_apply, first_teardown, second_teardown = reports
    assert first_apply.changes and first_teardown.changes
    assert second_apply.changes == second_teardown.changes == []
