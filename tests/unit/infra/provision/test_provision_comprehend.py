"""Free-text detection at bootstrap: nothing to create, one warning where a shipped contract asks for it
(`policy.pii_free_text`) and the endpoint does not offer Comprehend, nothing asked where no contract does; and the
validation function, alone, may call DetectPiiEntities."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from lakebox_infra import contract_files
from lakebox_infra.provision.comprehend import apply_free_text_check
from lakebox_layer.contracts import Contract, parse_contract
from lakebox_layer.registry import Stage
from tests.fakes.provision import PLAIN_HTTP, TOPOLOGY, Stubs


def contract(dataset: str, free_text: bool) -> Contract:
    return parse_contract({"dataset": dataset, "version": "1", "policy": {"pii_free_text": free_text}})


ASKING = [contract("tickets", True), contract("orders", False), contract("claims", True)]


def test_no_contract_asking_means_no_question_to_the_endpoint() -> None:
    stubs = Stubs(PLAIN_HTTP)
    stubs("comprehend")  # any call would find no stubbed answer and fail

    apply_free_text_check(stubs.context, [contract("orders", False)])

    stubs.done()
    assert stubs.context.report.warnings == []


def test_the_shipped_contracts_are_read_when_none_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract_files, "contracts", lambda: ASKING)
    stubs = Stubs(PLAIN_HTTP)
    stubs("comprehend").add_client_error("list_entity_recognizers", service_error_code="400", http_status_code=400,
                                         expected_params={"MaxResults": 1})

    apply_free_text_check(stubs.context)

    stubs.done()
    [warning] = stubs.context.report.warnings
    assert "the free text of claims, tickets" in warning


def test_an_emulator_without_comprehend_gets_one_warning_naming_the_datasets() -> None:
    stubs = Stubs(PLAIN_HTTP)
    # MiniStack's answer to a service it does not know: a bare 400.
    stubs("comprehend").add_client_error("list_entity_recognizers", service_error_code="400", http_status_code=400,
                                         expected_params={"MaxResults": 1})

    apply_free_text_check(stubs.context, ASKING)

    stubs.done()
    assert stubs.context.report.warnings == [
        "MiniStack 1.5.33 does not offer Comprehend (400): the free text of claims, tickets (policy.pii_free_text) "
        "will go unasked, their files judged by patterns only"]
    assert stubs.changes == []


def test_an_endpoint_that_offers_comprehend_gets_no_warning() -> None:
    stubs = Stubs()
    stubs("comprehend").add_response("list_entity_recognizers", {"EntityRecognizerPropertiesList": []},
                                     {"MaxResults": 1})

    apply_free_text_check(stubs.context, ASKING)

    stubs.done()
    assert stubs.context.report.warnings == []


class Unreachable:
    def list_entity_recognizers(self, **kwargs: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://comprehend.example-region.amazonaws.com/")


def test_a_region_whose_comprehend_cannot_be_reached_gets_the_warning() -> None:
    stubs = Stubs()
    stubs.context.clients["comprehend"] = Unreachable()

    apply_free_text_check(stubs.context, ASKING)

    [warning] = stubs.context.report.warnings
    assert warning.startswith("AWS does not offer Comprehend (its endpoint cannot be reached: "
                              "EndpointConnectionError): the free text of claims, tickets")


def test_a_refusal_fails_the_run_rather_than_guess() -> None:
    stubs = Stubs()
    stubs("comprehend").add_client_error("list_entity_recognizers", service_error_code="AccessDeniedException",
                                         http_status_code=400, expected_params={"MaxResults": 1})

    with pytest.raises(ClientError):
        apply_free_text_check(stubs.context, ASKING)
    assert stubs.context.report.warnings == []


def test_validation_alone_may_call_detect_pii_entities_and_on_any_resource_as_aws_requires() -> None:
    allowed: dict[Stage, list[Any]] = {}
    for function in TOPOLOGY.functions:
        for statement in function.policy["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("comprehend:") for action in actions):
                allowed.setdefault(function.stage, []).append((actions, statement["Resource"]))

    assert allowed == {Stage.VALIDATION: [(["comprehend:DetectPiiEntities"], ["*"])]}
