"""Failures of provisioning; the layer's :class:`~lakebox_layer.exceptions.LakeboxError` is their base, so the CLI
reports every lakebox failure the same way."""

from __future__ import annotations

from lakebox_layer.exceptions import LakeboxError


class ProvisioningError(LakeboxError):
    """Bootstrap could not make the topology real."""
