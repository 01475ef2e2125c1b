"""The ingestion API as a producer outside the lake calls it: plain HTTP (no AWS credentials), a bearer key from
`lakebox producer add`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from lakebox_infra.provision.ingest_api import find_url
from tests.e2e.lake import Lake, Run

TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Api:
    url: str

    def call(self, method: str, path: str, key: str | None = None, body: bytes | str | None = None) -> Answer:
        """One request; its status, JSON body and headers (lowercase names), whatever the status."""
        data = body.encode() if isinstance(body, str) else body
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        if key is not None:
            request.add_header("Authorization", f"Bearer {key}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return _answer(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as error:
            return _answer(error.code, error.read(), dict(error.headers))


def _answer(status: int, raw: bytes, headers: dict[str, str]) -> Answer:
    return Answer(status, json.loads(raw) if raw else {}, {k.lower(): v for k, v in headers.items()})


def ingest_api(lake: Lake) -> Api:
    """The lake's ingestion API, as `lakebox up --json` names it."""
    url = find_url(lake.client("apigatewayv2"), lake.names, lake.target.endpoint)
    assert url is not None, "the ingestion API is provisioned"
    return Api(url)


def put_file(url: str, body: bytes) -> int:
    """PUT a file to a presigned URL, as curl --upload-file does; the status S3 answers."""
    request = urllib.request.Request(url, data=body, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def add_producer(run: Run, name: str, *datasets: str) -> str:
    """A new producer's key, as `lakebox producer add --json` prints it once."""
    options = [option for dataset in datasets for option in ("--dataset", dataset)]
    return str(json.loads(run("producer", "add", name, *options, "--json"))["key"])
