"""Comprehend's DetectPiiEntities for the stage tests: each text asked is kept, and the words it was told are
entities wherever they occur in it, at their true offsets."""

from __future__ import annotations

from dataclasses import dataclass, field

from lakebox_layer.exceptions import FreeTextError, FreeTextUnavailable
from lakebox_layer.free_text import Entity


@dataclass
class FakeFreeTextDetector:
    """Finds `entities` (text -> (type, score)) in what it is asked; `unavailable` makes every call raise
    FreeTextUnavailable with that reason, `failing` FreeTextError."""

    entities: dict[str, tuple[str, float]] = field(default_factory=dict)
    unavailable: str | None = None
    failing: str | None = None
    texts: list[str] = field(default_factory=list)

    def detect(self, text: str) -> list[Entity]:
        self.texts.append(text)
        if self.unavailable is not None:
            raise FreeTextUnavailable(self.unavailable)
        if self.failing is not None:
            raise FreeTextError(self.failing)
        found = []
        for word, (kind, score) in self.entities.items():
            at = text.find(word)
            while at >= 0:
                found.append(Entity(kind, score, at, at + len(word)))
                at = text.find(word, at + 1)
        return found
