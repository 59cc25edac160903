"""A case a rule opened only because the fast lane called an item negative is withdrawn when the refine lane finds
the item positive, if nobody worked on it yet; a worked case stays and its timeline says the label changed.

The labels are changed by the real refine lane (voxloop_nlp.refine) on text it reads as clear praise."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone, translation

from voxloop.accounts.models import Role, Team, User
from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.analysis.services import correct_feedback
from voxloop.api.services import create_api_token
from voxloop.automation.models import AutomationRule, RuleFiring
from voxloop.automation.services import apply_rules, review_cases_after_refine
from voxloop.cases import services as cases
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind
from voxloop.cases.outbox import process_case_events
from voxloop.cases.queries import timeline
from voxloop.cases.tests.test_sweep import _in_threads
from voxloop.cases.withdrawal import Withdrawal, withdraw_case
from voxloop.feedback.models import Customer, Feedback
from voxloop.metrics import services as metrics
from voxloop.metrics.compute.cases import compute_cases
from voxloop.metrics.models import MetricDaily, Source
from voxloop.notify.models import MessageStatus, OutgoingMessage

pytestmark = pytest.mark.django_db

PRAISE = "服务非常好，非常满意，下次还来"  # the fast lane (say) called it negative, unsure; the refine lane: positive
OTHER_PRAISE = "质量很好，物流也很快，好评"


@pytest.fixture
def negative_rule(no_rules) -> AutomationRule:
    return AutomationRule.objects.create(
        name="负面开单", order=10, conditions=[{"field": "sentiment", "op": "eq", "value": "negative"}],
        actions=[{"type": "open_case", "severity": "normal"}, {"type": "auto_acknowledge"}],
    )  # fmt: skip


@pytest.fixture
def agent(db) -> User:
    team = Team.objects.create(name="售后组")
    user = User.objects.create_user("wang-agent", password="x", role=Role.AGENT)
    user.teams.add(team)
    return user


def negative(make_item, text: str = PRAISE, **kwargs) -> Feedback:
    """An item the fast lane labelled negative with little confidence, as the refine lane's work list finds it."""
    item = make_item(text, sentiment="negative", **kwargs)
    Feedback.objects.filter(pk=item.pk).update(sentiment_score=-0.05, contact_email="kehu@example.com")
    FeedbackAnalysis.objects.filter(feedback=item).update(sentiment_score=-0.05, fast_margin=0.05)
    return item


def case_of(item: Feedback) -> Case:
    return Case.objects.get(feedback_links__feedback=item)


def kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("id").values_list("kind", flat=True))


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_case_opened_on_a_label_the_refine_lane_corrects_is_withdrawn_and_nobody_is_told(make_item, negative_rule):
    item = negative(make_item)
    apply_rules([item.pk])
    case = case_of(item)
    assert case.status == CaseStatus.NEW and RuleFiring.objects.get(feedback=item).outcome == "opened"
    process_case_events()  # the automatic acknowledgement is queued for the customer, not sent yet (slow mail)
    ack = OutgoingMessage.objects.get(case=case, recipient="customer")
    assert ack.status == MessageStatus.PENDING

    assert refine.refine_feedback([item.pk]).changed == [(item.pk, "negative", "positive")]

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.withdrawn_at is not None and case.closed_at == case.withdrawn_at
    assert case.sla_next_check_at is None and case.resolved_at is None  # no clock runs, nothing was resolved
    event = CaseEvent.objects.get(case=case, kind=EventKind.WITHDRAWN)
    assert event.actor is None
    assert event.payload["feedback_id"] == item.pk
    assert (event.payload["from"], event.payload["to"]) == ("negative", "positive")
    assert event.payload["model"] == FeedbackAnalysis.objects.get(feedback=item).refine_version
    # Nobody is told: no message is written for the withdrawal, and the waiting acknowledgement is held back.
    process_case_events()
    ack.refresh_from_db()
    assert ack.status == MessageStatus.NOT_SENT and ack.last_error == "case_withdrawn"
    assert OutgoingMessage.objects.filter(case=case).count() == 1

    with translation.override("en"):
        entries = {e.event.kind: e for e in timeline(case)}
        assert entries[EventKind.WITHDRAWN].summary == "Withdrawn: after review the sentiment is no longer negative."
        assert "from Negative to Positive" in entries[EventKind.WITHDRAWN].text
        assert "the customer was not told" in entries[EventKind.WITHDRAWN].text
        notes = [e for e in timeline(case) if e.event.kind == EventKind.NOTIFICATION]
        assert [n.text for n in notes] == ["the case was withdrawn: its feedback is not negative after review"]
    with translation.override("zh-hans"):
        entry = next(e for e in timeline(case) if e.event.kind == EventKind.WITHDRAWN)
        assert entry.summary == "撤回：复核后情感不再为负面。"
        assert "从负面改为正面" in entry.text and "未通知客户" in entry.text


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_rerun_changes_nothing(make_item, negative_rule):
    item = negative(make_item)
    apply_rules([item.pk])
    refine.refine_feedback([item.pk])
    case = case_of(item)
    before = kinds(case)
    assert before.count(EventKind.WITHDRAWN) == 1

    review_cases_after_refine([item.pk])  # the hook delivered twice
    refine.refine_feedback([item.pk])  # judged once: nothing to do again
    apply_rules([item.pk])  # the rule already fired: no second case
    assert withdraw_case(case, item.pk, old_label="negative", new_label="positive") == Withdrawal.ALREADY

    assert kinds(case) == before
    assert Case.objects.count() == 1


@override_settings(AUTOMATION_ON_ANALYSIS=True)
@pytest.mark.parametrize("work", ["public_reply", "note_by_assignee", "second_item"])
def test_a_worked_case_stays_and_its_timeline_says_the_label_changed(make_item, negative_rule, agent, work):
    item = negative(make_item, topics=["logistics.delay"])
    apply_rules([item.pk])
    case = case_of(item)
    if work == "public_reply":
        cases.add_reply(case, agent, "您好，我们正在核实")
    elif work == "note_by_assignee":
        cases.assign_case(case, agent)  # as routing assigns it: not work by itself
        cases.add_reply(case, agent, "客户可能是在表扬", public=False)
    else:  # the same customer's next complaint on the topic joins the open case
        second = make_item("快递三天了还没到", sentiment="negative", topics=["logistics.delay"])
        apply_rules([second.pk])
        assert case_of(second) == case
    status = Case.objects.get(pk=case.pk).status

    refine.refine_feedback([item.pk])

    case.refresh_from_db()
    assert case.status == status and case.withdrawn_at is None
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.WITHDRAWN).exists()
    event = CaseEvent.objects.get(case=case, kind=EventKind.LABEL_CORRECTED)
    assert event.payload["kept"] == ("several_items" if work == "second_item" else "worked")
    with translation.override("en"):
        entry = next(e for e in timeline(case) if e.event.kind == EventKind.LABEL_CORRECTED)
        assert entry.summary == (
            f"Sentiment corrected after review: feedback #{item.pk} is now Positive (was Negative)."
        )
    with translation.override("zh-hans"):
        entry = next(e for e in timeline(case) if e.event.kind == EventKind.LABEL_CORRECTED)
        assert entry.summary == f"复核后情感已更正：反馈 #{item.pk} 现为正面（原为负面）。"
    review_cases_after_refine([item.pk])  # a rerun notes it once
    assert CaseEvent.objects.filter(case=case, kind=EventKind.LABEL_CORRECTED).count() == 1


@pytest.fixture
def complaint_rule(negative_rule) -> AutomationRule:
    return AutomationRule.objects.create(
        name="投诉开单", order=20, conditions=[{"field": "kind", "op": "eq", "value": "complaint"}],
        actions=[{"type": "open_case", "severity": "normal"}],
    )  # fmt: skip


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_case_a_rule_on_the_kind_opened_goes_when_the_kind_follows_the_label(make_item, complaint_rule):
    item = negative(make_item)  # the fast lane also called it a complaint (on its negative label)
    apply_rules([item.pk])
    case = case_of(item)
    assert set(RuleFiring.objects.filter(feedback=item).values_list("case_id", flat=True)) == {case.pk}

    refine.refine_feedback([item.pk])

    # The kind is judged again with the refined label: praise, so the rule on the kind no longer holds either.
    item.refresh_from_db()
    assert (item.sentiment, item.kind) == ("positive", "praise")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED and case.withdrawn_at is not None


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_case_another_rule_still_opens_stays_untouched(make_item, complaint_rule, agent):
    item = negative(make_item)
    apply_rules([item.pk])
    case = case_of(item)
    correct_feedback(item, "kind", "complaint", user=agent)  # a person says it is a complaint: that stands
    before = kinds(case)

    refine.refine_feedback([item.pk])

    item.refresh_from_db()
    assert (item.sentiment, item.kind) == ("positive", "complaint")
    assert FeedbackAnalysis.objects.get(feedback=item).kind == "praise"  # the model's own verdict, kept apart
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW and case.withdrawn_at is None
    assert kinds(case) == before


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_reopening_a_withdrawn_case_makes_it_a_case_again(make_item, negative_rule, agent):
    item = negative(make_item)
    apply_rules([item.pk])
    refine.refine_feedback([item.pk])
    case = case_of(item)
    assert case.withdrawn_at is not None

    case = cases.reopen_case(case, agent, reason="客户来电确认是投诉")

    assert case.status == CaseStatus.REOPENED and case.withdrawn_at is None and case.closed_at is None


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_withdrawn_case_makes_no_later_complaint_a_repeat(make_item, negative_rule):
    item = negative(make_item, topics=["logistics.delay"])
    apply_rules([item.pk])
    refine.refine_feedback([item.pk])
    assert case_of(item).withdrawn_at is not None

    complaint = make_item("快递三天了还没到，非常失望", sentiment="negative", topics=["logistics.delay"])
    apply_rules([complaint.pk])

    case = case_of(complaint)
    assert case != case_of(item) and case.status == CaseStatus.NEW
    assert case.repeat_of is None
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.REPEAT).exists()


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_the_api_shows_the_withdrawal(client, make_item, negative_rule):
    item = negative(make_item)
    apply_rules([item.pk])
    refine.refine_feedback([item.pk])
    case = case_of(item)
    admin = User.objects.create_user("an-admin", password="x", role=Role.ADMIN)
    token = create_api_token("withdrawal", ["cases:read"], created_by_id=admin.pk)[1]

    body = client.get(f"/api/cases/{case.pk}", headers={"Authorization": f"Bearer {token}"}).json()

    assert body["status"] == "closed"
    assert body["withdrawn_at"] is not None and body["withdrawn_at"] == body["closed_at"]
    withdrawal = next(e for e in body["events"] if e["kind"] == "withdrawn")
    assert withdrawal["actor"] is None
    assert (withdrawal["payload"]["from"], withdrawal["payload"]["to"]) == ("negative", "positive")


def cases_rollup() -> dict[tuple, tuple[int, dict]]:
    return {(r.day, r.dimension, r.value): (r.n, r.sums) for r in MetricDaily.objects.filter(source=Source.CASES)}


def recomputed_cases(day) -> dict[tuple, tuple[int, dict]]:
    rows = [row for acc in compute_cases(day, day).days.values() for row in acc.rows(timezone.now())]
    return {(r.day, r.dimension, r.value): (r.n, r.sums) for r in rows}


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_the_metrics_leave_a_withdrawn_case_out_as_a_full_recompute_does(make_item, negative_rule):
    kept = make_item("快递丢了，非常失望", sentiment="negative", customer="C-2")
    item = negative(make_item)
    apply_rules([kept.pk, item.pk])
    withdrawn = case_of(item)
    day = timezone.localdate(withdrawn.created_at)
    metrics.rebuild()
    total = MetricDaily.objects.get(source=Source.CASES, day=day, dimension="", value="")
    assert (total.n, total.sums.get("open")) == (2, 2)

    refine.refine_feedback([item.pk])
    metrics.catch_up(timezone.now() + timedelta(minutes=10))  # the withdrawal's event marks the case's day
    metrics.refresh_dirty()

    total = MetricDaily.objects.get(source=Source.CASES, day=day, dimension="", value="")
    assert (total.n, total.sums.get("open")) == (1, 1)  # the complaint that stands; the withdrawn one is no case
    assert not total.sums.get("resolved") and not total.sums.get("sla_n")
    assert cases_rollup() == recomputed_cases(day)


# --- concurrency on PostgreSQL: real connections, real row locks ---------------------------------------------------


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locking between connections is tested on PostgreSQL (VOXLOOP_TEST_DATABASE_URL)")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_reply_in_flight_keeps_the_case_and_two_withdrawals_act_once(on_postgres, make_item, negative_rule, agent):
    replied = negative(make_item)
    twice = negative(make_item, OTHER_PRAISE, customer="C-2")
    apply_rules([replied.pk, twice.pk])
    for item in (replied, twice):
        Feedback.objects.filter(pk=item.pk).update(sentiment="positive")
        FeedbackAnalysis.objects.filter(feedback=item).update(refined_from="negative", sentiment="positive")
    written = threading.Event()

    def slow_reply():
        with transaction.atomic():
            cases.add_reply(case_of(replied).pk, agent, "您好，我们正在核实")
            written.set()
            time.sleep(0.5)  # the refine lane's withdrawal arrives before the reply commits
        return "replied"

    def withdraw():
        written.wait(5)
        return withdraw_case(case_of(replied).pk, replied.pk, old_label="negative", new_label="positive")

    assert _in_threads(slow_reply, withdraw) == ["replied", Withdrawal.NOTED]
    assert case_of(replied).withdrawn_at is None

    results = _in_threads(lambda: review_cases_after_refine([twice.pk]), lambda: review_cases_after_refine([twice.pk]))
    assert not [r for r in results if isinstance(r, BaseException)], results
    case = case_of(twice)
    assert case.status == CaseStatus.CLOSED and case.withdrawn_at is not None
    assert CaseEvent.objects.filter(case=case, kind=EventKind.WITHDRAWN).count() == 1
    assert Customer.objects.count() == 2
