"""Stored feedback is analysed after it arrives; people's corrections win and are kept for retraining."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from voxloop.analysis.models import Correction, FeedbackAnalysis, FeedbackTopic, Topic
from voxloop.analysis.services import analyze_feedback, correct_feedback, training_corrections
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db


def store(*texts):
    items = [prepare_feedback({"text": t}, channel="review", source="t") for t in texts]
    return ingest_feedback(items).created


def test_default_taxonomy_is_stored_with_stable_top_level_codes():
    codes = set(Topic.objects.filter(parent__isnull=True).values_list("code", flat=True))
    assert {"quality", "attitude", "speed", "logistics", "price", "refund", "repair", "communication",
            "account", "usability", "environment"} <= codes  # fmt: skip


def test_items_are_analysed_right_after_they_are_stored(settings, django_capture_on_commit_callbacks):
    settings.ANALYZE_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        (pk,) = store("快递太慢了，包装也破了，非常失望")
    item = Feedback.objects.get(pk=pk)
    assert item.analysis_status == "done"
    assert item.sentiment == "negative"
    assert item.model_version
    assert FeedbackTopic.objects.filter(feedback=item, top_code="logistics").exists()
    assert FeedbackAnalysis.objects.get(feedback=item).emotions


def test_a_correction_survives_reanalysis_and_feeds_retraining(agent):
    (pk,) = store("还行吧，一般般")
    analyze_feedback([pk])
    item = Feedback.objects.get(pk=pk)
    correct_feedback(item, "sentiment", "negative", user=agent)
    correct_feedback(item, "topics", ["quality"], user=agent)
    call_command("reanalyze", "--all", verbosity=0)
    item.refresh_from_db()
    assert item.sentiment == "negative"
    assert list(FeedbackTopic.objects.filter(feedback=item).values_list("code", flat=True)) == ["quality"]
    assert training_corrections("sentiment") == [("还行吧，一般般", "negative")]
    assert Correction.objects.filter(feedback=item, user=agent).count() == 2


def test_invalid_corrections_are_refused(agent):
    (pk,) = store("好")
    item = Feedback.objects.get(pk=pk)
    with pytest.raises(ValueError, match="not a valid"):
        correct_feedback(item, "sentiment", "furious", user=agent)
    with pytest.raises(ValueError, match="Unknown topic"):
        correct_feedback(item, "topics", ["no.such.topic"], user=agent)


def test_one_click_correction_endpoint(agent_client):
    (pk,) = store("送货很快")
    response = agent_client.post(reverse("analysis:correct", args=[pk]), {"field": "kind", "value": "praise"})
    assert response.status_code == 200
    assert Feedback.objects.get(pk=pk).kind == "praise"
    assert agent_client.post(reverse("analysis:correct", args=[pk]), {"field": "kind", "value": "x"}).status_code == 400


def test_viewer_may_not_correct(client, django_user_model):
    viewer = django_user_model.objects.create_user("v", password="pw-for-tests", role="viewer")
    (pk,) = store("好")
    client.force_login(viewer)
    assert client.post(reverse("analysis:correct", args=[pk]), {"field": "kind", "value": "praise"}).status_code == 403


def test_pending_items_are_caught_up():
    from voxloop.analysis.tasks import analyze_pending_task

    store("第一条", "第二条")
    assert analyze_pending_task() == 2
    assert not Feedback.objects.filter(analysis_status="pending").exists()


def test_an_urgent_complaint_becomes_a_case_after_analysis(settings, django_capture_on_commit_callbacks):
    from voxloop.cases.models import Case

    settings.ANALYZE_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        (pk,) = store("热水器漏电，家里老人被电了一下，再不处理我就投诉到12315")
    case = Case.objects.get(feedback_items__pk=pk)
    assert case.severity == "urgent"
    assert case.resolution_due_at is not None


def test_an_email_subject_is_analysed_but_a_survey_comments_label_is_not():
    """A survey comment's title is the product's own label, not the customer's words."""
    from django.utils import timezone

    def item(channel: str, title: str, text: str) -> int:
        return Feedback.objects.create(channel=channel, title=title, text=text, received_at=timezone.now(),
                                       source="t", external_id=f"{channel}-1").pk  # fmt: skip

    survey = item("survey", "NPS 推荐意愿 / Net Promoter Score · NPS 2 · #detractor", "谢谢")
    email = item("email", "Refund request: charged twice", "谢谢")
    analyze_feedback([survey, email])
    survey_analysis = FeedbackAnalysis.objects.get(feedback_id=survey)
    assert "detractor" not in survey_analysis.normalized_text.lower()
    assert "detractor" not in " ".join(survey_analysis.keywords).lower()
    assert "charged twice" in FeedbackAnalysis.objects.get(feedback_id=email).normalized_text.lower()
