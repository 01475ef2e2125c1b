"""Failures of the CLI side; :class:`~lakebox_layer.exceptions.LakeboxError` is their base."""

from __future__ import annotations

from lakebox_layer.exceptions import LakeboxError


class EmulatorError(LakeboxError):
    """The embedded emulator could not be started, reached or stopped."""


class DatasetNameRefused(LakeboxError):
    """A dataset name that cannot become a table name; refused before anything is uploaded."""
