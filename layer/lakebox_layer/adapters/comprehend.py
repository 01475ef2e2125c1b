"""Comprehend: the personal data in free text that patterns cannot find (names, addresses), asked with
DetectPiiEntities (see :mod:`lakebox_layer.free_text`).

No emulator offers it: MiniStack answers a service it does not know with a bare HTTP 400 (no error code of the
service's own), LocalStack with `InternalFailure` (501), moto's mock with a 404 for an operation it lacks (its
DetectPiiEntities answers the same canned entities whatever the text). Comprehend itself names every error it
answers (InvalidRequestException, TextSizeLimitExceededException, ...), so a bare 400 or 404 says the endpoint has
no Comprehend: :class:`FreeTextUnavailable`, as is an endpoint that cannot be reached (a region without Comprehend).
"""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

from lakebox_layer.adapters.errors import access_denied, error_code, unavailable
from lakebox_layer.exceptions import FreeTextAccessDenied, FreeTextError, FreeTextUnavailable
from lakebox_layer.free_text import Entity

# The language free text is read in; DetectPiiEntities also reads Spanish, and other languages badly or not at all.
LANGUAGE = "en"
# Bare HTTP statuses for codes: what an endpoint without Comprehend answers (see the module's docstring).
_BARE_STATUSES = frozenset({"400", "404"})


class ComprehendClient(Protocol):
    """The part of boto3's Comprehend client lakebox calls (the project's boto3-stubs extras leave Comprehend out)."""

    def detect_pii_entities(self, *, Text: str, LanguageCode: str) -> dict[str, Any]: ...


def not_offered(error: ClientError) -> bool:
    """Whether a Comprehend call's error says the endpoint does not offer Comprehend: a code of
    :data:`lakebox_layer.adapters.errors.UNAVAILABLE`, or a bare 400 or 404."""
    return unavailable(error) or error_code(error) in _BARE_STATUSES


class FreeTextDetector:
    """The entities of personal data Comprehend finds in a text (at most 100 KB of UTF-8)."""

    def __init__(self, comprehend: ComprehendClient, language: str = LANGUAGE) -> None:
        self._comprehend = comprehend
        self.language = language

    def detect(self, text: str) -> list[Entity]:
        """Every entity DetectPiiEntities finds in `text`, its offsets in characters of `text`."""
        try:
            response = self._comprehend.detect_pii_entities(Text=text, LanguageCode=self.language)
        except ClientError as error:
            raise _detect_error(error) from error
        except EndpointUnreachable as error:
            raise FreeTextUnavailable(f"Comprehend's endpoint cannot be reached ({type(error).__name__})") from error
        return [Entity(str(found.get("Type", "")), float(found.get("Score", 0.0)), int(found.get("BeginOffset", 0)),
                       int(found.get("EndOffset", 0))) for found in response.get("Entities", [])]


def _detect_error(error: ClientError) -> FreeTextUnavailable | FreeTextError:
    code = error_code(error)
    if not_offered(error):
        return FreeTextUnavailable(f"the endpoint does not offer Comprehend ({code})")
    if access_denied(error):
        return FreeTextAccessDenied(code)
    return FreeTextError(f"comprehend:DetectPiiEntities failed: {code}")
