"""The `lakebox` command: the app, its commands (one module each in :mod:`lakebox.commands`), and the one error
boundary they all run behind.

A command's module is imported only when that command runs (or `--help` lists them all): `lakebox status` does not
pay for what `lakebox demo` or `lakebox up` import.

Every failure of a command ends in one red line on stderr that says what failed and what to do, and exit code 1
(2 for a usage error or a bad setting), never a traceback: :func:`lakebox_infra.failures.failure_of` words it. A
usage error typer finds (an unknown option, a missing argument) is one line too, naming the command's --help.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, ParamSpec

import typer
from typer.core import TyperGroup

from lakebox.commands import common
from lakebox_infra.failures import DEBUG_VARIABLE, failure_of

P = ParamSpec("P")
USAGE_EXIT_CODE = 2
# Each command is the function of its own name in `lakebox.commands.<name>` (a command of commands, its `app`),
# listed in this order.
COMMANDS = ("up", "down", "ingest", "send", "status", "reconcile", "redrive", "health", "pause", "resume", "demo",
            "query", "trace", "logs", "docs", "producer")


def _fail(message: str) -> None:
    from rich.text import Text

    common.err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


def _usage_problem(error: Exception) -> str | None:
    """What a usage error of the command line says, with where to read on; None for any other exception. Told by
    the attributes every click usage error has, whichever click typer brings."""
    if getattr(error, "exit_code", None) != USAGE_EXIT_CODE or not callable(getattr(error, "format_message", None)):
        return None
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None) or "lakebox"
    message = str(error.format_message()).rstrip(".")  # type: ignore[attr-defined]
    return f"{message}: see `{command} --help`"


class Commands(TyperGroup):
    """The app's commands, each built from its module when asked for, whose usage errors are one line like every
    other failure."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"lakebox.commands.{cmd_name}")
        group = getattr(module, "app", None)
        if isinstance(group, typer.Typer):  # a command of commands (`lakebox producer add`)
            for command in group.registered_commands:
                if command.callback is not None and not hasattr(command.callback, "__wrapped__"):
                    command.callback = boundary(command.callback)
            built = typer.main.get_group(group)
            built.name = cmd_name
            return built
        info = typer.models.CommandInfo(name=cmd_name, callback=boundary(getattr(module, cmd_name)))
        return typer.main.get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                                rich_markup_mode=app.rich_markup_mode)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            problem = _usage_problem(error)
            if problem is None:
                raise
            _fail(problem)
            raise typer.Exit(USAGE_EXIT_CODE) from None


app = typer.Typer(cls=Commands, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def lakebox() -> None:
    """A serverless data lake on your laptop: S3, Lambda, EventBridge, DynamoDB, Glue, CloudWatch."""


def _where() -> str:
    """Where the commands act, as a failure names it; reading it needs no network."""
    from lakebox.lake.target import Target  # only a failure needs it

    try:
        return Target.resolve().where
    except Exception:  # the failure being reported matters more than naming the place exactly
        return os.environ.get("AWS_ENDPOINT_URL") or "AWS"


def _forget_provisioned() -> None:
    """A resource is missing: the `lakebox up` the failure names then reads and compares every resource, rather than
    trusting its record of the last run (:mod:`lakebox.lake.applied`)."""
    from lakebox.lake import applied
    from lakebox.lake.target import state_dir

    applied.forget(state_dir())


def boundary(command: Callable[P, None]) -> Callable[P, None]:
    """The command, with any failure it raises ended as one line on stderr and an exit code."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as error:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            failure = failure_of(error, _where())
            if failure.missing_resource:
                _forget_provisioned()
            _fail(failure.message)
            raise typer.Exit(failure.exit_code) from None

    return run


def main() -> None:
    """The `lakebox` console script: the app, then an exit as soon as its output is flushed.

    The interpreter's own teardown frees every object one by one: after a first `up`, which loads the models of a
    dozen AWS services, that takes a fifth of a second. Nothing of a command is left for it to do: the app has
    returned, its threads are joined and its files closed; only the logs and the standard streams are flushed."""
    try:
        app()
        code = 0
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else int(ended.code is not None)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # a reader that stopped reading, or a stream already closed
            code = code or 1
    os._exit(code)


if __name__ == "__main__":
    main()
