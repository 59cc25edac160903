"""Read models for the analysis panel on a feedback page."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from voxloop.analysis.models import Correction, FeedbackAnalysis, FeedbackTopic, Topic
from voxloop.feedback.models import Feedback, Kind, Sentiment, Urgency

EMOTION_NAMES = {
    "anger": _("anger"),
    "disappointment": _("disappointment"),
    "anxiety": _("anxiety"),
    "sadness": _("sadness"),
    "joy": _("joy"),
    "gratitude": _("gratitude"),
    "surprise": _("surprise"),
    "disgust": _("disgust"),
    "fear": _("fear"),
}


def panel_context(feedback: Feedback, user: Any) -> dict[str, Any]:
    language = get_language() or ""
    analysis = FeedbackAnalysis.objects.filter(feedback=feedback).first()
    topic_codes = list(FeedbackTopic.objects.filter(feedback=feedback).values_list("code", "confidence", "origin"))
    names = {t.code: t.display_name(language) for t in Topic.objects.all()}
    return {
        "feedback": feedback,
        "analysis": analysis,
        "emotion_names": EMOTION_NAMES,
        "topics": [
            {"code": code, "name": names.get(code, code), "confidence": confidence, "corrected": origin == "correction"}
            for code, confidence, origin in topic_codes
        ],
        "all_topics": [(code, name) for code, name in sorted(names.items())],
        "sentiments": Sentiment.choices,
        "kinds": Kind.choices,
        "urgencies": Urgency.choices,
        "corrections": Correction.objects.filter(feedback=feedback).select_related("user")[:20],
        "corrected_fields": set(Correction.objects.filter(feedback=feedback).values_list("field", flat=True)),
    }
