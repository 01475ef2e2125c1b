"""`lakebox up`: make sure an emulator answers (starting the embedded one), provision, print where everything is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakebox.commands import common
from lakebox.commands.common import JsonOption, PortOption
from lakebox.lake.bringup import bring_up, describe
from lakebox.lake.render import description_table


def up(
    json_output: JsonOption = False,
    port: PortOption = None,
    persist: Annotated[Path | None, typer.Option(
        help="keep the embedded emulator's state (S3 objects included) in this folder across `down` and `up`")] = None,
    strict_iam: Annotated[bool, typer.Option(
        "--strict-iam", help="enforce IAM in the embedded emulator; lakebox then acts as a non-root user")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="read and compare every resource even when nothing declared has changed since this "
        "emulator was provisioned")] = False,
) -> None:
    """Start the embedded emulator (unless AWS_ENDPOINT_URL names one), provision, print where everything is.
    An embedded emulator already provisioned from this checkout, with nothing changed since, is left as it is."""
    common.configure_logging()
    description = describe(bring_up(port, persist, strict_iam, say=common.say, verify=verify))
    if json_output:
        common.print_json(description)
    else:
        common.out.print(description_table(description))
