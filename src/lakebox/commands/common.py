"""What the commands share: the consoles they print to (results on stdout; progress, warnings and errors on
stderr), the options several of them take, and the two ways to print JSON."""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    out: Console  # results
    err: Console  # progress, warnings and errors


def __getattr__(name: str) -> Any:
    """The consoles `out` and `err`, each made when first printed to (rich is imported then: `status --json`
    prints to neither)."""
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    """The console named, made on first use and kept as this module's attribute (which a test may replace)."""
    made = globals().get(name)
    if made is None:
        from rich.console import Console

        # Piped output gets a wide table rather than rich's 80-column default.
        made = Console(width=None if sys.stdout.isatty() else 160) if name == "out" else Console(stderr=True)
        globals()[name] = made
    return made


JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
# None means "not given": `up --persist` then restarts on the port its saved state names.
PortOption = Annotated[int | None, typer.Option(
    help="port of the embedded emulator (default 4566, or the saved one with --persist; 0: any free port)")]


def say(message: str) -> None:
    """A progress line on stderr, unwrapped: such lines name paths and endpoints that should stay whole in a log."""
    _console("err").print(message, highlight=False, soft_wrap=True)


def configure_logging() -> None:
    """Provisioning's progress lines on stderr, indented under the command's own; the SDKs' chatter left out."""
    logging.basicConfig(level=logging.INFO, format="  %(message)s", stream=sys.stderr)
    for noisy in ("botocore", "boto3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def print_json(value: object) -> None:
    _console("out").print_json(json.dumps(value))


def echo_json(value: object) -> None:
    """What print_json prints, without its highlighting pass: for thousands of status rows that pass takes seconds."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))
