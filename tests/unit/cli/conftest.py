"""What the CLI's unit tests share as fixtures: a pipeline on moto's in-process AWS (see
:mod:`tests.unit.cli.moto_lake`) that `Target.resolve()` answers with."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import boto3
import pytest
from moto import mock_aws

from lakebox.lake.target import Target
from tests.unit.cli.moto_lake import REGION, MotoLake, provision


@pytest.fixture
def moto_lake(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., MotoLake]]:
    """Provisions the pipeline on moto (`topic=False`: without the alerts topic) and makes `Target.resolve()`
    answer with it."""
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "LAKEBOX_PROJECT"):
        monkeypatch.delenv(variable, raising=False)
    # moto runs a function a mapping feeds as soon as a message arrives; never in docker here.
    with mock_aws(config={"lambda": {"use_docker": False}}):
        session = boto3.Session(region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")

        def provisioned(topic: bool = True) -> MotoLake:
            lake = provision(session, topic)
            monkeypatch.setattr(Target, "resolve", classmethod(lambda cls, project=None: lake.target))
            return lake

        yield provisioned
