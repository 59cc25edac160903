"""Where the refine lane changes an item's label, its kind and urgency are judged again with the new label, in the
same transaction; what a person set stays (docs/analysis.md, "The refine lane")."""

import threading
import time

import pytest
from django.db import connection, transaction

from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.analysis.services import analyze_feedback, correct_feedback
from voxloop.cases.tests.test_sweep import _in_threads
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback
from voxloop_nlp import refine as refine_model

pytestmark = pytest.mark.django_db

# Praise with a second visit in it: read as negative, a complaint with repeated contact (important).
PRAISE = "第二次来了，服务非常好，非常满意，下次还来"
WRONG = {"sentiment": "negative", "sentiment_score": -0.05, "kind": "complaint", "urgency": "important"}


def misread(text: str = PRAISE) -> Feedback:
    (pk,) = ingest_feedback([prepare_feedback({"text": text}, channel="review", source="t")]).created
    analyze_feedback([pk])
    FeedbackAnalysis.objects.filter(feedback_id=pk).update(
        **WRONG, urgency_reasons=["repeated_contact:第二次"], fast_margin=0.05
    )
    Feedback.objects.filter(pk=pk).update(**WRONG)
    return Feedback.objects.get(pk=pk)


def test_the_kind_and_urgency_follow_the_refined_label():
    item = misread()
    result = refine.refine_feedback([item.pk])
    assert result.changed == [(item.pk, "negative", "positive")] and result.rejudged == 1

    item.refresh_from_db()
    assert (item.sentiment, item.kind, item.urgency) == ("positive", "praise", "normal")
    analysis = FeedbackAnalysis.objects.get(feedback=item)
    assert (analysis.kind, analysis.urgency, analysis.urgency_reasons) == ("praise", "normal", [])
    assert (analysis.refined_kind_from, analysis.refined_urgency_from) == ("complaint", "important")


def test_a_label_the_refine_lane_keeps_leaves_kind_and_urgency_alone():
    item = misread("快递太慢了，包装也破了，客服也不回复，非常失望")  # negative it is: no change
    assert refine.refine_feedback([item.pk]).changed == []
    item.refresh_from_db()
    assert (item.kind, item.urgency) == ("complaint", "important")
    analysis = FeedbackAnalysis.objects.get(feedback=item)
    assert (analysis.kind, analysis.refined_kind_from, analysis.refined_urgency_from) == ("complaint", "", "")


def test_a_persons_urgency_stays_while_the_kind_follows(agent):
    item = misread()
    correct_feedback(item, "urgency", "urgent", user=agent)
    refine.refine_feedback([item.pk])
    item.refresh_from_db()
    assert (item.sentiment, item.kind, item.urgency) == ("positive", "praise", "urgent")


def test_a_persons_label_keeps_the_items_kind_and_urgency(agent):
    item = misread()
    correct_feedback(item, "sentiment", "negative", user=agent)  # a person says negative: the item's label stays
    refine.refine_feedback([item.pk])
    item.refresh_from_db()
    assert (item.sentiment, item.kind, item.urgency) == ("negative", "complaint", "important")
    analysis = FeedbackAnalysis.objects.get(feedback=item)  # the model's own verdict is stored apart
    assert (analysis.sentiment, analysis.kind, analysis.urgency) == ("positive", "praise", "normal")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_kind_a_person_sets_while_the_lane_writes_stays(agent):
    if connection.vendor != "postgresql":
        pytest.skip("row locking between connections is tested on PostgreSQL (VOXLOOP_TEST_DATABASE_URL)")
    item = misread()
    refine.rejudge([PRAISE], [("positive", 0.9)])  # the models loaded before the race, not during it
    refine_model.get_model()
    written = threading.Event()

    def person():
        with transaction.atomic():
            correct_feedback(Feedback.objects.get(pk=item.pk), "kind", "question", user=agent)
            written.set()
            time.sleep(1.0)  # the lane writes its chunk before the correction commits
        return "corrected"

    def lane():
        written.wait(5)
        return refine.refine_feedback([item.pk]).changed

    assert _in_threads(person, lane) == ["corrected", [(item.pk, "negative", "positive")]]
    item.refresh_from_db()
    assert (item.sentiment, item.kind, item.urgency) == ("positive", "question", "normal")
