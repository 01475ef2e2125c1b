"""`apply` runs its steps at once, each as soon as the steps it needs are done (`in_order` over `APPLY_STEPS`); the
packages built ahead of the emulator are waited for, not built again; a large layer is published from the processed
bucket, where it is staged only for the call."""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import Future
from typing import Any

import pytest
from botocore.stub import ANY

from lakebox_infra import packaging
from lakebox_infra.capabilities import Capabilities, ministack
from lakebox_infra.provision import APPLY_STEPS, Provisioner, functions
from lakebox_infra.provision.base import Done, in_order
from lakebox_infra.topology import RUNTIME
from tests.fakes.provision import AWS, NAMES, TOPOLOGY, Stubs

WAIT_S = 5.0


def test_independent_steps_run_at_once_and_a_step_after_its_needs() -> None:
    both_running = threading.Barrier(2, timeout=WAIT_S)  # broken unless the two steps run at the same time
    finished: list[str] = []

    def run(step: str, done: Done) -> str:
        if step in ("a", "b"):
            both_running.wait()
        else:
            assert set(done) == {"a", "b"} and set(finished) == {"a", "b"}, (step, done, finished)
        finished.append(step)
        return step.upper()

    assert in_order({"a": (), "b": (), "c": ("a", "b")}, run) == {"a": "A", "b": "B", "c": "C"}
    assert finished[-1] == "c"


def test_a_failed_step_stops_what_needs_it_and_is_raised_once_every_step_has_ended() -> None:
    ran: list[str] = []

    def run(step: str, _: Done) -> None:
        if step == "slow":
            time.sleep(0.2)  # still running when the failure happens: it must be let finish
        ran.append(step)
        if step in ("broken", "also_broken"):
            raise RuntimeError(f"{step} failed")

    with pytest.raises(RuntimeError, match=r"^broken failed$"):
        in_order({"broken": (), "slow": (), "after_broken": ("broken",), "also_broken": ()}, run)

    assert sorted(ran) == ["also_broken", "broken", "slow"]


def test_a_step_must_come_after_the_steps_it_needs() -> None:
    with pytest.raises(ValueError, match="step a needs b, which must come before it"):
        in_order({"a": ("b",), "b": ()}, lambda step, done: None)


def _before(step: str) -> set[str]:
    """Every step that ends before `step` starts."""
    needs = set(APPLY_STEPS[step])
    return needs.union(*(_before(need) for need in APPLY_STEPS[step]))


@pytest.mark.parametrize(("step", "after"), [
    ("functions", {"identities", "layer", "native_layers", "packages"}),  # roles, keys and layers exist
    ("native_layers", {"buckets"}),  # a large layer is staged in the processed bucket
    ("triggers", {"functions", "plumbing"}),  # mappings read the queues and the stream
    ("rules", {"functions", "plumbing", "monitoring"}),  # a rule notifies the alerts topic
    ("active", {"functions", "triggers", "rules"}),
    ("lake_formation", {"buckets", "catalog", "identities"}),  # it grants to the steward and the curation role
    ("notification", {"buckets"}),
])
def test_apply_steps_wait_for_what_they_use(step: str, after: set[str]) -> None:
    assert after <= _before(step)


def test_every_apply_step_is_a_method_of_the_provisioner() -> None:
    assert all(callable(getattr(Provisioner, f"_{step}", None)) for step in APPLY_STEPS)
    in_order(APPLY_STEPS, lambda step, done: None)  # declared in an order it can run in


def _provisioner(capabilities: Capabilities, ahead: Future[Capabilities] | None) -> Provisioner:
    return Provisioner(TOPOLOGY, Stubs().context.session, None, capabilities=capabilities, built_ahead=ahead)


@pytest.mark.parametrize(("ahead_for", "builds"), [(ministack(), 0), (AWS, 1), (None, 1)],
                         ids=["built ahead for it", "built ahead for another endpoint", "nothing built ahead"])
def test_the_packages_step_waits_for_those_built_ahead_for_the_same_endpoint(
        monkeypatch: pytest.MonkeyPatch, ahead_for: Capabilities | None, builds: int) -> None:
    built: list[Any] = []
    monkeypatch.setattr(functions, "build_packages", built.append)
    ahead: Future[Capabilities] | None = None
    if ahead_for is not None:
        ahead = Future()
        threading.Timer(0.05, ahead.set_result, [ahead_for]).start()

    _provisioner(ministack("1.5.33"), ahead)._packages({})

    assert len(built) == builds
    assert ahead is None or ahead.done()


def test_a_failure_building_ahead_is_the_packages_steps() -> None:
    ahead: Future[Capabilities] = Future()
    ahead.set_exception(FileNotFoundError("no handler for function 'ingestion'"))

    with pytest.raises(FileNotFoundError, match="no handler"):
        _provisioner(ministack(), ahead)._packages({})


LARGE = b"PK" + bytes(64)


@pytest.mark.parametrize("publish_fails", [False, True])
def test_a_large_layer_is_published_from_the_processed_bucket_and_unstaged(
        monkeypatch: pytest.MonkeyPatch, publish_fails: bool) -> None:
    monkeypatch.setattr(functions, "STAGED_LAYER_BYTES", len(LARGE) - 1)
    stubs = Stubs()
    lam, s3 = stubs("lambda"), stubs("s3")
    description = f"lakebox shared library sha256:{packaging.code_sha256(LARGE)}"
    lam.add_response("list_layer_versions", {"LayerVersions": []}, {"LayerName": NAMES.layer})
    staged = {"Bucket": NAMES.processed_bucket, "Key": ANY}
    s3.add_response("put_object", {}, {**staged, "Body": LARGE})
    content = {"S3Bucket": NAMES.processed_bucket, "S3Key": ANY}
    published = {"LayerName": NAMES.layer, "Description": description, "Content": content,
                 "CompatibleRuntimes": [RUNTIME, "python3.11"]}
    if publish_fails:
        lam.add_client_error("publish_layer_version", service_error_code="ServiceException", http_status_code=500,
                             expected_params=published)
    else:
        lam.add_response("publish_layer_version", {"LayerVersionArn": "arn:layer:1", "Version": 1}, published)
    s3.add_response("delete_object", {}, staged)
    monkeypatch.setattr(packaging, "build_layer", lambda: LARGE)

    if publish_fails:
        with pytest.raises(Exception, match="ServiceException"):
            functions.apply_layer(stubs.context)
    else:
        assert functions.apply_layer(stubs.context) == "arn:layer:1"

    stubs.done()  # staged, then removed whether or not the publish went through


def test_the_staged_key_names_the_layer_and_its_content(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(functions, "STAGED_LAYER_BYTES", 0)
    keys: list[str] = []

    class S3:
        def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:
            keys.append(Key)

        def delete_object(self, Bucket: str, Key: str) -> None:
            assert Key == keys[-1]

    stubs = Stubs()
    monkeypatch.setattr(stubs.context, "client", lambda service: S3())
    with functions._layer_content(stubs.context, "lakebox-duckdb", LARGE, packaging.code_sha256(LARGE)) as content:
        assert content == {"S3Bucket": NAMES.processed_bucket, "S3Key": keys[0]}
    assert keys[0] == f"{functions.STAGING_PREFIX}/lakebox-duckdb-{hashlib.sha256(LARGE).hexdigest()[:16]}.zip"
