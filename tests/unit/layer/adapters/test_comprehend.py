"""FreeTextDetector's DetectPiiEntities requests as Comprehend's API model checks them (botocore Stubber): English
text in, entities out with their offsets; an endpoint without Comprehend (an emulator's bare 400, LocalStack's
InternalFailure, a 404, no endpoint at all) is FreeTextUnavailable, a refusal FreeTextAccessDenied, anything else a
FreeTextError that fails the file for a retry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.comprehend import FreeTextDetector
from lakebox_layer.exceptions import FreeTextAccessDenied, FreeTextError, FreeTextUnavailable
from lakebox_layer.free_text import Entity
from lakebox_layer.settings import ResourceNames, Settings

TEXT = "Ada Lovelace called about her parcel.\n\nDeliver to 12 Main Street, Springfield."


@pytest.fixture
def client() -> Any:
    return boto3.client("comprehend", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_text_is_asked_in_english_and_the_entities_come_back_with_their_offsets(client: Any,
                                                                                stubber: Stubber) -> None:
    stubber.add_response("detect_pii_entities", {"Entities": [
        {"Score": 0.99, "Type": "NAME", "BeginOffset": 0, "EndOffset": 12},
        {"Score": 0.97, "Type": "ADDRESS", "BeginOffset": 50, "EndOffset": 77},
    ]}, {"Text": TEXT, "LanguageCode": "en"})

    entities = FreeTextDetector(client).detect(TEXT)

    assert entities == [Entity("NAME", 0.99, 0, 12), Entity("ADDRESS", 0.97, 50, 77)]
    assert [TEXT[entity.begin:entity.end] for entity in entities] == ["Ada Lovelace", "12 Main Street, Springfield"]


def test_text_without_entities_gives_none(client: Any, stubber: Stubber) -> None:
    stubber.add_response("detect_pii_entities", {"Entities": []}, {"Text": "nothing here", "LanguageCode": "en"})

    assert FreeTextDetector(client).detect("nothing here") == []


class Body:
    """A raw HTTP body, as botocore reads one."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self.data


def test_ministacks_answer_to_a_service_it_does_not_know_is_unavailable(client: Any) -> None:
    """MiniStack's very answer, parsed by botocore: a bare 400 whose body has no code of Comprehend's own."""
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/json"
    answer = AWSResponse("http://127.0.0.1:4566/", 400, headers, Body(b'{"error": "Unsupported service: comprehend"}'))
    client.meta.events.register("before-send.comprehend.DetectPiiEntities", lambda **kwargs: answer)

    with pytest.raises(FreeTextUnavailable, match=r"^the endpoint does not offer Comprehend \(400\)$"):
        FreeTextDetector(client).detect(TEXT)


@pytest.mark.parametrize(("code", "status"), [("400", 400), ("404", 404), ("InternalFailure", 501),
                                              ("UnknownOperationException", 400), ("NotImplemented", 501)])
def test_an_endpoint_without_comprehend_is_unavailable(client: Any, stubber: Stubber, code: str,
                                                       status: int) -> None:
    stubber.add_client_error("detect_pii_entities", service_error_code=code, http_status_code=status,
                             expected_params={"Text": TEXT, "LanguageCode": "en"})

    with pytest.raises(FreeTextUnavailable) as raised:
        FreeTextDetector(client).detect(TEXT)
    assert raised.value.reason == f"the endpoint does not offer Comprehend ({code})"
    assert not isinstance(raised.value, FreeTextAccessDenied)


def test_a_refusal_is_access_denied_which_is_also_unavailable(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error("detect_pii_entities", service_error_code="AccessDeniedException", http_status_code=400)

    with pytest.raises(FreeTextAccessDenied) as raised:
        FreeTextDetector(client).detect(TEXT)
    assert isinstance(raised.value, FreeTextUnavailable)
    assert raised.value.reason == ("comprehend:DetectPiiEntities refused: this identity is not allowed it "
                                   "(AccessDeniedException)")


@pytest.mark.parametrize("code", ["TooManyRequestsException", "InternalServerException", "InvalidRequestException",
                                  "TextSizeLimitExceededException"])
def test_comprehends_own_errors_fail_the_file_for_a_retry(client: Any, stubber: Stubber, code: str) -> None:
    stubber.add_client_error("detect_pii_entities", service_error_code=code, http_status_code=400)

    with pytest.raises(FreeTextError, match=f"^comprehend:DetectPiiEntities failed: {code}$"):
        FreeTextDetector(client).detect(TEXT)


class Unreachable:
    """A client whose endpoint does not answer (a region without Comprehend)."""

    def detect_pii_entities(self, *, Text: str, LanguageCode: str) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://comprehend.example-region.amazonaws.com/")


def test_an_endpoint_that_cannot_be_reached_is_unavailable() -> None:
    with pytest.raises(FreeTextUnavailable, match=r"^Comprehend's endpoint cannot be reached "
                                                  r"\(EndpointConnectionError\)$"):
        FreeTextDetector(Unreachable()).detect(TEXT)


def test_the_client_is_built_lazily_on_the_settings_endpoint() -> None:
    settings = Settings.from_names(ResourceNames("lakebox", "000000000000", "eu-west-1"),
                                   endpoint_url="http://127.0.0.1:4566")
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1")
    clients = AwsClients(settings, session)
    assert "comprehend" not in vars(clients)

    comprehend: Any = clients.comprehend

    assert comprehend.meta.service_model.service_name == "comprehend"
    assert comprehend.meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.comprehend is comprehend
