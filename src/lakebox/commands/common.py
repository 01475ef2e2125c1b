"""What the commands share: the consoles they print to (results on stdout; progress, warnings and errors on
stderr), the options several of them take, and the two ways to print JSON."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

# Piped output gets a wide table rather than rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
# None means "not given": `up --persist` then restarts on the port its saved state names.
PortOption = Annotated[int | None, typer.Option(
    help="port of the embedded emulator (default 4566, or the saved one with --persist; 0: any free port)")]


def say(message: str) -> None:
    """A progress line on stderr, unwrapped: such lines name paths and endpoints that should stay whole in a log."""
    err.print(message, highlight=False, soft_wrap=True)


def configure_logging() -> None:
    """Provisioning's progress lines on stderr, indented under the command's own; the SDKs' chatter left out."""
    logging.basicConfig(level=logging.INFO, format="  %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def print_json(value: object) -> None:
    out.print_json(json.dumps(value))


def echo_json(value: object) -> None:
    """What print_json prints, without its highlighting pass: for thousands of status rows that pass takes seconds."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
