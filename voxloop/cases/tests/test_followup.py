"""Follow-up after resolution: scheduling with opt-out and fatigue rules, the periodic task with its sender
hook, the customer's answer (a dissatisfied one reopens), the automatic close, and a new complaint on the topic
of a resolved case reopening it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connections
from django.utils import timezone

from voxloop.analysis.models import FeedbackAnalysis, FeedbackTopic
from voxloop.automation.models import AutomationRule
from voxloop.automation.services import apply_rules
from voxloop.cases import followup
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind, FollowUp, FollowUpStatus, Severity
from voxloop.cases.services import assign_case, open_case, reopen_case, resolve_case, set_status
from voxloop.cases.tasks import auto_close_task, follow_up_sweep_task
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback

RESOLVED_AT = MONDAY_9 + timedelta(hours=2)


def resolved_case(make_feedback, *, customer_id: str = "C-1", assignee=None, at=RESOLVED_AT) -> Case:
    case = open_case([make_feedback(customer_id=customer_id)], now=MONDAY_9)
    if assignee is not None:
        assign_case(case, assignee, now=MONDAY_9)
    resolve_case(case, assignee, root_cause="logistics", resolution="已补发", now=at)
    case.refresh_from_db()
    return case


def follow_up_events(case: Case) -> list[dict]:
    return [e.payload for e in CaseEvent.objects.filter(case=case, kind=EventKind.FOLLOW_UP).order_by("id")]


# --- scheduling ------------------------------------------------------------------------------------------


def test_resolving_schedules_the_follow_up_and_the_automatic_close(make_feedback, agent):
    case = resolved_case(make_feedback, assignee=agent)
    follow_up = FollowUp.objects.get(case=case)
    assert follow_up.status == FollowUpStatus.SCHEDULED
    assert follow_up.due_at == RESOLVED_AT + timedelta(days=3)  # FOLLOW_UP_DELAY_DAYS default
    assert follow_up.assignee == agent
    assert case.auto_close_at == RESOLVED_AT + timedelta(days=7)  # AUTO_CLOSE_DAYS default
    [event] = follow_up_events(case)
    assert event["action"] == "scheduled"
    assert datetime.fromisoformat(event["due_at"]) == follow_up.due_at


def test_delay_is_configurable_within_three_to_seven_days(make_feedback, settings):
    settings.FOLLOW_UP_DELAY_DAYS = 5
    case = resolved_case(make_feedback)
    assert FollowUp.objects.get(case=case).due_at == RESOLVED_AT + timedelta(days=5)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FOLLOW_UP_DELAY_DAYS", 10, "FOLLOW_UP_DELAY_DAYS must be a whole number of days from 3 to 7, not 10."),
        ("FOLLOW_UP_DELAY_DAYS", 2, "from 3 to 7, not 2"),
        ("FOLLOW_UP_DELAY_DAYS", "5", "not '5'"),
        ("AUTO_CLOSE_DAYS", 2, "AUTO_CLOSE_DAYS (2) must be at least FOLLOW_UP_DELAY_DAYS (3)"),
        ("TRACKING_LINK_DAYS", 0, "TRACKING_LINK_DAYS must be a whole number of days from 1 to 3650"),
    ],
)
def test_bad_settings_give_a_clear_error_and_change_nothing(make_feedback, agent, settings, name, value, message):
    case = open_case([make_feedback()], now=MONDAY_9)
    setattr(settings, name, value)
    [problem] = followup.check_settings()
    assert message in problem.msg
    assert problem.id == "voxloop.E101"
    if name != "TRACKING_LINK_DAYS":
        with pytest.raises(ImproperlyConfigured, match=r"must be"):
            resolve_case(case, agent, root_cause="logistics", resolution="已补发", now=RESOLVED_AT)
        case.refresh_from_db()
        assert case.status == CaseStatus.NEW  # the resolve rolled back as a whole
        assert not FollowUp.objects.exists()


def test_default_settings_pass_the_system_check(settings):
    assert followup.check_settings() == []
    settings.FOLLOW_UP_DELAY_DAYS = 14
    with pytest.raises(SystemCheckError, match="FOLLOW_UP_DELAY_DAYS must be a whole number of days from 3 to 7"):
        call_command("check")  # registered at start-up: `voxloop serve` refuses to run with it


def test_opted_out_customer_is_not_followed_up(make_feedback):
    make_feedback(customer_id="C-OUT")
    Customer.objects.filter(external_id="C-OUT").update(opted_out=True)
    case = resolved_case(make_feedback, customer_id="C-OUT")
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.status, follow_up.skip_reason) == (FollowUpStatus.SKIPPED, "opted_out")
    assert follow_up_events(case)[0] == {"action": "skipped", "follow_up_id": follow_up.pk, "reason": "opted_out"}
    # Skipped means nothing will ever become due for it.
    assert followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=30)).due == 0


def test_fatigue_rule_skips_a_customer_followed_up_recently(make_feedback, settings):
    settings.FOLLOW_UP_FATIGUE_DAYS = 30
    first = resolved_case(make_feedback, customer_id="C-9")
    second = resolved_case(make_feedback, customer_id="C-9", at=RESOLVED_AT + timedelta(days=10))
    other_customer = resolved_case(make_feedback, customer_id="C-10", at=RESOLVED_AT + timedelta(days=10))
    assert FollowUp.objects.get(case=first).status == FollowUpStatus.SCHEDULED
    assert FollowUp.objects.get(case=second).skip_reason == "recently_contacted"
    assert FollowUp.objects.get(case=other_customer).status == FollowUpStatus.SCHEDULED
    # Once the window has passed, the customer is followed up again.
    third = resolved_case(make_feedback, customer_id="C-9", at=RESOLVED_AT + timedelta(days=40))
    assert FollowUp.objects.get(case=third).status == FollowUpStatus.SCHEDULED


def test_reopening_cancels_the_pending_follow_up_and_the_automatic_close(make_feedback):
    case = resolved_case(make_feedback)
    reopen_case(case, None, reason="客户来电", now=RESOLVED_AT + timedelta(days=1))
    case.refresh_from_db()
    assert case.auto_close_at is None
    assert FollowUp.objects.get(case=case).status == FollowUpStatus.CANCELLED
    assert followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=5)).due == 0
    assert followup.auto_close_cases(now=RESOLVED_AT + timedelta(days=8)).closed == 0
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED


# --- due follow-ups: a task for the agent, or whatever a registered sender does ------------------------


def test_due_follow_up_becomes_a_task_for_the_agent_once(make_feedback, agent):
    case = resolved_case(make_feedback, assignee=agent)
    assert followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=2)).due == 0  # not yet
    run = followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    assert (run.due, run.sent, run.failed) == (1, 0, 0)
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.status, follow_up.method, follow_up.assignee) == (FollowUpStatus.DUE, "task", agent)
    assert FollowUp.objects.filter(assignee=agent, status=FollowUpStatus.DUE).count() == 1  # the agent's to-do
    assert follow_up_events(case)[-1] == {
        "action": "due", "follow_up_id": follow_up.pk, "method": "task", "to_user_id": agent.pk,
    }  # fmt: skip
    assert followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=4)).due == 0  # idempotent
    assert len(follow_up_events(case)) == 2


def test_without_an_assignee_the_team_lead_gets_the_task(make_feedback, staffed_team):
    case = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    resolve_case(case, None, root_cause="logistics", resolution="已补发", now=RESOLVED_AT)
    followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    assert FollowUp.objects.get(case=case).assignee == staffed_team.lead


def test_a_registered_sender_replaces_the_task_and_can_decline(make_feedback, agent):
    calls = []

    def survey_sender(follow_up, now):
        calls.append(follow_up.case.customer.external_id)
        if follow_up.case.customer.external_id == "NO-EMAIL":
            return None  # not mine: fall back to the agent's task
        follow_up.method = "survey"
        return FollowUpStatus.SENT

    followup.register_sender(survey_sender)
    try:
        surveyed = resolved_case(make_feedback, customer_id="C-S", assignee=agent)
        declined = resolved_case(make_feedback, customer_id="NO-EMAIL", assignee=agent)
        run = followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    finally:
        followup.unregister_sender(survey_sender)
    assert (run.sent, run.due) == (1, 1)
    assert sorted(calls) == ["C-S", "NO-EMAIL"]
    assert (FollowUp.objects.get(case=surveyed).status, FollowUp.objects.get(case=surveyed).method) == (
        "sent",
        "survey",
    )
    assert FollowUp.objects.get(case=declined).method == "task"


def test_a_failing_sender_leaves_its_follow_up_scheduled_and_others_go_on(make_feedback, agent):
    def broken(follow_up, now):
        if follow_up.case.customer.external_id == "BROKEN":
            raise RuntimeError("survey service down")
        return None

    followup.register_sender(broken)
    try:
        bad = resolved_case(make_feedback, customer_id="BROKEN", assignee=agent)
        good = resolved_case(make_feedback, customer_id="FINE", assignee=agent)
        run = followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    finally:
        followup.unregister_sender(broken)
    assert (run.due, run.failed) == (1, 1)
    assert FollowUp.objects.get(case=bad).status == FollowUpStatus.SCHEDULED  # tried again next run
    assert FollowUp.objects.get(case=good).status == FollowUpStatus.DUE
    assert [e["action"] for e in follow_up_events(bad)] == ["scheduled"]  # its failed attempt left no trace


def test_follow_up_task_runs_through_celery(make_feedback, agent):
    case = resolved_case(make_feedback, assignee=agent, at=timezone.now() - timedelta(days=4))
    assert follow_up_sweep_task.delay().get() == {"due": 1, "sent": 0, "failed": 0}
    assert FollowUp.objects.get(case=case).status == FollowUpStatus.DUE


# --- the answer ------------------------------------------------------------------------------------------


def test_satisfied_answer_completes_the_follow_up(make_feedback, agent):
    case = resolved_case(make_feedback, assignee=agent)
    followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    followup.record_outcome(case, True, "客户说已解决", actor=agent, now=RESOLVED_AT + timedelta(days=3, hours=1))
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.status, follow_up.outcome, follow_up.note) == ("done", "satisfied", "客户说已解决")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED


def test_dissatisfied_answer_reopens_the_case(make_feedback, agent):
    case = resolved_case(make_feedback, assignee=agent)
    followup.process_due_follow_ups(now=RESOLVED_AT + timedelta(days=3))
    when = RESOLVED_AT + timedelta(days=3, hours=1)
    reopened = followup.record_outcome(case, False, "还是没收到", actor=agent, now=when)
    assert reopened.status == CaseStatus.REOPENED
    assert reopened.reopen_count == 1
    assert reopened.auto_close_at is None
    follow_up = FollowUp.objects.get(case=case)
    assert (follow_up.status, follow_up.outcome) == ("done", "dissatisfied")
    reopen = CaseEvent.objects.get(case=case, kind=EventKind.REOPENED)
    assert reopen.payload["reason"] == "follow_up_dissatisfied"


def test_dissatisfied_answer_reopens_a_closed_case_too(make_feedback):
    case = resolved_case(make_feedback)
    followup.auto_close_cases(now=RESOLVED_AT + timedelta(days=7))
    followup.record_outcome(case, False, "又坏了", now=RESOLVED_AT + timedelta(days=8))
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert case.tracking_expires_at is None  # the customer's link works again


# --- automatic close -------------------------------------------------------------------------------------


def test_resolved_cases_close_after_the_window_once(make_feedback, settings):
    settings.TRACKING_LINK_DAYS = 10
    case = resolved_case(make_feedback)
    assert followup.auto_close_cases(now=RESOLVED_AT + timedelta(days=6)).closed == 0
    close_at = RESOLVED_AT + timedelta(days=7)
    assert followup.auto_close_cases(now=close_at).closed == 1
    case.refresh_from_db()
    assert (case.status, case.closed_at, case.auto_close_at) == (CaseStatus.CLOSED, close_at, None)
    assert case.tracking_expires_at == close_at + timedelta(days=10)
    closed = CaseEvent.objects.get(case=case, kind=EventKind.CLOSED)
    assert closed.payload == {"automatic": True, "previous_status": "resolved"}
    assert followup.auto_close_cases(now=close_at + timedelta(days=1)).closed == 0
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CLOSED).count() == 1


def test_a_case_closed_by_hand_gets_its_tracking_expiry_and_is_not_closed_again(make_feedback, agent, settings):
    settings.TRACKING_LINK_DAYS = 5
    case = resolved_case(make_feedback)
    set_status(case, CaseStatus.CLOSED, agent, now=RESOLVED_AT + timedelta(days=1))
    case.refresh_from_db()
    assert case.tracking_expires_at == RESOLVED_AT + timedelta(days=6)
    assert case.auto_close_at is None
    assert followup.auto_close_cases(now=RESOLVED_AT + timedelta(days=8)).closed == 0


def test_auto_close_task_runs_through_celery(make_feedback):
    resolved_case(make_feedback, at=timezone.now() - timedelta(days=8))
    assert auto_close_task.delay().get() == {"closed": 1, "skipped": 0}


def test_auto_close_reads_the_partial_index(on_postgres, make_feedback):
    resolved_case(make_feedback)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        sql, params = Case.objects.filter(auto_close_at__lte=timezone.now()).values("pk").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "case_auto_close" in plan


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_closing_at_once_close_each_case_once(on_postgres, make_feedback):
    from voxloop.cases.tests.test_sweep import _in_threads

    cases = [resolved_case(make_feedback, customer_id=f"P-{i}") for i in range(30)]
    when = RESOLVED_AT + timedelta(days=7)
    results = _in_threads(
        lambda: followup.auto_close_cases(now=when, batch_size=7),
        lambda: followup.auto_close_cases(now=when, batch_size=7),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.closed for r in results) == 30
    assert CaseEvent.objects.filter(kind=EventKind.CLOSED).count() == 30
    assert Case.objects.filter(pk__in=[c.pk for c in cases], status=CaseStatus.CLOSED).count() == 30
    connections.close_all()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_making_follow_ups_due_act_once(on_postgres, make_feedback, agent):
    from voxloop.cases.tests.test_sweep import _in_threads

    for i in range(20):
        resolved_case(make_feedback, customer_id=f"Q-{i}", assignee=agent)
    when = RESOLVED_AT + timedelta(days=3)
    results = _in_threads(
        lambda: followup.process_due_follow_ups(now=when, batch_size=5),
        lambda: followup.process_due_follow_ups(now=when, batch_size=5),
    )
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.due for r in results) == 20
    due_events = [e for e in CaseEvent.objects.filter(kind=EventKind.FOLLOW_UP) if e.payload["action"] == "due"]
    assert len(due_events) == 20


# --- a new complaint on the same topic while the case is resolved ------------------------------------------


def analysed(feedback_id: int, topics: list[str]) -> int:
    Feedback.objects.filter(pk=feedback_id).update(
        sentiment="negative", kind="complaint", urgency="normal", language="zh", analysis_status=AnalysisStatus.DONE
    )
    FeedbackAnalysis.objects.create(
        feedback_id=feedback_id, language="zh", sentiment="negative", kind="complaint", urgency="normal",
        topics=[{"code": c} for c in topics], model_version="test", analysed_at=timezone.now(),
    )  # fmt: skip
    for code in topics:
        FeedbackTopic.objects.create(feedback_id=feedback_id, code=code, top_code=code.split(".")[0])
    return feedback_id


@pytest.fixture
def complaints_open_cases(db):
    AutomationRule.objects.all().delete()
    rule = AutomationRule(
        name="complaints", conditions=[{"field": "kind", "op": "eq", "value": "complaint"}],
        actions=[{"type": "open_case", "severity": "normal"}],
    )  # fmt: skip
    rule.full_clean()
    rule.save()


def test_new_complaint_on_the_same_topic_reopens_the_resolved_case(make_feedback, complaints_open_cases):
    first = analysed(make_feedback("快递丢了", customer_id="C-7"), ["logistics.lost"])
    apply_rules([first], now=MONDAY_9)
    case = Case.objects.get()
    resolve_case(case, None, root_cause="logistics", resolution="已补发", now=RESOLVED_AT)

    again = analysed(make_feedback("补发的快递也没到", customer_id="C-7"), ["logistics.delay"])
    result = apply_rules([again], now=RESOLVED_AT + timedelta(days=1))

    assert result.cases_opened == []
    assert result.cases_linked == [case.pk]
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert set(case.feedback_items.values_list("pk", flat=True)) == {first, again}
    assert CaseEvent.objects.get(case=case, kind=EventKind.REOPENED).payload["reason"] == "new_complaint"
    assert FollowUp.objects.get(case=case).status == FollowUpStatus.CANCELLED


def test_other_topic_or_closed_case_opens_a_new_case(make_feedback, complaints_open_cases):
    first = analysed(make_feedback("快递丢了", customer_id="C-8"), ["logistics.lost"])
    apply_rules([first], now=MONDAY_9)
    case = Case.objects.get()
    resolve_case(case, None, root_cause="logistics", resolution="已补发", now=RESOLVED_AT)

    other_topic = analysed(make_feedback("价格太贵", customer_id="C-8"), ["price.too_high"])
    apply_rules([other_topic], now=RESOLVED_AT + timedelta(days=1))
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert Case.objects.count() == 2

    followup.auto_close_cases(now=RESOLVED_AT + timedelta(days=7))
    after_close = analysed(make_feedback("又丢件了", customer_id="C-8"), ["logistics.lost"])
    apply_rules([after_close], now=RESOLVED_AT + timedelta(days=8))
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    newest = Case.objects.order_by("-id").first()
    assert newest is not None
    assert list(newest.feedback_items.values_list("pk", flat=True)) == [after_close]
    assert newest.repeat_of == case  # counted as a repeat complaint instead
    assert newest.severity == Severity.NORMAL
