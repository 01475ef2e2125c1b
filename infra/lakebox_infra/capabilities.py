"""What the target endpoint can do, decided before provisioning so bootstrap can adapt instead of failing silently.

AWS and MiniStack apply Lambda layers at invoke time; LocalStack Community creates layers but does not apply them,
so there the layer's files are bundled into each function's zip as well. MiniStack runs functions on its own
interpreter whatever the declared runtime, so compiled code (DuckDB) is packaged for that interpreter there and for
the declared runtime elsewhere. moto's server runs a function (when it runs one, in Docker) in the declared
runtime's image with its layers copied in. An endpoint reached over plain HTTP gets no TLS-only bucket policy: under IAM
enforcement it would refuse every request the functions make. Glue's absence is detected separately, from the API's
answer (see :mod:`lakebox_infra.provision.catalog`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

# LocalStack editions that apply layers; Community ("community") and unknown emulators do not, or may not.
_LAYER_EDITIONS = {"pro", "enterprise", "ultimate", "team", "base"}


@dataclass(frozen=True)
class Capabilities:
    """What the endpoint does with Lambda layers, and what it is."""

    emulator: str
    layers_applied: bool
    tls: bool = True
    # Functions run on the emulator's own interpreter (MiniStack), not on the declared runtime's.
    host_interpreter: bool = False
    # A stream's event source mapping waits out MaximumBatchingWindowInSeconds before it invokes; MiniStack's
    # invokes as soon as records arrive, so there the stream batcher holds young batches back itself.
    batching_window: bool = True
    # API Gateway HTTP APIs with Lambda authorizers (the ingestion API): moto's server serves HTTP APIs without
    # their authorizers' listing (GetAuthorizers), so the API is not provisioned there.
    http_api_authorizers: bool = True

    @property
    def bundle_layer(self) -> bool:
        return not self.layers_applied


AWS = Capabilities("AWS", layers_applied=True)


def ministack(version: str = "", tls: bool = False) -> Capabilities:
    """MiniStack's: the embedded emulator's, known before it answers."""
    return Capabilities(f"MiniStack {version}".strip(), layers_applied=True, tls=tls, host_interpreter=True,
                        batching_window=False)


def _get_json(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - the configured endpoint
            document = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def detect(endpoint: str | None) -> Capabilities:
    """Capabilities of AWS (no endpoint) or of the emulator at `endpoint`, from what it serves about itself (its
    health document; moto's server, its configuration)."""
    if endpoint is None:
        return AWS
    base = endpoint.rstrip("/")
    tls = base.startswith("https://")
    if (health := _get_json(f"{base}/_ministack/health")) is not None:
        return ministack(str(health.get("version", "")), tls)
    if (localstack := _get_json(f"{base}/_localstack/health")) is not None:
        edition = str(localstack.get("edition", "unknown"))
        name = f"LocalStack {localstack.get('version', '')} ({edition})"
        return Capabilities(name, layers_applied=edition in _LAYER_EDITIONS, tls=tls)
    if "lambda" in (_get_json(f"{base}/moto-api/config") or {}):
        # Its mappings take MaximumBatchingWindowInSeconds and ignore it, as MiniStack's do.
        return Capabilities("moto's server", layers_applied=True, tls=tls, batching_window=False,
                            http_api_authorizers=False)
    return Capabilities(f"an unknown emulator at {base}", layers_applied=False, tls=tls, batching_window=False)
