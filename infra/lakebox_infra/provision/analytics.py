"""The Athena workgroup `lakebox query` runs in: results under the processed bucket's `athena-results/`, encrypted,
the workgroup's settings enforced over the client's; skipped with a warning where the endpoint has no Athena."""

from __future__ import annotations

from typing import Any

from lakebox_infra.provision.base import Context, absent, ensure, offered
from lakebox_infra.provision.tags import ensure_tags, from_list, to_list
from lakebox_infra.topology import ATHENA_RESULTS_PREFIX

DESCRIPTION = "lakebox queries over the curated data"


def results_location(ctx: Context) -> str:
    """Where the workgroup puts query results."""
    return f"s3://{ctx.names.processed_bucket}/{ATHENA_RESULTS_PREFIX}/"


def workgroup_settings(ctx: Context) -> dict[str, Any]:
    """What the workgroup is compared in: the settings lakebox declares, and only those (AWS adds its defaults)."""
    return {
        "Description": DESCRIPTION,
        "OutputLocation": results_location(ctx),
        "EncryptionOption": "SSE_S3",
        "EnforceWorkGroupConfiguration": True,
    }


def _settings_of(workgroup: dict[str, Any]) -> dict[str, Any]:
    configuration = workgroup.get("Configuration", {})
    results = configuration.get("ResultConfiguration", {})
    return {
        "Description": workgroup.get("Description", ""),
        "OutputLocation": results.get("OutputLocation"),
        "EncryptionOption": results.get("EncryptionConfiguration", {}).get("EncryptionOption"),
        "EnforceWorkGroupConfiguration": configuration.get("EnforceWorkGroupConfiguration"),
    }


def _workgroup_names(ctx: Context) -> set[str]:
    # GetWorkGroup answers a missing workgroup with the generic InvalidRequestException, so existence is read from
    # the list instead of from an error message.
    athena = ctx.client("athena")
    found: set[str] = set()
    page: dict[str, Any] = {}
    while True:  # botocore has no paginator for ListWorkGroups; a page without NextToken is the last
        page = athena.list_work_groups(**({"NextToken": page["NextToken"]} if "NextToken" in page else {}))
        found.update(group["Name"] for group in page.get("WorkGroups", []))
        if "NextToken" not in page:
            return found


def athena_available(ctx: Context) -> set[str] | None:
    """The endpoint's workgroup names, or None (with a warning saying what is skipped) when it cannot list them:
    then it has no Athena."""
    return offered(ctx, "Athena", lambda: _workgroup_names(ctx),
                   "the workgroup is skipped, and `lakebox query` will not work there")


def apply_workgroup(ctx: Context) -> None:
    """The workgroup, created when missing and updated where its declared settings differ; then its tags."""
    existing = athena_available(ctx)
    if existing is None:
        return
    athena = ctx.client("athena")
    name = ctx.names.athena_workgroup
    wanted = workgroup_settings(ctx)
    results = {"OutputLocation": wanted["OutputLocation"],
               "EncryptionConfiguration": {"EncryptionOption": wanted["EncryptionOption"]}}

    def read() -> dict[str, Any] | None:
        if name not in existing:
            return None
        return _settings_of(athena.get_work_group(WorkGroup=name)["WorkGroup"])

    def write(found: object) -> None:
        if found is None:
            athena.create_work_group(
                Name=name, Description=DESCRIPTION, Tags=to_list(ctx.topology.resource_tags),
                Configuration={"ResultConfiguration": results, "EnforceWorkGroupConfiguration": True})
        else:
            athena.update_work_group(
                WorkGroup=name, Description=DESCRIPTION, State="ENABLED",
                ConfigurationUpdates={"ResultConfigurationUpdates": results, "EnforceWorkGroupConfiguration": True})

    ensure(ctx, f"athena workgroup {name}", read, wanted, write,
           lambda found: "created" if found is None else "updated")
    arn = ctx.topology.workgroup_arn
    ensure_tags(ctx, "athena workgroups", f"athena workgroup {name}",
                lambda: from_list(athena.list_tags_for_resource(ResourceARN=arn).get("Tags", [])),
                lambda tags: athena.tag_resource(ResourceARN=arn, Tags=to_list(tags)))


def teardown_workgroup(ctx: Context) -> None:
    """Delete the workgroup with its saved queries, where the endpoint has Athena."""
    existing = athena_available(ctx)
    if existing is None:
        return
    name = ctx.names.athena_workgroup

    def delete() -> object:
        if name not in existing:
            return False
        return ctx.client("athena").delete_work_group(WorkGroup=name, RecursiveDeleteOption=True)

    absent(ctx, f"athena workgroup {name}", delete)
