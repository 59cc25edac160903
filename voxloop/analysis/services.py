"""The bridge between stored feedback and the `voxloop_nlp` pipeline: analyse, store, correct.

Corrections win: once a person corrected an item's sentiment, kind, urgency or topics, re-analysis
updates the stored pipeline output but never overwrites the corrected value shown everywhere else.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

import voxloop_nlp
from voxloop.analysis import model_switch
from voxloop.analysis.models import Correction, CorrectionField, FeedbackAnalysis, FeedbackTopic, Topic
from voxloop.core.hooks import Hook
from voxloop.feedback.models import AnalysisStatus, Channel, Feedback, Kind, Sentiment, Urgency
from voxloop_nlp.taxonomy import Taxonomy, default_taxonomy

ANALYSIS_CHUNK = 500
# Items stored one at a time (the API's single POST, a web form) each queue a task of their own. Analysing them
# one by one cost about 58 ms of CPU and 27 statements an item; gathered, 17 ms and 14 (benchmarks/load.py): a
# task of at most COALESCE_MAX ids takes the others waiting too, one such task at a time (COALESCE_LOCK).
COALESCE_MAX = 20
COALESCE_GATHER = 100
COALESCE_LOCK = "voxloop:analysis:coalesce"
COALESCE_LOCK_SECONDS = 300  # a worker killed while holding it delays the gathering this long, nothing more
# Called with the ids of each batch whose results were just stored (the automation rules subscribe).
feedback_analysed: Hook[list[int]] = Hook("feedback analysed")
# Inside the storing transaction, with the ids of the batch: before its stored results are replaced, and after
# (the metrics fold a re-analysis into the daily roll-ups by the difference, voxloop.metrics.deltas).
analysis_replacing: Hook[list[int]] = Hook("analysis replacing")
analysis_replaced: Hook[list[int]] = Hook("analysis replaced")


class CorrectionError(ValueError):
    pass


def current_taxonomy() -> Any | None:
    """The admin-edited taxonomy from the database, or None (the pipeline's default) if none is stored."""
    topics = list(Topic.objects.filter(is_active=True).select_related("parent"))
    if not topics:
        return None
    return Taxonomy.from_dicts(
        [
            {
                "code": t.code,
                "parent": t.parent.code if t.parent else None,
                "name_zh": t.name_zh,
                "name_en": t.name_en,
                "phrases_zh": t.phrases_zh,
                "phrases_en": t.phrases_en,
            }
            for t in topics
        ]
    )


def seed_default_taxonomy() -> int:
    """Store the pipeline's default taxonomy as editable topics (existing codes are left alone)."""
    created = 0
    by_code = {t.code: t for t in Topic.objects.all()}
    rows = default_taxonomy().to_dicts()
    for order, row in enumerate(sorted(rows, key=lambda r: r["code"].count("."))):
        if row["code"] in by_code:
            continue
        parent = by_code.get(row["parent"]) if row.get("parent") else None
        by_code[row["code"]] = Topic.objects.create(
            code=row["code"],
            parent=parent,
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            phrases_zh=row.get("phrases_zh", []),
            phrases_en=row.get("phrases_en", []),
            sort_order=order,
        )
        created += 1
    return created


def _latest_corrections(feedback_ids: Sequence[int]) -> dict[tuple[int, str], Any]:
    latest: dict[tuple[int, str], Any] = {}
    for fid, field, value in (
        Correction.objects.filter(feedback_id__in=feedback_ids)
        .order_by("feedback_id", "field", "-created_at", "-id")
        .values_list("feedback_id", "field", "new_value")
    ):
        latest.setdefault((fid, field), value)
    return latest


def customer_words(channel: str, title: str, text: str) -> str:
    """What the analysis reads: the title (an email subject, a review's headline) and the text. A survey
    comment's title is our own label ("NPS 推荐意愿 · NPS 4"), not the customer's words: analysing
    it would put "NPS" into keywords, topics and emerging-topic clusters."""
    if title and channel != Channel.SURVEY and title not in text:
        return f"{title}\n{text}"
    return text


def analyze_feedback(feedback_ids: Iterable[int]) -> int:
    """Analyse these items and store the results; returns how many were analysed. Safe to repeat."""

    ids = list(feedback_ids)
    done = 0
    model_switch.ensure_active_model()
    taxonomy = current_taxonomy()
    for start in range(0, len(ids), ANALYSIS_CHUNK):
        chunk = ids[start : start + ANALYSIS_CHUNK]
        items = list(Feedback.objects.filter(pk__in=chunk).only("id", "channel", "title", "text"))
        if not items:
            continue
        texts = [customer_words(f.channel, f.title, f.text) for f in items]
        try:
            results = voxloop_nlp.analyze_batch(texts, taxonomy=taxonomy)
        except Exception:
            Feedback.objects.filter(pk__in=[f.pk for f in items]).update(analysis_status=AnalysisStatus.FAILED)
            raise
        _store_results(items, [r.to_dict() for r in results])
        feedback_analysed.announce([item.pk for item in items])
        done += len(items)
    return done


def _store_results(items: Sequence[Feedback], results: Sequence[dict[str, Any]]) -> None:
    now = timezone.now()
    ids = [f.pk for f in items]
    corrected = _latest_corrections(ids)
    with transaction.atomic():
        analysis_replacing.announce(ids)
        FeedbackAnalysis.objects.filter(feedback_id__in=ids).delete()
        FeedbackTopic.objects.filter(feedback_id__in=ids, origin=FeedbackTopic.Origin.MODEL).delete()
        analyses, topic_rows = [], []
        for item, res in zip(items, results, strict=True):
            sentiment = res.get("sentiment") or {}
            urgency = res.get("urgency") or {}
            analyses.append(
                FeedbackAnalysis(
                    feedback_id=item.pk,
                    language=res.get("language", "")[:10],
                    normalized_text=res.get("normalized_text", ""),
                    sentiment=sentiment.get("label", ""),
                    sentiment_score=sentiment.get("score"),
                    emotions=res.get("emotions", []),
                    topics=res.get("topics", []),
                    needs=res.get("needs", []),
                    keywords=res.get("keywords", []),
                    kind=res.get("kind", ""),
                    urgency=urgency.get("level", ""),
                    urgency_reasons=urgency.get("reasons", []),
                    masked_text=res.get("masked_text", ""),
                    model_version=res.get("model_version", ""),
                    analysed_at=now,
                    fast_margin=_margin(sentiment.get("score")),
                )
            )
            if (item.pk, CorrectionField.TOPICS) not in corrected:
                overall = corrected.get((item.pk, CorrectionField.SENTIMENT))
                topics = res.get("topics", [])
                unanimous = len({aspect_of(t, "", None)[0] for t in topics}) <= 1
                for topic in topics:
                    label, score = aspect_of(topic, sentiment.get("label", ""), overall if unanimous else None)
                    topic_rows.append(
                        FeedbackTopic(
                            feedback_id=item.pk,
                            code=topic["code"],
                            top_code=topic["code"].split(".")[0],
                            confidence=float(topic.get("confidence", 1.0)),
                            sentiment=label,
                            sentiment_score=score,
                        )
                    )
            item.language = res.get("language", "")[:10]
            item.sentiment = corrected.get((item.pk, CorrectionField.SENTIMENT), sentiment.get("label", ""))
            item.sentiment_score = sentiment.get("score")
            item.kind = corrected.get((item.pk, CorrectionField.KIND), res.get("kind", ""))
            item.urgency = corrected.get((item.pk, CorrectionField.URGENCY), urgency.get("level", ""))
            item.model_version = res.get("model_version", "")
            item.analysis_status = AnalysisStatus.DONE
        FeedbackAnalysis.objects.bulk_create(analyses, batch_size=500)
        FeedbackTopic.objects.bulk_create(topic_rows, batch_size=1000, ignore_conflicts=True)
        Feedback.objects.bulk_update(
            items,
            ["language", "sentiment", "sentiment_score", "kind", "urgency", "model_version", "analysis_status"],
            batch_size=500,
        )
        analysis_replaced.announce(ids)


def _margin(score: Any) -> float | None:
    # The fast lane's score is 2·P(positive) − 1: its distance from 0 is how sure it was (refine-lane order).
    return abs(float(score)) if isinstance(score, int | float) else None


def aspect_of(topic: dict[str, Any], model_label: str, corrected_label: str | None) -> tuple[str, float | None]:
    """A topic's own polarity as stored on its row. Where every topic of the text agreed with its overall
    label, they follow a person's correction of that label (one judgement, corrected: pass ``corrected_label``
    only then); where the model judged the topics apart ("东西不错，就是物流慢了点": quality positive, logistics
    negative) a correction of the whole says nothing about each, and they keep their own."""
    own = topic.get("sentiment")
    if not isinstance(own, dict) or own.get("label") not in Sentiment.values:
        return "", None
    label, score = own["label"], own.get("score")
    if corrected_label and corrected_label != model_label and label == model_label:
        return corrected_label, None
    return label, (float(score) if isinstance(score, int | float) else None)


_ALLOWED: dict[str, set[str]] = {
    CorrectionField.SENTIMENT: set(Sentiment.values),
    CorrectionField.KIND: set(Kind.values),
    CorrectionField.URGENCY: set(Urgency.values),
}


def correct_feedback(feedback: Feedback, field: str, value: Any, *, user: Any) -> Correction:
    """Record a person's correction and apply it to the item at once."""
    if field not in CorrectionField.values:
        raise CorrectionError(f"Unknown field '{field}'.")
    analysis = FeedbackAnalysis.objects.filter(feedback=feedback).first()
    with transaction.atomic():
        if field == CorrectionField.TOPICS:
            codes = sorted({str(c) for c in (value or [])})
            known = set(Topic.objects.filter(code__in=codes).values_list("code", flat=True))
            unknown = [c for c in codes if c not in known]
            if unknown:
                raise CorrectionError(f"Unknown topic codes: {', '.join(unknown)}.")
            old = sorted(FeedbackTopic.objects.filter(feedback=feedback).values_list("code", flat=True))
            FeedbackTopic.objects.filter(feedback=feedback).delete()
            FeedbackTopic.objects.bulk_create(
                [
                    FeedbackTopic(
                        feedback=feedback,
                        code=c,
                        top_code=c.split(".")[0],
                        confidence=1.0,
                        origin=FeedbackTopic.Origin.CORRECTION,
                    )
                    for c in codes
                ]
            )
            new_value: Any = codes
        else:
            if value not in _ALLOWED[field]:
                raise CorrectionError(f"'{value}' is not a valid {field}.")
            old = getattr(feedback, field)
            setattr(feedback, field, value)
            Feedback.objects.filter(pk=feedback.pk).update(**{field: value})
            if field == CorrectionField.SENTIMENT and old and old != value:
                # Topics that all shared the corrected verdict follow it (see aspect_of); topics the model
                # judged apart keep theirs.
                rows = FeedbackTopic.objects.filter(feedback=feedback).exclude(sentiment="")
                if set(rows.values_list("sentiment", flat=True)) == {old}:
                    rows.update(sentiment=value, sentiment_score=None)
            new_value = value
        return Correction.objects.create(
            feedback=feedback,
            field=field,
            old_value=old,
            new_value=new_value,
            model_version=analysis.model_version if analysis else "",
            user=user,
        )


def training_corrections(field: str = CorrectionField.SENTIMENT) -> list[tuple[str, Any]]:
    """(text, corrected value) for every item's latest correction of `field`, for `voxloop retrain`."""
    latest: dict[int, Any] = {}
    for fid, value in (
        Correction.objects.filter(field=field)
        .order_by("feedback_id", "-created_at", "-id")
        .values_list("feedback_id", "new_value")
    ):
        latest.setdefault(fid, value)
    texts = dict(Feedback.objects.filter(pk__in=latest).values_list("pk", "text"))
    return [(texts[fid], value) for fid, value in latest.items() if fid in texts]


def analyze_gathered(feedback_ids: Sequence[int]) -> int | None:
    """Analyse these few items together with the other single items waiting after them; None when another
    worker is gathering right now (the caller tries again shortly: by then its items are usually done).

    Only items stored outside an import batch are gathered: a batch's items come in tasks of their own, which
    would otherwise analyse them a second time."""
    ids = list(Feedback.objects.filter(pk__in=feedback_ids, analysis_status=AnalysisStatus.PENDING).values_list(
        "id", flat=True))  # fmt: skip
    if not ids:
        return 0  # analysed already by a gathering run
    holder = secrets.token_hex(8)
    if not cache.add(COALESCE_LOCK, holder, timeout=COALESCE_LOCK_SECONDS):
        return None
    try:
        # The partial index on pending items makes this a short range scan from the oldest of ours.
        others = Feedback.objects.filter(
            analysis_status=AnalysisStatus.PENDING, batch__isnull=True, pk__gte=min(ids)
        ).order_by("id").values_list("id", flat=True)[:COALESCE_GATHER]  # fmt: skip
        return analyze_feedback(sorted(set(ids) | set(others)))
    finally:
        if cache.get(COALESCE_LOCK) == holder:
            cache.delete(COALESCE_LOCK)


def pending_feedback_ids(limit: int = 5000) -> list[int]:
    return list(
        Feedback.objects.filter(analysis_status=AnalysisStatus.PENDING)
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )
