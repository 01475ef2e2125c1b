"""Failures of the CLI side; :class:`~lakebox_layer.exceptions.LakeboxError` is their base."""

from __future__ import annotations

from lakebox_layer.exceptions import LakeboxError


class EmulatorError(LakeboxError):
    """The embedded emulator could not be started, reached or stopped."""


class DatasetNameRefused(LakeboxError):
    """A dataset name that cannot become a table name; refused before anything is uploaded."""


class UsageError(LakeboxError):
    """The options ask for something that cannot be done as asked (exit code 2, like any usage error)."""

    exit_code = 2


class DemoUnexpected(LakeboxError):
    """A sample file or a streamed reading ended somewhere other than where the samples say it should."""


class CircuitMoved(LakeboxError):
    """A stage's circuit changed between this command's read and its write (the healer, or another `lakebox pause`
    or `resume`, moved it): nothing was changed, and running the command again decides on the circuit as it is."""
