"""The pipeline's topology as data (:mod:`lakebox_infra.topology`) and the boto3 calls that make it real
(:mod:`lakebox_infra.provision`, run by `python infra/bootstrap.py`).

Provisioning packages the functions, the layer and the contracts from the project's checkout, so lakebox runs from
a clone installed with `pip install -e .`; :func:`project_root` refuses clearly anywhere else.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What provisioning reads from the checkout; a wheel installed into site-packages carries none of it.
_CHECKOUT_MARKERS = ("lambdas", "layer/lakebox_layer", "contracts", "infra/bootstrap.py")


def project_root() -> Path:
    """The project's checkout, or :class:`~lakebox_infra.exceptions.ProvisioningError` naming what is missing."""
    from lakebox_infra.exceptions import ProvisioningError

    absent = [marker for marker in _CHECKOUT_MARKERS if not (PROJECT_ROOT / marker).exists()]
    if absent:
        raise ProvisioningError(
            f"lakebox provisions from its source checkout, and {PROJECT_ROOT} has no {', '.join(absent)}: "
            "clone the repository and install it with `pip install -e .` (a non-editable install does not ship "
            "the functions, the layer and the contracts)"
        )
    return PROJECT_ROOT
