"""Re-analysis folds into the roll-ups by deltas, and the result is what a full recompute gives."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

import voxloop_nlp
from voxloop.analysis import model_switch
from voxloop.analysis.models import Correction, CorrectionField, FeedbackTopic
from voxloop.analysis.services import analyze_feedback
from voxloop.feedback.models import Feedback, Product
from voxloop.metrics import services
from voxloop.metrics.compute.feedback import compute_feedback
from voxloop.metrics.days import local_day
from voxloop.metrics.models import DirtyDay, FoldedAnalysis, MetricDaily, Source
from voxloop.metrics.tests.conftest import make_customer, make_feedback, sh

TOPICS = ["logistics", "logistics.delay", "product_quality", "product_quality.broken", "price_billing", "service"]
WORDS = ["气死", "失望", "满意", "太慢", "great"]
EMOTIONS = ["anger", "disappointment", "joy", "anxiety"]
NEEDS = ["尽快退款", "换货", "faster delivery", "补发"]
DAYS = 8


class FakeAnalysis:
    def __init__(self, result: dict[str, Any]) -> None:
        self.result = result

    def to_dict(self) -> dict[str, Any]:
        return self.result


def random_result(rnd: random.Random) -> dict[str, Any]:
    label = rnd.choice(["negative", "positive", "neutral", ""])
    emotions = [
        {"name": name, "evidence": rnd.sample(WORDS, rnd.randint(0, 2)), "intensity": 0.5}
        for name in rnd.sample(EMOTIONS, rnd.randint(0, 2))
    ]
    return {
        "language": rnd.choice(["zh", "en", "zh-Hant"]),
        "sentiment": {"label": label, "score": None if not label else round(rnd.uniform(-1, 1), 3)},
        "emotions": emotions,
        "topics": [{"code": c, "confidence": 0.8} for c in rnd.sample(TOPICS, rnd.randint(0, 3))],
        "kind": rnd.choice(["complaint", "praise", "suggestion", ""]),
        "urgency": {"level": rnd.choice(["normal", "high"]), "reasons": []},
        "needs": rnd.sample(NEEDS, rnd.randint(0, 2)),
        "keywords": [],
        "masked_text": "",
        "model_version": "random",
        "normalized_text": "",
    }


@pytest.fixture
def fake_pipeline(monkeypatch):
    rnd = random.Random(17)
    monkeypatch.setattr(model_switch, "ensure_active_model", lambda: "random")
    monkeypatch.setattr(
        voxloop_nlp, "analyze_batch", lambda texts, **_kw: [FakeAnalysis(random_result(rnd)) for _ in texts]
    )
    return rnd


@pytest.fixture
def items(db) -> list[int]:
    rnd = random.Random(5)
    products = [Product.objects.create(code=f"P{i}", name=f"产品{i}") for i in range(3)]
    customers = [make_customer(f"c{i}", segment) for i, segment in enumerate(["loyal_advocate", "at_risk", ""])]
    ids = []
    for i in range(90):
        result = random_result(rnd)
        item = make_feedback(
            sh(10 + i % DAYS, rnd.randint(0, 23)), channel=rnd.choice(["email", "chat", "hotline"]),
            sentiment=result["sentiment"]["label"], score=result["sentiment"]["score"], kind=result["kind"],
            language=result["language"], product=rnd.choice([*products, None]), customer=rnd.choice([*customers, None]),
            topics=tuple(t["code"] for t in result["topics"]), emotions=result["emotions"], needs=result["needs"],
        )  # fmt: skip
        ids.append(item.pk)
    services.rebuild()
    # The catch-up as it runs ten minutes later, past its look-back over the rows just written.
    services.catch_up(timezone.now() + timedelta(minutes=10))
    services.refresh_dirty()
    return ids


def stored() -> dict[tuple, tuple[int, dict]]:
    return {(r.day, r.dimension, r.value): (r.n, r.sums) for r in MetricDaily.objects.filter(source=Source.FEEDBACK)}


def recomputed() -> dict[tuple, tuple[int, dict]]:
    first, last = sh(10, 0).date(), sh(10 + DAYS, 0).date()
    now = sh(30, 0)
    rows = [row for acc in compute_feedback(first, last).days.values() for row in acc.rows(now)]
    return {(r.day, r.dimension, r.value): (r.n, r.sums) for r in rows}


def assert_same(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for key, (n, sums) in expected.items():
        assert actual[key][0] == n, key
        assert actual[key][1].keys() == sums.keys(), key
        for name, value in sums.items():
            assert actual[key][1][name] == pytest.approx(value, abs=1e-9), (key, name)


def test_random_reanalyses_fold_to_the_full_recompute(items, fake_pipeline):
    """Five rounds of re-analysing random scattered items with random results (sentiment, topics,
    emotions, needs, language, kind): after each, the stored roll-ups equal a full recompute, no day was
    marked for recomputing, and the catch-up does not recompute them either."""
    rnd = random.Random(99)
    for minutes in range(20, 70, 10):
        chosen = rnd.sample(items, 25)
        analyze_feedback(chosen)
        assert not DirtyDay.objects.exists()
        assert_same(stored(), recomputed())
        assert Source.FEEDBACK not in services.catch_up(timezone.now() + timedelta(minutes=minutes))
    assert FoldedAnalysis.objects.count() >= 25


def test_corrected_topics_survive_and_still_add_up(items, fake_pipeline, people):
    """A person's topic correction is kept through re-analysis; the fold still matches a full recompute."""
    target = items[3]
    FeedbackTopic.objects.filter(feedback_id=target).delete()
    FeedbackTopic.objects.create(feedback_id=target, code="returns", top_code="returns", origin="correction")
    Correction.objects.create(feedback_id=target, field=CorrectionField.TOPICS, old_value=[], new_value=["returns"],
                              user=people["assignee"])  # fmt: skip
    services.rebuild([Source.FEEDBACK])
    analyze_feedback([target, items[4], items[40]])
    assert list(FeedbackTopic.objects.filter(feedback_id=target).values_list("code", flat=True)) == ["returns"]
    assert_same(stored(), recomputed())


def test_a_day_without_roll_ups_is_marked_not_folded(items, fake_pipeline):
    """A day whose roll-ups are not there yet cannot take a delta: it is marked for the ordinary recompute,
    and the refresh then gives the full result."""
    day = sh(10, 0).date()
    MetricDaily.objects.filter(source=Source.FEEDBACK, day=day).delete()
    on_that_day = [pk for pk in items if local_day(
        Feedback.objects.get(pk=pk).received_at) == day][:3]  # fmt: skip
    analyze_feedback(on_that_day)
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {day}
    services.refresh_dirty()
    assert_same(stored(), recomputed())


def test_a_day_waiting_for_its_recompute_is_left_to_it(items, fake_pipeline):
    day = sh(11, 0).date()
    services.mark_dirty(Source.FEEDBACK, [day])
    before = stored()
    on_that_day = [pk for pk in items if local_day(
        Feedback.objects.get(pk=pk).received_at) == day][:3]  # fmt: skip
    analyze_feedback(on_that_day)
    assert {k: v for k, v in stored().items() if k[0] == day} == {k: v for k, v in before.items() if k[0] == day}
    services.refresh_dirty()
    assert_same(stored(), recomputed())
    assert day + timedelta(days=0) not in set(DirtyDay.objects.values_list("day", flat=True))


def test_a_stored_row_that_does_not_hold_the_items_is_recomputed(items, fake_pipeline):
    """A stored row with fewer items than the re-analysed ones took away (changed behind the roll-ups' back):
    the fold cannot take it below zero, so the day is marked, and the refresh gives the full result."""
    day = sh(12, 0).date()
    MetricDaily.objects.filter(source=Source.FEEDBACK, day=day, dimension="channel").update(n=0)
    on_that_day = [pk for pk in items if local_day(
        Feedback.objects.get(pk=pk).received_at) == day][:3]  # fmt: skip
    analyze_feedback(on_that_day)
    assert set(DirtyDay.objects.values_list("day", flat=True)) == {day}
    services.refresh_dirty()
    assert_same(stored(), recomputed())
