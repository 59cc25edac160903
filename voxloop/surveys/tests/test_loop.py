"""Closing the loop: follow-up surveys after a case, comments as feedback, unhappy answers reopening cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from voxloop.automation.models import AutomationRule, RuleFiring
from voxloop.automation.rules import facts_for, facts_queryset
from voxloop.cases.models import Case, CaseFeedback, CaseStatus, FollowUp
from voxloop.feedback.models import Feedback
from voxloop.surveys import invitations, loop
from voxloop.surveys.models import Invitation, InvitationChannel, InvitationStatus, Response, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def followup_survey(db) -> Survey:
    survey = Survey.objects.get(template_code="csat")  # the shipped template
    survey.is_followup_default = True
    survey.save()
    return survey


def answer(client, invitation: Invitation, data: dict) -> None:
    page = client.post(reverse("surveys_public:answer", args=[invitation.token]), data)
    assert page.status_code == 200, page.content.decode()[:2000]


def test_a_due_follow_up_emails_the_survey_in_the_customers_language(
    resolved_case, followup_survey, customer, django_capture_on_commit_callbacks
):
    from voxloop.cases.followup import process_due_follow_ups

    with django_capture_on_commit_callbacks(execute=True):
        run = process_due_follow_ups(timezone.now() + timedelta(days=8))
    assert run.sent == 1
    invitation = Invitation.objects.get(case=resolved_case)
    assert (invitation.channel, invitation.survey, invitation.language) == ("followup", followup_survey, "zh-hans")
    assert invitation.status == InvitationStatus.SENT
    assert FollowUp.objects.get(case=resolved_case).method == "survey"
    # (The case's own notifications may be in the outbox too; the survey email is the one with its link.)
    (message,) = [m for m in mail.outbox if invitation.token in m.body]
    assert message.to == ["wang@example.com"]
    assert "您对这次服务满意吗？" in message.subject  # the survey's Chinese title
    assert f"/s/{invitation.token}/" in message.body


def test_without_a_follow_up_survey_the_agent_gets_the_follow_up_task(resolved_case):
    from voxloop.cases.followup import process_due_follow_ups

    Survey.objects.update(is_followup_default=False)
    process_due_follow_ups(timezone.now() + timedelta(days=8))
    assert not Invitation.objects.exists()
    assert FollowUp.objects.get(case=resolved_case).method == "task"


def test_low_csat_reopens_the_case_and_its_comment_becomes_feedback_on_it(
    client, resolved_case, followup_survey, manager, django_capture_on_commit_callbacks
):
    invitation = invitations.invite_for_case(resolved_case)
    assert invitation is not None
    invitation.language = "en"
    invitation.save()
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "1", "q2": "2", "q3": "1", "q4": "3", "q5": "东西还是坏的，没人管"})
    response = Response.objects.get()
    assert (response.csat, response.case, response.channel) == (1, resolved_case, InvitationChannel.FOLLOWUP)
    # CSAT is credited to who actually answered the customer (the manager replied; the agent was assigned).
    assert response.agent == manager
    assert {a.dimension: a.number for a in response.answers.exclude(number=None)} == {
        "overall": 1, "speed": 2, "resolution": 1, "attitude": 3,
    }  # fmt: skip
    case = Case.objects.get(pk=resolved_case.pk)
    assert case.status == CaseStatus.REOPENED and case.reopen_count == 1
    feedback = Feedback.objects.get(channel="survey")
    assert feedback.text == "东西还是坏的，没人管"
    assert (feedback.rating, feedback.rating_scale, feedback.customer_id) == (Decimal(1), 5, resolved_case.customer_id)
    assert response.feedback_id == feedback.pk
    assert CaseFeedback.objects.filter(case=case, feedback=feedback).exists()


def test_the_comment_is_stored_once_however_often_the_loop_runs(client, invitation, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "3", "q2": "太慢"})
    response = Response.objects.get()
    loop.close_loop(response.pk)
    loop.close_loop(response.pk)
    assert Feedback.objects.filter(channel="survey").count() == 1
    assert Feedback.objects.get(channel="survey").external_id == f"survey-response:{response.pk}"


def test_a_happy_answer_completes_the_follow_up_without_reopening(
    client, resolved_case, followup_survey, django_capture_on_commit_callbacks
):
    invitation = invitations.invite_for_case(resolved_case)
    assert invitation is not None
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "5"})
    assert Case.objects.get(pk=resolved_case.pk).status == CaseStatus.RESOLVED
    assert FollowUp.objects.get(case=resolved_case).outcome == "satisfied"
    assert not Feedback.objects.filter(channel="survey").exists()  # no comment, no feedback item


def test_a_detractor_with_no_case_gets_a_recovery_case_from_the_rules(
    client, invitation, settings, sla_defaults, django_capture_on_commit_callbacks
):
    # End to end: submit -> feedback -> analysis -> automation rules (the default survey rule) -> case.
    settings.ANALYZE_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "4", "q2": "一般般吧"})  # a mild comment: the score decides
    feedback = Feedback.objects.get(channel="survey")
    assert "#" not in feedback.title  # the band is a fact the rules see, not a word in the title
    assert facts_for(facts_queryset([feedback.pk]).get()).survey_band == ("detractor",)
    case = Case.objects.get(feedback_items=feedback)
    assert case.severity == "important"
    rule = AutomationRule.objects.get(name__contains="Survey detractors")
    assert RuleFiring.objects.filter(rule=rule, feedback=feedback).exists()  # opened by the rule, not by hand


def test_a_low_csat_with_no_case_gets_a_recovery_case_from_the_rules(
    client, followup_survey, customer, settings, sla_defaults, django_capture_on_commit_callbacks
):
    settings.ANALYZE_ON_INGEST = True
    invitation = invitations.create_link_invitation(followup_survey, customer=customer, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "2", "q5": "还行吧"})
    feedback = Feedback.objects.get(channel="survey")
    facts = facts_for(facts_queryset([feedback.pk]).get())
    assert (facts.survey_kind, facts.survey_band) == ("csat", ("low",))
    assert "#" not in feedback.title
    assert Case.objects.get(feedback_items=feedback).severity == "important"


def test_a_neutral_csat_comment_opens_no_case(
    client, followup_survey, customer, settings, sla_defaults, django_capture_on_commit_callbacks
):
    settings.ANALYZE_ON_INGEST = True
    followup_survey.questions.filter(kind="text").update(show_if={})  # ask for a comment at any score
    invitation = invitations.create_link_invitation(followup_survey, customer=customer, language="en")
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "3", "q5": "还行吧"})
    feedback = Feedback.objects.get(channel="survey")
    assert facts_for(facts_queryset([feedback.pk]).get()).survey_band == ("neutral",)
    assert not Case.objects.exists()


def test_a_promoter_comment_opens_no_case(
    client, invitation, settings, sla_defaults, django_capture_on_commit_callbacks
):
    settings.ANALYZE_ON_INGEST = True
    with django_capture_on_commit_callbacks(execute=True):
        answer(client, invitation, {"q1": "10", "q3": ["c1"]})
        invitation2 = invitations.create_link_invitation(invitation.survey, language="en")
        answer(client, invitation2, {"q1": "9"})
    assert not Case.objects.exists()


def test_no_follow_up_survey_for_opted_out_or_recently_surveyed_customers(
    resolved_case, followup_survey, customer, nps_survey
):
    customer.opted_out = True
    customer.save()
    assert invitations.invite_for_case(resolved_case) is None
    customer.opted_out = False
    customer.save()
    invitations.create_link_invitation(nps_survey, customer=customer)  # surveyed a moment ago
    assert invitations.invite_for_case(resolved_case) is None
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=91))
    assert invitations.invite_for_case(resolved_case) is not None
    assert invitations.invite_for_case(resolved_case) is None  # one per case
