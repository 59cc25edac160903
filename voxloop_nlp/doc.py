"""The document a pipeline works on, and the public `Analysis` result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedbackDoc:
    """Mutable working state: each component reads what it `requires` and fills what it `assigns`."""

    text: str
    normalized: str = ""
    lower: str = ""
    language: str = ""
    script_traditional: bool = False
    tokens: list[str] = field(default_factory=list)
    sentiment_label: str = "neutral"
    sentiment_score: float = 0.0
    emotions: list[dict[str, Any]] = field(default_factory=list)
    topics: list[dict[str, Any]] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    kind: str = "other"
    urgency_level: str = "normal"
    urgency_reasons: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    masked_text: str = ""
    # Set by components that want to share intermediate results (e.g. negation hits).
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Analysis:
    language: str
    normalized_text: str
    sentiment_label: str
    sentiment_score: float
    emotions: tuple[dict[str, Any], ...]
    topics: tuple[dict[str, Any], ...]
    kind: str
    urgency_level: str
    urgency_reasons: tuple[str, ...]
    needs: tuple[str, ...]
    keywords: tuple[str, ...]
    masked_text: str
    model_version: str

    @classmethod
    def from_doc(cls, doc: FeedbackDoc, model_version: str) -> Analysis:
        return cls(
            language=doc.language,
            normalized_text=doc.normalized,
            sentiment_label=doc.sentiment_label,
            sentiment_score=round(float(doc.sentiment_score), 4),
            emotions=tuple(doc.emotions),
            topics=tuple(doc.topics),
            kind=doc.kind,
            urgency_level=doc.urgency_level,
            urgency_reasons=tuple(doc.urgency_reasons),
            needs=tuple(doc.needs),
            keywords=tuple(doc.keywords),
            masked_text=doc.masked_text,
            model_version=model_version,
        )

    def to_dict(self) -> dict[str, Any]:
        """The `voxloop analyze` output schema (issue 3), less the `id` the CLI adds."""
        return {
            "language": self.language,
            "sentiment": {"label": self.sentiment_label, "score": self.sentiment_score},
            "emotions": [dict(e) for e in self.emotions],
            "topics": [dict(t) for t in self.topics],
            "kind": self.kind,
            "urgency": {"level": self.urgency_level, "reasons": list(self.urgency_reasons)},
            "needs": list(self.needs),
            "keywords": list(self.keywords),
            "masked_text": self.masked_text,
            "model_version": self.model_version,
            "normalized_text": self.normalized_text,
        }
