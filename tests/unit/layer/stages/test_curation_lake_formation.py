"""Curation and Lake Formation: where the lake's setting is on, a file's protected columns (those kept under their own
name: encrypt, mask; never a token column, nor a column `token` or `drop` leaves out) are tagged `sensitivity=pii`
in one call, after the table has them and before any of the file's objects land; a refusal fails the file with
nothing curated. With the setting off the stage has no such port and tags nothing."""

from __future__ import annotations

import dataclasses

import boto3
import pytest
from aws_lambda_powertools import Logger

from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.lake_formation import LakeFormationTags
from lakebox_layer.contracts import parse_contract
from lakebox_layer.exceptions import LakeFormationError
from lakebox_layer.settings import PRODUCTION
from lakebox_layer.stages.curation import CURATED, Curation
from tests.fakes.curation import ORDERS_CSV, World
from tests.fakes.stages import SETTINGS

CRM = {
    "dataset": "crm", "version": "1.0.0",
    "fields": {
        "id": {"required": True, "type": "integer"},
        "email": {"pii": {"protect": "token"}},
        "card": {"pii": {"protect": "mask"}},
        "ssn": {"pii": {"protect": "drop"}},
        "tier": {},
    },
}
CRM_CSV = "id,email,card,ssn,tier\n1,a@example.com,4111111111111111,123-45-6789,gold\n"
CLICKS_CSV = "click_id,page\n1,/home\n2,/cart\n"


@pytest.mark.parametrize("environment", [PRODUCTION, "development"])
def test_the_protected_columns_are_tagged_once_after_the_table_has_them_and_before_the_objects_land(
        environment: str) -> None:
    world = World(dataclasses.replace(SETTINGS, environment=environment), lake_formation=True)

    outcome = world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode()))

    assert outcome is not None and outcome.status == CURATED, outcome
    [(table, columns)] = world.lake_formation.calls
    assert (table, sorted(columns)) == ("orders", ["customer_email", "phone"])
    assert {"customer_email_token", "phone_token"} <= {c.name for c in world.catalog.tables["orders"]}
    log = world.log
    tagged = log.index("tag orders " + ",".join(columns))
    assert log.index("ensure orders") < tagged < min(i for i, line in enumerate(log) if line.startswith("upload"))


def test_each_file_asks_for_its_protected_columns_the_adapter_tags_each_once() -> None:
    world = World(lake_formation=True)

    for n in (1, 2):
        world.stage.curate(world.processed("orders", f"day{n}.csv", ORDERS_CSV.encode(), process_id=f"pid{n}"))

    assert [(table, sorted(columns)) for table, columns in world.lake_formation.calls] == [
        ("orders", ["customer_email", "phone"]), ("orders", ["customer_email", "phone"])]


def test_only_a_column_kept_under_its_own_name_is_tagged_not_a_token_nor_a_dropped_one() -> None:
    world = World(lake_formation=True)
    world.contracts.published["crm"] = parse_contract(CRM)

    outcome = world.stage.curate(world.processed("crm", "people.csv", CRM_CSV.encode()))

    assert outcome is not None and outcome.status == CURATED, outcome
    assert set(outcome.protected) == {"email", "card", "ssn"}
    assert world.lake_formation.calls == [("crm", ["card"])]


def test_a_file_without_personal_data_asks_for_no_tag() -> None:
    world = World(lake_formation=True)

    outcome = world.stage.curate(world.processed("clicks", "clicks.csv", CLICKS_CSV.encode()))

    assert outcome is not None and outcome.status == CURATED, outcome
    assert world.lake_formation.calls == []


def test_a_refused_tag_fails_the_file_with_nothing_curated_and_no_record() -> None:
    world = World(lake_formation=True)

    def refuse(table: str, columns: list[str]) -> list[str]:
        raise LakeFormationError(f"tagging lakebox_catalog.{table}: AccessDeniedException")

    world.lake_formation.tag_pii = refuse  # type: ignore[method-assign]

    with pytest.raises(LakeFormationError, match="AccessDeniedException"):
        world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode()))
    assert world.curated() == [] and world.records() == [] and world.events.published == []


def test_with_the_setting_off_nothing_is_tagged() -> None:
    world = World()

    world.stage.curate(world.processed("orders", "day.csv", ORDERS_CSV.encode()))

    assert world.stage.lake_formation is None
    assert not [line for line in world.log if line.startswith("tag")]


def test_the_function_builds_the_port_only_where_the_setting_is_on() -> None:
    logger = Logger(service="lakebox-unit-test")
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    on = dataclasses.replace(SETTINGS, lake_formation=True)

    built = Curation.from_settings(on, logger, AwsClients(on, session))

    assert isinstance(built.lake_formation, LakeFormationTags)
    assert built.lake_formation.database == SETTINGS.glue_database
    assert Curation.from_settings(SETTINGS, logger, AwsClients(SETTINGS, session)).lake_formation is None
