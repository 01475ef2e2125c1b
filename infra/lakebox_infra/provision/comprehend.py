"""Comprehend, which a contract's `policy.pii_free_text` has the validation function ask about free text: nothing to
create, but where a shipped contract asks and the endpoint does not offer Comprehend (every emulator), one warning
that those datasets' files will be judged by patterns only."""

from __future__ import annotations

from collections.abc import Iterable

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from lakebox_infra import contract_files
from lakebox_infra.provision.base import Context
from lakebox_layer.adapters.comprehend import not_offered
from lakebox_layer.adapters.errors import error_code
from lakebox_layer.contracts import Contract


def comprehend_missing(ctx: Context) -> str | None:
    """Why the endpoint does not offer Comprehend (an error code, or that it cannot be reached), or None when it does.
    Asked with ListEntityRecognizers, which is free and sends no text; any other refusal is raised."""
    try:
        ctx.client("comprehend").list_entity_recognizers(MaxResults=1)
    except ClientError as error:
        if not not_offered(error):
            raise
        return error_code(error)
    except EndpointUnreachable as error:
        return f"its endpoint cannot be reached: {type(error).__name__}"
    return None


def apply_free_text_check(ctx: Context, contracts: Iterable[Contract] | None = None) -> None:
    """Warn once when a contract (the shipped ones unless given) asks for free-text detection and the endpoint does
    not offer Comprehend; ask the endpoint nothing when none asks."""
    asking = sorted(contract.dataset for contract in (contract_files.contracts() if contracts is None else contracts)
                    if contract.pii_free_text)
    if not asking:
        return
    missing = comprehend_missing(ctx)
    if missing is not None:
        ctx.report.warn(f"{ctx.capabilities.emulator} does not offer Comprehend ({missing}): the free text of "
                        f"{', '.join(asking)} (policy.pii_free_text) will go unasked, their files judged by patterns "
                        "only")
