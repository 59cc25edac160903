"""The refine lane re-judges stored labels: the roll-ups follow by the re-analysis delta path, and a crash in the
middle of a batch loses nothing (the items not yet written stay unrefined and the next drain takes them)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F
from django.db.models.functions import Abs
from django.utils import timezone

from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.analysis.services import analysis_replaced, correct_feedback
from voxloop.feedback.models import AnalysisStatus, Feedback
from voxloop.metrics import services
from voxloop.metrics.models import DirtyDay, MetricDaily, Source
from voxloop.metrics.tests.conftest import make_feedback, sh
from voxloop.metrics.tests.test_deltas import assert_same, recomputed, stored

# Clear praise that the fast lane (say) got wrong, unsure of itself; and clear complaints it got right, sure of them.
PRAISE = [
    "服务非常好，非常满意，下次还来",
    "The food was great and the staff were friendly",
    "质量很好，物流也很快，好评",
]
COMPLAINTS = ["快递太慢了，包装也破了，非常失望", "Terrible service, I will never order from them again"]


@pytest.fixture
def items(db) -> dict[str, list[int]]:
    praise = [make_feedback(sh(10 + i, 9), sentiment="negative", score=-0.05, kind="complaint", text=t).pk
              for i, t in enumerate(PRAISE)]  # fmt: skip
    complaints = [make_feedback(sh(10 + i, 11), sentiment="negative", score=-0.95, kind="complaint", text=t).pk
                  for i, t in enumerate(COMPLAINTS)]  # fmt: skip
    FeedbackAnalysis.objects.update(analysed_at=timezone.now(), fast_margin=Abs(F("sentiment_score")))
    services.rebuild()
    services.catch_up(timezone.now() + timedelta(minutes=10))
    services.refresh_dirty()
    return {"praise": praise, "complaints": complaints}


def counted(label: str) -> int:
    rows = MetricDaily.objects.filter(source=Source.FEEDBACK, dimension="", value="")
    return int(sum(r.sums.get(label, 0) for r in rows))


def test_the_least_certain_come_first_and_changed_labels_move_the_rollups(items):
    assert refine.work_list(3) == items["praise"]  # |score| 0.05 before 0.95
    assert (counted("negative"), counted("positive")) == (5, 0)

    result = refine.refine_feedback(refine.work_list(10))

    assert result.judged == 5
    assert sorted(fid for fid, _old, _new in result.changed) == items["praise"]
    assert {(old, new) for _fid, old, new in result.changed} == {("negative", "positive")}
    assert set(Feedback.objects.filter(pk__in=items["praise"]).values_list("sentiment", flat=True)) == {"positive"}
    assert set(Feedback.objects.filter(pk__in=items["complaints"]).values_list("sentiment", flat=True)) == {"negative"}
    analysis = FeedbackAnalysis.objects.get(feedback_id=items["praise"][0])
    assert (analysis.refined_from, analysis.sentiment, analysis.refine_version) == (
        "negative", "positive", refine_version()
    )  # fmt: skip
    # The figures follow at once, by the delta (no day left for a recompute), and equal a full recompute.
    assert (counted("negative"), counted("positive")) == (2, 3)
    assert not DirtyDay.objects.exists()
    assert_same(stored(), recomputed())
    assert refine.work_list(10) == []  # all judged: the next drain has nothing to do


def test_a_crash_in_the_middle_of_a_batch_loses_nothing(items):
    calls = []

    def crash_on_second_write(ids: list[int]) -> None:
        calls.append(ids)
        if len(calls) == 2:
            raise RuntimeError("worker killed")

    analysis_replaced.register(crash_on_second_write)
    try:
        with pytest.raises(RuntimeError, match="worker killed"):
            refine.refine_feedback(refine.work_list(10), chunk=1)
    finally:
        analysis_replaced.unregister(crash_on_second_write)
    first, second = items["praise"][:2]
    assert Feedback.objects.get(pk=first).sentiment == "positive"
    # The second item's transaction was rolled back whole: still unrefined, its old label, the figures unchanged.
    assert FeedbackAnalysis.objects.get(feedback_id=second).refined_at is None
    assert Feedback.objects.get(pk=second).sentiment == "negative"
    assert (counted("negative"), counted("positive")) == (4, 1)
    assert_same(stored(), recomputed())

    assert refine.work_list(10)[0] == second  # the next drain resumes with it
    refine.refine_feedback(refine.work_list(10))
    assert (counted("negative"), counted("positive")) == (2, 3)
    assert_same(stored(), recomputed())


def test_a_persons_correction_keeps_the_item_label(items, people):
    from voxloop.analysis.services import correct_feedback

    target = Feedback.objects.get(pk=items["praise"][0])
    correct_feedback(target, "sentiment", "neutral", user=people["assignee"])
    services.rebuild()
    refine.refine_feedback([target.pk])
    target.refresh_from_db()
    assert target.sentiment == "neutral"  # corrections win
    assert FeedbackAnalysis.objects.get(feedback=target).sentiment == "positive"  # the model's verdict is stored
    assert_same(stored(), recomputed())


def test_the_kind_follows_the_refined_label_in_the_rollups(items, people):
    kept = Feedback.objects.get(pk=items["praise"][0])
    correct_feedback(kept, "kind", "complaint", user=people["assignee"])  # a person's kind stands
    services.rebuild()
    assert counted("complaints") == 5

    refine.refine_feedback(refine.work_list(10))

    kinds = dict(Feedback.objects.filter(pk__in=items["praise"]).values_list("pk", "kind"))
    assert kinds == {kept.pk: "complaint", items["praise"][1]: "praise", items["praise"][2]: "praise"}
    assert set(Feedback.objects.filter(pk__in=items["complaints"]).values_list("kind", flat=True)) == {"complaint"}
    # By the delta, at once: the two complaints the fast lane got right and the one a person kept.
    assert counted("complaints") == 3
    assert not DirtyDay.objects.exists()
    assert_same(stored(), recomputed())


def refine_version() -> str:
    from voxloop_nlp import refine as refine_model

    return refine_model.get_model().version


def test_the_drain_waits_while_the_fast_lane_has_a_backlog(items, settings):
    settings.REFINE_YIELD_PENDING = 2
    waiting = [make_feedback(sh(12, 9), text="还没分析").pk for _ in range(3)]
    Feedback.objects.filter(pk__in=waiting).update(analysis_status=AnalysisStatus.PENDING)

    assert refine.drain().judged == 0
    assert FeedbackAnalysis.objects.filter(refined_at__isnull=False).count() == 0

    Feedback.objects.filter(pk__in=waiting).update(analysis_status=AnalysisStatus.DONE)
    assert refine.drain().judged > 0
