"""Read models for the analysis panel on a feedback page and for the models page (retrain/reanalyze jobs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from voxloop.analysis import jobs, refine
from voxloop.analysis.model_switch import ensure_active_model
from voxloop.analysis.models import AnalysisJob, Correction, FeedbackAnalysis, FeedbackTopic, Topic
from voxloop.feedback.models import Feedback, Kind, Sentiment, Urgency
from voxloop_nlp import models_store
from voxloop_nlp import refine as refine_model

NAV_LABEL = _("Analysis models")  # the main menu entry (core's navigation), in this app's catalog

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


def top_level_topics() -> list[tuple[str, str]]:
    """(code, name) of the active top-level topics, for the inbox's topic filter."""
    language = get_language() or ""
    return [(t.code, t.display_name(language)) for t in Topic.objects.filter(parent__isnull=True, is_active=True)]


def topic_names() -> dict[str, str]:
    language = get_language() or ""
    return {t.code: t.display_name(language) for t in Topic.objects.all()}


def with_topic(items: QuerySet[Feedback], code: str, aspect: str = "") -> QuerySet[Feedback]:
    """The items with a topic under ``code`` (its own code or a child's, which starts with it); with ``aspect``,
    only where that topic's own polarity is it ("complaint": a complaint about the topic, as the Pareto counts)."""
    # EXISTS rather than a join: no DISTINCT, so the result can also serve as a subquery of ids.
    rows = FeedbackTopic.objects.filter(feedback=OuterRef("pk"))
    if code:
        rows = rows.filter(code__startswith=code)
    if aspect == "complaint":
        rows = rows.filter(FeedbackTopic.complaint_q())
    elif aspect:
        rows = rows.filter(FeedbackTopic.polarity_q(aspect))
    return items.filter(Exists(rows))


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
        "refined": _refined(analysis),
    }


def _refined(analysis: FeedbackAnalysis | None) -> dict[str, str] | None:
    """The refine lane's change of the label, for the item page ("refined: negative → neutral (model X)"), and of
    the kind and urgency judged again with it, where they changed ("kind_old"/"kind_new", "urgency_old"/...)."""
    if analysis is None or not analysis.refined_from:
        return None
    names = dict(Sentiment.choices)
    out = {
        "old": str(names.get(analysis.refined_from, analysis.refined_from)),
        "new": str(names.get(analysis.sentiment, analysis.sentiment)),
        "version": analysis.refine_version,
    }
    for field, was, now, choices in (
        ("kind", analysis.refined_kind_from, analysis.kind, Kind.choices),
        ("urgency", analysis.refined_urgency_from, analysis.urgency, Urgency.choices),
    ):
        if was:
            labels = dict(choices)
            out[f"{field}_old"], out[f"{field}_new"] = str(labels.get(was, was)), str(labels.get(now, now))
    return out


STEP_NAMES = {
    "load": _("Loading training data"),
    "train": _("Training the new model"),
    "evaluate_old": _("Scoring the current model on held-out data"),
    "evaluate_new": _("Scoring the new model on held-out data"),
    "save": _("Saving the new model"),
    "done": _("Finished"),
    "reanalyze": _("Re-analysing stored feedback"),
}


def models_page_context() -> dict[str, Any]:
    """The model in use, its test figures, what retraining would use, and the recent jobs."""

    version = ensure_active_model()
    meta = models_store.active().sentiment.meta
    metrics = meta.get("test_metrics") or {}
    return {
        "version": version,
        "metrics": [
            {"name": name, "n": m.get("n"), "accuracy": m.get("accuracy"), "f1_3": m.get("macro_f1_3class")}
            for name, m in sorted(metrics.items())
        ],
        "sentiment_corrections": Correction.objects.filter(field="sentiment").values("feedback_id").distinct().count(),
        "stale_items": Feedback.objects.exclude(model_version=version).count(),
        "active_job": jobs.active_job(),
        "jobs": AnalysisJob.objects.select_related("created_by")[:15],
        "max_limit": jobs.MAX_LIMIT_PER_DATASET,
        "active_nav": "models",
        "refine": _refine_lane(),
    }


def _refine_lane() -> dict[str, Any]:
    """The refine lane's state for the models page: on or off (and why), its model and its progress."""

    on = refine.enabled()
    version = ""
    if on:
        version = refine_model.get_model().version
    return {"enabled": on, "switched_off": not getattr(settings, "REFINE_ENABLED", True), "version": version,
            "days": getattr(settings, "REFINE_DAYS", 30), **refine.progress()}  # fmt: skip


def job_context(job: AnalysisJob) -> dict[str, Any]:
    return {
        "job": job,
        "step_name": STEP_NAMES.get(job.step, job.step),
        "active_nav": "models",
    }


def topic_choices(language: str | None = None) -> list[tuple[str, str]]:
    """Active topics as (code, name in the page's language); a sub-topic is named "parent › child"."""
    language = language if language is not None else (get_language() or "")
    topics = list(Topic.objects.filter(is_active=True).select_related("parent").order_by("sort_order", "code"))
    names = {t.code: t.display_name(language) for t in topics}
    choices = []
    order = {t.code: t.sort_order for t in topics}

    def place(topic: Topic) -> tuple[int, str, int, int, str]:  # taxonomy order, each sub-topic right after its parent
        top = topic.code.split(".")[0]
        return (order.get(top, topic.sort_order), top, topic.code.count("."), topic.sort_order, topic.code)

    for topic in sorted(topics, key=place):
        parent = topic.code.rsplit(".", 1)[0] if "." in topic.code else ""
        label = f"{names.get(parent, parent)} › {names[topic.code]}" if parent else names[topic.code]
        choices.append((topic.code, label))
    return choices


def topic_skill_choices() -> list[tuple[str, str]]:
    """Skills are top-level topics (a skill covers its sub-topics): a short list to tick."""
    return [(code, label) for code, label in topic_choices() if "." not in code]
