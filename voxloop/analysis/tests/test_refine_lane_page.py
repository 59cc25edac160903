"""The item page shows what the refine lane changed, in Chinese and English; the models page says whether it runs."""

import pytest
from django.urls import reverse

from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.analysis.services import analyze_feedback
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db


def refined_item() -> int:
    (pk,) = ingest_feedback(
        [prepare_feedback({"text": "服务非常好，非常满意，下次还来"}, channel="review", source="t")]
    ).created
    analyze_feedback([pk])
    # The fast lane's mistake, unsure of itself: the refine lane's work.
    FeedbackAnalysis.objects.filter(feedback_id=pk).update(
        sentiment="negative", sentiment_score=-0.05, fast_margin=0.05
    )
    Feedback.objects.filter(pk=pk).update(sentiment="negative", sentiment_score=-0.05)
    assert refine.refine_feedback([pk]).changed == [(pk, "negative", "positive")]
    return pk


def test_the_item_page_shows_the_refined_change_in_both_languages(agent_client):
    pk = refined_item()
    version = FeedbackAnalysis.objects.get(feedback_id=pk).refine_version
    en = agent_client.get(reverse("feedback:detail", args=[pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"refined: Negative → Positive (model {version})" in en
    agent_client.cookies.load({"django_language": "zh-hans"})
    zh = agent_client.get(reverse("feedback:detail", args=[pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"复核：负面 → 正面（模型 {version}）" in zh


def test_the_item_page_shows_the_kind_and_urgency_judged_again_in_both_languages(agent_client):
    (pk,) = ingest_feedback(
        [prepare_feedback({"text": "第二次来了，服务非常好，非常满意，下次还来"}, channel="review", source="t")]
    ).created
    analyze_feedback([pk])
    # The fast lane's mistake: negative, so a complaint, and a second visit read as repeated contact.
    wrong = {"sentiment": "negative", "sentiment_score": -0.05, "kind": "complaint", "urgency": "important"}
    FeedbackAnalysis.objects.filter(feedback_id=pk).update(
        **wrong, urgency_reasons=["repeated_contact:第二次"], fast_margin=0.05
    )
    Feedback.objects.filter(pk=pk).update(**wrong)
    assert refine.refine_feedback([pk]).changed == [(pk, "negative", "positive")]

    item = Feedback.objects.get(pk=pk)
    assert (item.sentiment, item.kind, item.urgency) == ("positive", "praise", "normal")
    analysis = FeedbackAnalysis.objects.get(feedback_id=pk)
    assert (analysis.refined_kind_from, analysis.refined_urgency_from) == ("complaint", "important")
    assert analysis.urgency_reasons == []
    en = agent_client.get(reverse("feedback:detail", args=[pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "kind: Complaint → Praise" in en and "urgency: Important → Normal" in en
    assert "Repeated contact" not in en  # the reason went with the urgency
    agent_client.cookies.load({"django_language": "zh-hans"})
    zh = agent_client.get(reverse("feedback:detail", args=[pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "类型：投诉 → 表扬" in zh and "紧急程度：重要 → 一般" in zh


def test_an_unchanged_kind_is_not_shown_as_a_change(agent_client):
    pk = refined_item()  # the fast lane called it praise before its label was made negative: praise it stays
    assert FeedbackAnalysis.objects.get(feedback_id=pk).refined_kind_from == ""
    en = agent_client.get(reverse("feedback:detail", args=[pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "kind:" not in en and "urgency:" not in en


def test_the_models_page_says_the_lane_is_on_or_off(client, analyst, settings):
    client.force_login(analyst)
    refined_item()
    page = client.get(reverse("analysis:models"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 labels changed" in page
    settings.REFINE_ENABLED = False
    page = client.get(reverse("analysis:models"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Off (REFINE_ENABLED=false)" in page
    assert refine.drain().judged == 0
