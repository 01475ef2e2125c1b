"""Provisioning reads the functions, the layer and the contracts from the checkout; elsewhere it refuses clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

import lakebox_infra
from lakebox_infra import packaging, project_root
from lakebox_infra.contract_files import contracts
from lakebox_infra.exceptions import ProvisioningError


def test_the_checkout_is_found_from_the_installed_package() -> None:
    root = project_root()
    assert (root / "infra" / "lakebox_infra" / "__init__.py").resolve() == Path(lakebox_infra.__file__).resolve()


@pytest.mark.parametrize("build", [packaging.build_layer, lambda: packaging.build_function("ingestion"),
                                   contracts])
def test_an_install_without_the_checkout_is_refused_with_the_reason(
    build: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a non-editable install looks like: the package in site-packages, no lambdas/, layer/ or contracts/."""
    monkeypatch.setattr(lakebox_infra, "PROJECT_ROOT", tmp_path)
    with pytest.raises(ProvisioningError, match=r"has no lambdas, layer/lakebox_layer, contracts.*pip install -e"):
        assert callable(build)
        build()
