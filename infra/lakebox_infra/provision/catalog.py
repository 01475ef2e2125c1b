"""The Glue catalog of the processed data: its role, database and crawler; skipped with a warning where the
endpoint has no Glue."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lakebox_infra.provision import iam
from lakebox_infra.provision.base import Context, absent, current, ensure, retry
from lakebox_infra.topology import CRAWLER_SCHEDULE
from lakebox_layer.adapters.errors import error_code, unavailable


def glue_available(ctx: Context) -> bool:
    """Whether the endpoint offers Glue; a warning says what is skipped when it does not."""
    try:
        ctx.client("glue").get_database(Name=ctx.names.glue_database)
    except ClientError as error:
        if unavailable(error):
            ctx.report.warn(
                f"Glue is not available at this endpoint ({error_code(error)}): the catalog database and crawler "
                "are skipped; everything else is provisioned"
            )
            return False
    return True


def crawler_config(ctx: Context) -> dict[str, Any]:
    """create_crawler arguments, and the shape a crawler is compared in."""
    names = ctx.names
    return {
        "Name": names.glue_crawler,
        "Role": ctx.topology.role_arn(names.glue_role),
        "DatabaseName": names.glue_database,
        "Targets": {"S3Targets": [{"Path": ctx.topology.crawler_path}]},
        "Schedule": CRAWLER_SCHEDULE,
    }


def _comparable_crawler(crawler: dict[str, Any]) -> dict[str, Any]:
    # get_crawler returns the schedule as {"ScheduleExpression": ...}; some emulators return the bare expression.
    schedule = crawler.get("Schedule", {})
    return {
        "Name": crawler["Name"],
        "Role": crawler.get("Role"),
        "DatabaseName": crawler.get("DatabaseName"),
        "Targets": {"S3Targets": [{"Path": t.get("Path")} for t in crawler.get("Targets", {}).get("S3Targets", [])]},
        "Schedule": schedule.get("ScheduleExpression") if isinstance(schedule, dict) else schedule,
    }


def apply_catalog(ctx: Context) -> None:
    """The Glue role, the database and the crawler over the processed prefix."""
    if not glue_available(ctx):
        return
    glue = ctx.client("glue")
    names = ctx.names
    iam.apply_role(ctx, names.glue_role, "glue.amazonaws.com", ctx.topology.glue_policy)
    if current(lambda: glue.get_database(Name=names.glue_database)) is None:
        glue.create_database(DatabaseInput={"Name": names.glue_database,
                                            "Description": "lakebox processed data catalog"})
        ctx.report.changed("created", f"glue database {names.glue_database}")
    else:
        ctx.report.same(f"glue database {names.glue_database}")
    wanted = crawler_config(ctx)

    def write(found: object) -> None:
        if found is None:
            retry(lambda: glue.create_crawler(**wanted), retry_on={"InvalidInputException"},
                  what=f"creating crawler {names.glue_crawler}")
        else:
            glue.update_crawler(**wanted)

    ensure(ctx, f"glue crawler {names.glue_crawler}",
           lambda: _comparable_crawler(glue.get_crawler(Name=names.glue_crawler)["Crawler"]), wanted, write,
           lambda found: "created" if found is None else "updated")


def teardown_catalog(ctx: Context) -> None:
    """Delete the crawler and the database, where the endpoint has Glue."""
    if not glue_available(ctx):
        return
    glue = ctx.client("glue")
    names = ctx.names
    absent(ctx, f"glue crawler {names.glue_crawler}", lambda: glue.delete_crawler(Name=names.glue_crawler))
    absent(ctx, f"glue database {names.glue_database}", lambda: glue.delete_database(Name=names.glue_database))
