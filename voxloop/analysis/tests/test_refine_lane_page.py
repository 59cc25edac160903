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


def test_the_models_page_says_the_lane_is_on_or_off(client, analyst, settings):
    client.force_login(analyst)
    refined_item()
    page = client.get(reverse("analysis:models"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 labels changed" in page
    settings.REFINE_ENABLED = False
    page = client.get(reverse("analysis:models"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Off (REFINE_ENABLED=false)" in page
    assert refine.drain().judged == 0
