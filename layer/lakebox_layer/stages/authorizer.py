"""The ingestion API's authorizer: the producer a request's bearer key belongs to, as the context the API's function
reads (see :func:`lakebox_layer.ingest_api.authorizer_answer` for why it always answers "authorized" and leaves 401
and 403 to the function). The key is never logged; the producer's name is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lakebox_layer import ports
from lakebox_layer.adapters.clients import AwsClients
from lakebox_layer.adapters.producers import ProducerStore
from lakebox_layer.ingest_api import authorizer_answer, bearer_key
from lakebox_layer.settings import Settings


@dataclass
class Authorizer:
    """A key's producer (:class:`ProducerStore` in the metadata table), as the authorizer's answer."""

    producers: ports.ProducerLookup
    logger: ports.Logger

    @classmethod
    def from_settings(cls, settings: Settings, logger: ports.Logger, clients: AwsClients | None = None) -> Authorizer:
        """The authorizer over the table the settings name; a function builds one per cold start."""
        clients = clients or AwsClients(settings)
        return cls(ProducerStore(clients.dynamodb, settings.metadata_table), logger)

    def answer(self, event: Mapping[str, Any]) -> dict[str, Any]:
        key = bearer_key(event.get("headers"))
        producer = self.producers.by_key(key) if key else None
        answer = authorizer_answer(producer)
        self.logger.info("authorized", extra={"producer": producer.name if producer else None,
                                              "refused": answer["context"].get("refused")})
        return answer
