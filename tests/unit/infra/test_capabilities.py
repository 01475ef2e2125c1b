"""Feature detection of the target endpoint, from the health documents emulators serve (no network here)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lakebox_infra import capabilities
from lakebox_infra.capabilities import AWS, detect

ENDPOINT = "http://127.0.0.1:4566"

Serve = Callable[[dict[str, dict[str, object]]], None]


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Serve:
    """Answer health URLs from a table instead of the network."""

    def install(documents: dict[str, dict[str, object]]) -> None:
        monkeypatch.setattr(capabilities, "_get_json", lambda url: documents.get(url))

    return install


def test_aws_applies_layers() -> None:
    assert detect(None) is AWS
    assert not AWS.bundle_layer


def test_ministack_applies_layers(serve: Serve) -> None:
    serve({f"{ENDPOINT}/_ministack/health": {"version": "1.5.33", "edition": "light"},
           f"{ENDPOINT}/_localstack/health": {"edition": "light"}})

    found = detect(ENDPOINT + "/")

    assert found.layers_applied
    assert found.emulator == "MiniStack 1.5.33"


def test_localstack_community_gets_the_layer_bundled(serve: Serve) -> None:
    serve({f"{ENDPOINT}/_localstack/health": {"version": "4.14.0", "edition": "community"}})

    found = detect(ENDPOINT)

    assert found.bundle_layer
    assert "LocalStack 4.14.0 (community)" in found.emulator


def test_localstack_pro_applies_layers(serve: Serve) -> None:
    serve({f"{ENDPOINT}/_localstack/health": {"version": "2026.3.0", "edition": "pro"}})

    assert detect(ENDPOINT).layers_applied


def test_motos_server_applies_layers_and_ignores_the_batching_window(serve: Serve) -> None:
    serve({f"{ENDPOINT}/moto-api/config": {"batch": {"use_docker": True}, "lambda": {"use_docker": True}}})

    found = detect(ENDPOINT)

    assert found.layers_applied
    assert not found.batching_window
    assert not found.host_interpreter
    assert found.emulator == "moto's server"


def test_an_unknown_emulator_gets_the_layer_bundled_to_be_safe(serve: Serve) -> None:
    serve({})

    found = detect(ENDPOINT)

    assert found.bundle_layer
    assert ENDPOINT in found.emulator


def test_plain_http_endpoints_cannot_take_a_tls_only_policy(serve: Serve) -> None:
    serve({f"{ENDPOINT}/_ministack/health": {"version": "1.5.33"}})

    assert not detect(ENDPOINT).tls
    assert AWS.tls


def test_only_ministack_runs_functions_on_its_own_interpreter(serve: Serve) -> None:
    serve({f"{ENDPOINT}/_ministack/health": {"version": "1.5.33"}})
    assert detect(ENDPOINT).host_interpreter

    serve({f"{ENDPOINT}/_localstack/health": {"version": "4.14.0", "edition": "community"}})
    assert not detect(ENDPOINT).host_interpreter
    serve({f"{ENDPOINT}/_localstack/health": {"version": "2026.3.0", "edition": "pro"}})
    assert not detect(ENDPOINT).host_interpreter
    serve({})
    assert not detect(ENDPOINT).host_interpreter
    assert not AWS.host_interpreter
