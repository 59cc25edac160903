"""Incidents: linked open cases answered and resolved in bulk with the action's public note, each through the
customer's own channel and on the case's own timeline; a closed action reopens when early warning fires again on
its scope, and its owner is told."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import incidents, services
from voxloop.actions.models import ActionEvent, ActionStatus
from voxloop.actions.services import ActionError
from voxloop.actions.tests.fixtures import implement
from voxloop.alerts.hooks import announce_alert
from voxloop.alerts.models import Alert
from voxloop.cases.models import CaseEvent, CaseStatus, EventKind
from voxloop.cases.services import open_case
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.notify.models import MessageKind, Notification, NotificationKind, OutgoingMessage

NOTE = "我们已更换快递公司，包裹现在两天内送达。"


@pytest.fixture
def department(db, manager):
    return Department.objects.create(name="物流部", name_en="Logistics", manager=manager)


def _case(n: int, email: str):
    result = ingest_feedback([FeedbackInput(
        text="快递一周还没到", channel="email", received_at=timezone.now() - timedelta(hours=n + 1), source="t",
        external_id=f"mass-{n}", customer_id=f"C-{n}", email=email, customer_name=f"客户{n}",
    )])  # fmt: skip
    return open_case(result.created)


def test_linked_open_cases_are_answered_and_resolved_each_on_its_own(
    manager, agent, department, django_capture_on_commit_callbacks
):
    cases = [_case(1, "a@example.com"), _case(2, "b@example.com"), _case(3, "")]
    action = services.create_action(
        manager, title="快递延误", department=department, owner=agent, due_date=date.today(), topics=["delivery"],
        cases=cases,
    )  # fmt: skip
    with pytest.raises(ActionError):
        incidents.answer_linked_cases(manager, action)  # no note yet: refused, nothing sent
    with django_capture_on_commit_callbacks(execute=True):
        result = incidents.answer_linked_cases(manager, action, NOTE)
    assert sorted(result.answered) == sorted(c.number for c in cases) and not result.refused
    for case in cases:
        case.refresh_from_db()
        assert case.status == CaseStatus.RESOLVED and case.resolution == NOTE and case.root_cause == "delivery"
        kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
        assert EventKind.PUBLIC_REPLY in kinds and EventKind.RESOLVED in kinds  # each case's own history
    # each customer with an address gets the reply by their own channel (e-mail here); the third has none
    replies = OutgoingMessage.objects.filter(kind=MessageKind.CUSTOMER_REPLY, recipient="customer")
    sent = replies.exclude(status="not_sent")
    assert sorted(sent.values_list("to_email", flat=True)) == ["a@example.com", "b@example.com"]
    assert all(NOTE in body for body in sent.values_list("body", flat=True))
    assert replies.get(to_email="").status == "not_sent"  # the one without an address: recorded, not sent
    assert ActionEvent.objects.filter(action=action, kind="cases_answered").count() == 1
    # a second run finds nothing open
    assert incidents.answer_linked_cases(manager, action).answered == []


def test_each_linked_case_is_answered_in_its_customers_language(
    manager, agent, department, django_capture_on_commit_callbacks
):
    chinese, english = _case(1, "a@example.com"), _case(2, "b@example.com")
    english.customer.language = "en"
    english.customer.save(update_fields=["language"])
    action = services.create_action(
        manager, title="快递延误", department=department, owner=agent, due_date=date.today(), topics=["delivery"],
        cases=[chinese, english],
    )  # fmt: skip
    incidents.set_public_note(manager, action, NOTE, "We changed our courier; parcels now arrive within two days.")
    with django_capture_on_commit_callbacks(execute=True):
        incidents.answer_linked_cases(manager, action)
    english.refresh_from_db()
    chinese.refresh_from_db()
    assert english.resolution.startswith("We changed our courier") and chinese.resolution == NOTE
    replies = OutgoingMessage.objects.filter(kind=MessageKind.CUSTOMER_REPLY, recipient="customer")
    to_english = replies.get(to_email="b@example.com")
    assert to_english.language == "en" and "We changed our courier" in to_english.body
    assert NOTE in replies.get(to_email="a@example.com").body


def test_an_agent_cannot_answer_other_teams_cases_in_bulk(manager, agent, department):
    action = services.create_action(
        manager, title="快递延误", department=department, owner=agent, due_date=date.today(), topics=["delivery"],
        cases=[_case(1, "a@example.com")],
    )  # fmt: skip
    from voxloop.accounts.permissions import PolicyDenied

    with pytest.raises(PolicyDenied):
        incidents.answer_linked_cases(agent, action, NOTE)


def _alert(value: str, last_day: date, dimension: str = "topic") -> Alert:
    return Alert.objects.create(
        metric="volume", dimension=dimension, value=value, label="物流", started_on=last_day, last_day=last_day,
        observed=40, expected=10, peak_z=5, severity="high", severity_rank=3, fingerprint=f"{dimension}:{value}:{last_day}",
    )  # fmt: skip


def test_a_closed_action_reopens_when_early_warning_fires_again_on_its_scope(
    manager, agent, department, django_capture_on_commit_callbacks
):
    action = services.create_action(
        manager, title="快递延误", department=department, owner=agent, due_date=date.today(), topics=["delivery"],
        plan="换快递",
    )  # fmt: skip
    other = services.create_action(
        manager, title="价格", department=department, owner=agent, due_date=date.today(), topics=["price"], plan="x"
    )
    for a in (action, other):
        implement(manager, agent, a, date.today() - timedelta(days=40))
        services.verify_action(agent, a)
        a.refresh_from_db()
        a.latest_verdict = "effective"
        a.save(update_fields=["latest_verdict"])
        services.close_action(manager, a, effective=True)

    with django_capture_on_commit_callbacks(execute=True):
        announce_alert(_alert("delivery.late", date.today()))
    action.refresh_from_db()
    other.refresh_from_db()
    assert action.status == ActionStatus.IN_PROGRESS and action.closed_at is None and action.latest_verdict == ""
    assert other.status == ActionStatus.CLOSED_EFFECTIVE  # another scope: untouched
    event = ActionEvent.objects.get(action=action, kind="reopened")
    assert event.from_status == "closed_effective" and event.payload["alert"] == "物流"
    note = Notification.objects.get(user=agent, kind=NotificationKind.ACTION_REOPENED)
    assert note.values["title"] == "快递延误"

    # an alert from before the close names an old problem: nothing reopens
    services.verify_action(None, services.implement_action(agent, action, date.today() - timedelta(days=1)))
    action.refresh_from_db()
    action.latest_verdict = "effective"
    action.save(update_fields=["latest_verdict"])
    services.close_action(manager, action, effective=True)
    announce_alert(_alert("delivery", date.today() - timedelta(days=3)))
    action.refresh_from_db()
    assert action.status == ActionStatus.CLOSED_EFFECTIVE
