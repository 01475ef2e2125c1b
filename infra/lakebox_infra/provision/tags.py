"""The topology's tags on every resource that takes them; tags the topology does not name are left alone."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from lakebox_infra.provision.base import Context, ensure
from lakebox_layer.adapters.errors import error_code, unavailable


def from_list(tags: list[dict[str, str]]) -> dict[str, str]:
    """Tags as most services return them (`[{"Key": ..., "Value": ...}]`) as a dict."""
    return {tag["Key"]: tag["Value"] for tag in tags}


def to_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as a dict in the `[{"Key": ..., "Value": ...}]` shape most services take."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def ensure_tags(ctx: Context, kind: str, resource: str, read: Callable[[], dict[str, str]],
                write: Callable[[dict[str, str]], object]) -> None:
    """Give `resource` the topology's tags. `read` returns its tags; `write` gets the whole set it should carry, the
    topology's over the ones it has (S3 replaces a bucket's set; the other services merge). An endpoint that cannot
    tag a kind of resource is warned about once and its resources of that kind are left untagged."""
    if kind in ctx.untaggable:
        return
    wanted = ctx.topology.resource_tags
    found: dict[str, str] = {}

    def read_wanted() -> dict[str, str | None]:
        found.update(read())
        return {key: found.get(key) for key in wanted}

    try:
        ensure(ctx, f"tags of {resource}", read_wanted, wanted, lambda _: write({**found, **wanted}))
    except ClientError as error:
        if not unavailable(error):
            raise
        ctx.untaggable.add(kind)
        ctx.report.warn(f"{ctx.capabilities.emulator} cannot tag {kind} ({error_code(error)}): "
                        f"they are provisioned untagged")
