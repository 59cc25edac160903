"""The values each condition field can take, with the names people read: what the rule editor offers in its
lists and how the rule list and error messages name a value. Fields without a fixed list (numbers, keywords,
customer tags, product codes) are typed."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from voxloop.accounts.people import LANGUAGE_CHOICES
from voxloop.analysis.queries import topic_choices
from voxloop.automation.rules import FIELDS, NUMBER, OPERATORS_BY_TYPE, SURVEY_KINDS
from voxloop.feedback.bands import CSAT_BANDS, NPS_BANDS
from voxloop.feedback.models import Channel, CustomerSegment, Kind, Sentiment, Urgency

URGENCY_REASON_LABELS = {
    "safety": _("safety risk"),
    "legal": _("legal threat"),
    "media": _("media or regulator"),
    "churn": _("threat to leave"),
    "repeated_contact": _("repeated contact"),
    "strong_negative_emotion": _("strong negative emotion"),
}
SURVEY_KIND_LABELS = {"nps": _("NPS (0–10)"), "csat": _("CSAT (1–5)"), "ces": _("CES (1–7)"), "custom": _("custom")}
SURVEY_BAND_LABELS = {
    "detractor": _("NPS detractor (0–6)"),
    "passive": _("NPS passive (7–8)"),
    "promoter": _("NPS promoter (9–10)"),
    "low": _("CSAT low (1–2)"),
    "neutral": _("CSAT neutral (3)"),
    "high": _("CSAT high (4–5)"),
}
assert set(SURVEY_BAND_LABELS) == set(NPS_BANDS + CSAT_BANDS) and set(SURVEY_KIND_LABELS) == set(SURVEY_KINDS)

# What each field's value list is; topics are read from the taxonomy when asked (admins edit topics).
_STATIC: dict[str, list[tuple[str, Any]]] = {
    "sentiment": list(Sentiment.choices),
    "kind": list(Kind.choices),
    "urgency": list(Urgency.choices),
    "urgency_reasons": list(URGENCY_REASON_LABELS.items()),
    "channel": list(Channel.choices),
    "language": LANGUAGE_CHOICES,
    "customer_segment": list(CustomerSegment.choices),
    "survey_kind": list(SURVEY_KIND_LABELS.items()),
    "survey_band": list(SURVEY_BAND_LABELS.items()),
}

OPERATOR_LABELS = {
    "eq": _("is"),
    "in": _("is one of"),
    "any": _("any of"),
    "contains": _("contains"),
    "gte": _("at least"),
    "lte": _("at most"),
}
# The operators a row offers per field type (the rule language accepts more; these read naturally).
ROW_OPERATORS: dict[str, tuple[str, ...]] = {
    "choice": ("eq", "in"),
    "string": ("eq", "in", "contains"),
    "language": ("eq", "in"),
    "list": ("any",),
    "topics": ("any",),
    "number": ("gte", "lte", "eq"),
    "text": ("any",),
}
assert all(set(ops) <= set(OPERATORS_BY_TYPE[kind]) for kind, ops in ROW_OPERATORS.items())


def value_choices(field: str) -> list[tuple[str, str]]:
    """The values a field can take as (code, name), or [] for a typed field."""
    if field == "topics":
        return topic_choices()
    return [(code, str(label)) for code, label in _STATIC.get(field, [])]


def listed_fields() -> list[str]:
    return [name for name in FIELDS if name == "topics" or name in _STATIC]


def is_number(field: str) -> bool:
    spec = FIELDS.get(field)
    return bool(spec and spec.type == NUMBER)


def value_label(field: str, code: Any, cache: dict[str, dict[str, str]] | None = None) -> str:
    """A stored value by its name, e.g. ("sentiment", "negative") -> "负面"; unknown values as they are."""
    cache = cache if cache is not None else {}
    if field not in cache:
        cache[field] = dict(value_choices(field))
    return cache[field].get(str(code), str(code))
