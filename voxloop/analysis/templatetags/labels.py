"""Codes shown by their names in the reader's language: topics, customer segments, languages.

A page never prints `account.login`, `at_risk` or `zh-hans`: {{ code|topic_name }}, {{ code|segment_name }},
{{ code|language_name }}. An unknown code (a topic deleted since, a segment an import brought) is shown as
it is, since it is then the only name there is.
"""

from __future__ import annotations

from django import template
from django.utils.translation import get_language, get_language_info, gettext, gettext_lazy

from voxloop.analysis.models import Topic
from voxloop.feedback.models import AnalysedLanguage, CustomerSegment

register = template.Library()


@register.filter
def topic_name(code: str | None) -> str:
    if not code:
        return ""
    topic = Topic.objects.filter(code=code).only("name_zh", "name_en").first()
    if topic is None and "." in code:  # a sub-topic the taxonomy no longer has: its parent's name, at least
        topic = Topic.objects.filter(code=code.split(".", 1)[0]).only("name_zh", "name_en").first()
    return topic.display_name(get_language() or "") if topic else code


@register.filter
def segment_name(code: str | None) -> str:
    if not code:
        return ""
    return str(CustomerSegment(code).label) if code in CustomerSegment.values else code


@register.filter
def language_name(code: str | None) -> str:
    """zh-hans → 简体中文 / Simplified Chinese, as Django names the languages it knows; the analysis' codes too."""
    if not code:
        return ""
    if code in AnalysedLanguage.values:
        return str(AnalysedLanguage(code).label)
    try:
        return str(get_language_info(code.lower())["name_translated"])
    except KeyError:
        return code


# The urgency component's reasons ("repeated_contact:第二次": the kind, then the words that triggered it).
URGENCY_REASONS = {
    "safety": gettext_lazy("Safety risk"),
    "legal": gettext_lazy("Legal threat"),
    "media": gettext_lazy("Media or public exposure"),
    "churn": gettext_lazy("Threat to leave"),
    "repeated_contact": gettext_lazy("Repeated contact"),
    "strong_negative_emotion": gettext_lazy("Strong negative emotion"),
}


@register.filter
def urgency_reason(reason: str | None) -> str:
    if not reason:
        return ""
    kind, _sep, words = str(reason).partition(":")
    label = str(URGENCY_REASONS.get(kind, kind))
    return gettext("%(reason)s: “%(words)s”") % {"reason": label, "words": words} if words else label
