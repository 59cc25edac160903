"""Case events become emails (Django's locmem backend): who hears what, in which language, what a customer
without an address or who opted out gets, and that handling an event twice never sends twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.cases import followup, outbox
from voxloop.cases.events import record_event as _record
from voxloop.cases.models import Case, CaseEvent, Compensation, EventKind, Severity
from voxloop.cases.services import add_reply, assign_case, escalate_case, open_case, resolve_case
from voxloop.cases.sla import sweep_sla
from voxloop.cases.tests.conftest import MONDAY_9, sh
from voxloop.cases.tracking import tracking_url
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import Customer, Feedback
from voxloop.notify.models import MessageKind, MessageStatus, OutgoingMessage
from voxloop.notify.services import handle_case_event, send_due_messages
from voxloop.notify.staff import Attachment, queue_staff_email

counter = iter(range(1, 100_000))


def feedback(text: str = "快递还没到", *, email: str = "li.na@example.com", channel: str = "email", customer: str = "",
             language: str = "") -> int:  # fmt: skip
    n = next(counter)
    pk = ingest_feedback(
        [
            FeedbackInput(
                text=text, channel=channel, received_at=MONDAY_9, source="notify-test", external_id=f"n-{n}",
                customer_id=customer or f"N-{n}", customer_name="李娜", email=email,
            )
        ]
    ).created[0]  # fmt: skip
    if language:
        Feedback.objects.filter(pk=pk).update(language=language)
    return pk


def deliver() -> None:
    """What the workers do after commit: hand events to the handler, then send what it stored."""
    outbox.process_case_events()
    send_due_messages()


def acknowledge(case: Case) -> CaseEvent:
    return _record(case, EventKind.ACKNOWLEDGED, None, timezone.now(), automatic=True)


@pytest.fixture
def agent_wang(db, staffed_team) -> User:
    user = User.objects.create_user(
        "wang", password="x", role=Role.AGENT, first_name="伟", last_name="王", email="wang@corp.example", language="en"
    )
    user.teams.add(staffed_team)
    return user


@pytest.fixture
def sla_defaults_with_staff_email(staffed_team) -> None:
    for user in User.objects.all():
        user.email = f"{user.username}@corp.example"
        user.save(update_fields=["email"])


# --- to the customer ----------------------------------------------------------------------------------------


def test_acknowledgement_goes_out_after_commit_in_the_customers_language(
    make_feedback, django_capture_on_commit_callbacks
):
    case = open_case([feedback(language="zh")], Severity.URGENT, now=MONDAY_9)
    with django_capture_on_commit_callbacks(execute=True):
        acknowledge(case)  # commit -> outbox task -> handler stores the message -> commit -> send task
    [sent] = mail.outbox
    assert sent.to == ["li.na@example.com"]
    assert sent.subject == f"我们已收到您的反馈（工单 {case.number}）"
    assert "李娜" in sent.body
    assert tracking_url(case) in sent.body
    case.refresh_from_db()
    assert timezone.localtime(case.resolution_due_at).strftime("%H:%M") in sent.body
    assert sent.extra_headers["Auto-Submitted"] == "auto-generated"
    message = OutgoingMessage.objects.get()
    assert (message.kind, message.status, message.language, message.attempts) == (
        MessageKind.CUSTOMER_ACKNOWLEDGED, MessageStatus.SENT, "zh-hans", 1,
    )  # fmt: skip
    assert message.sent_at is not None


def test_public_reply_is_emailed_with_the_agents_first_name_only(agent_wang):
    case = open_case([feedback(language="en")], now=MONDAY_9)
    add_reply(case, agent_wang, "We have found your parcel; it arrives tomorrow.")
    add_reply(case, agent_wang, "internal: customer is a journalist", public=False)
    deliver()
    [sent] = mail.outbox
    assert sent.subject == f"Re: your case {case.number}"
    assert "We have found your parcel; it arrives tomorrow." in sent.body
    assert "伟" in sent.body
    assert "王" not in sent.body and "wang@corp.example" not in sent.body
    assert "journalist" not in sent.body
    assert "Auto-Submitted" not in sent.extra_headers  # a person wrote it


def test_resolution_notice_carries_the_tracking_link(agent_wang):
    case = open_case([feedback()], now=MONDAY_9)
    assert case.customer_id is not None
    Customer.objects.filter(pk=case.customer_id).update(language="en")
    resolve_case(case, agent_wang, root_cause="logistics", resolution="Resent the parcel")
    deliver()
    [sent] = [m for m in mail.outbox if m.to == ["li.na@example.com"]]
    assert sent.subject == f"Your case {case.number} is resolved"
    assert tracking_url(case) in sent.body
    assert "Resent the parcel" not in sent.body  # the internal resolution note is not the customer's message


def test_no_address_is_recorded_on_the_timeline_not_raised(agent_wang):
    case = open_case([feedback(email="")], now=MONDAY_9)
    add_reply(case, agent_wang, "您好")
    deliver()
    assert mail.outbox == []
    message = OutgoingMessage.objects.get()
    assert (message.status, message.last_error) == (MessageStatus.NOT_SENT, "no_address")
    note = CaseEvent.objects.get(case=case, kind=EventKind.NOTIFICATION)
    assert (note.payload["delivery"], note.payload["reason"]) == ("not_sent", "no_address")
    deliver()  # the note itself tells nobody and is not re-sent
    assert OutgoingMessage.objects.count() == 1


@pytest.mark.parametrize(("channel", "sent"), [("email", True), ("webform", True), ("review", False)])
def test_opted_out_customer_gets_replies_only_if_they_wrote_to_us(agent_wang, channel, sent):
    case = open_case([feedback(channel=channel)], now=MONDAY_9)
    assert case.customer_id is not None
    Customer.objects.filter(pk=case.customer_id).update(opted_out=True)
    add_reply(case, agent_wang, "您好，我们看到了您的评价")
    deliver()
    assert len(mail.outbox) == (1 if sent else 0)
    message = OutgoingMessage.objects.get()
    if not sent:
        assert (message.status, message.last_error) == (MessageStatus.NOT_SENT, "opted_out")
        note = CaseEvent.objects.get(case=case, kind=EventKind.NOTIFICATION)
        assert note.payload["reason"] == "opted_out"


def test_language_falls_back_to_the_site_default(agent_wang, settings):
    case = open_case([feedback()], now=MONDAY_9)
    add_reply(case, agent_wang, "hi")
    deliver()
    assert OutgoingMessage.objects.get().language == "zh-hans"
    assert mail.outbox[0].subject == f"回复：您的工单 {case.number}"


def test_an_event_handled_twice_sends_once(agent_wang):
    case = open_case([feedback()], now=MONDAY_9)
    event = add_reply(case, agent_wang, "您好")
    handle_case_event(event)
    handle_case_event(event)
    send_due_messages()
    send_due_messages()
    assert len(mail.outbox) == 1
    assert OutgoingMessage.objects.count() == 1


def test_internal_events_tell_nobody(agent_wang):
    case = open_case([feedback()], now=MONDAY_9)
    add_reply(case, agent_wang, "note", public=False)
    assign_case(case, agent_wang)
    deliver()
    assert mail.outbox == []
    assert not OutgoingMessage.objects.exists()


# --- to staff -----------------------------------------------------------------------------------------------


def test_sla_warning_breach_and_escalation_reach_the_right_people(
    staffed_team, agent_wang, sla_defaults_with_staff_email
):
    case = open_case([feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    assign_case(case, agent_wang, now=MONDAY_9)
    sweep_sla(now=sh(2026, 11, 23, 9, 50))  # first-response warning
    deliver()
    warning = [m for m in mail.outbox if "SLA warning" in m.subject]
    assert [m.to for m in warning] == [["wang@corp.example"]]  # the assignee, in their language (en)
    assert "first response" in warning[0].body
    mail.outbox.clear()
    sweep_sla(now=sh(2026, 11, 23, 10, 1))  # first-response breach -> level 1 (team lead) at once
    deliver()
    by_subject = {(m.subject.split(":")[0], m.to[0]) for m in mail.outbox}
    assert ("SLA breached", "wang@corp.example") in by_subject
    lead_mail = [m for m in mail.outbox if m.to == ["li-lead@corp.example"]]
    assert lead_mail, mail.outbox  # the team lead hears of the breach and of the escalation to them
    assert any("升级" in m.subject or "Escalated" in m.subject for m in lead_mail)


def test_on_demand_escalation_notifies_the_target_with_the_reason(
    staffed_team, agent_wang, sla_defaults_with_staff_email
):
    case = open_case([feedback()], team=staffed_team, now=MONDAY_9)
    escalate_case(case, agent_wang, reason="客户要求赔偿超出权限")
    deliver()
    [sent] = [m for m in mail.outbox if m.to == ["li-lead@corp.example"]]
    assert "客户要求赔偿超出权限" in sent.body
    assert OutgoingMessage.objects.get(to_user=staffed_team.lead).kind == MessageKind.STAFF_ESCALATION


def test_pending_compensation_goes_to_the_department_manager(staffed_team, agent_wang, sla_defaults_with_staff_email):
    case = open_case([feedback()], team=staffed_team, now=MONDAY_9)
    comp = Compensation.objects.create(case=case, amount=Decimal("800"), reason="破损", requested_by=agent_wang)
    _record(case, EventKind.COMPENSATION, agent_wang, timezone.now(), action="proposed", status="pending",
            amount="800.00", currency="CNY", compensation_id=comp.pk)  # fmt: skip
    _record(case, EventKind.COMPENSATION, agent_wang, timezone.now(), action="proposed", status="approved",
            amount="100.00", currency="CNY", compensation_id=comp.pk)  # fmt: skip
    deliver()
    [sent] = mail.outbox
    assert sent.to == ["mei-manager@corp.example"]
    assert "800.00 CNY" in sent.body


def test_compensation_above_the_managers_limit_goes_to_administrators(staffed_team, agent_wang,
                                                                       sla_defaults_with_staff_email):  # fmt: skip
    User.objects.create_user("root", password="x", role=Role.ADMIN, email="root@corp.example")
    case = open_case([feedback()], team=staffed_team, now=MONDAY_9)
    comp = Compensation.objects.create(case=case, amount=Decimal("9000"), reason="重大损失", requested_by=agent_wang)
    _record(case, EventKind.COMPENSATION, agent_wang, timezone.now(), action="proposed", status="pending",
            amount="9000.00", currency="CNY", compensation_id=comp.pk)  # fmt: skip
    deliver()
    assert [m.to for m in mail.outbox] == [["root@corp.example"]]


def test_follow_up_task_and_customer_message_reach_the_agent(agent_wang):
    from datetime import timedelta

    from voxloop.cases.tracking import add_customer_message

    case = open_case([feedback()], now=MONDAY_9)
    assign_case(case, agent_wang)
    add_customer_message(case, "补充：订单号 A-1")
    resolve_case(case, agent_wang, root_cause="logistics", resolution="ok", now=timezone.now())
    followup.process_due_follow_ups(now=timezone.now() + timedelta(days=3, minutes=1))
    deliver()
    to_agent = [m for m in mail.outbox if m.to == ["wang@corp.example"]]
    kinds = sorted(OutgoingMessage.objects.filter(to_user=agent_wang).values_list("kind", flat=True))
    assert kinds == [MessageKind.STAFF_CUSTOMER_MESSAGE, MessageKind.STAFF_FOLLOW_UP]
    assert any("补充：订单号 A-1" in m.body for m in to_agent)


def test_a_message_that_cannot_be_prepared_is_recorded_and_does_not_block_the_outbox(agent_wang, monkeypatch):
    from voxloop.notify import services

    case = open_case([feedback()], now=MONDAY_9)
    add_reply(case, agent_wang, "first")
    real_render = services._render

    def broken_render(kind, language, context):
        if context["text"] == "first":
            raise KeyError("missing_variable")
        return real_render(kind, language, context)

    monkeypatch.setattr(services, "_render", broken_render)
    deliver()
    add_reply(case, agent_wang, "second")
    deliver()
    statuses = list(OutgoingMessage.objects.order_by("id").values_list("status", "last_error"))
    assert statuses[0] == (MessageStatus.FAILED, "could not be prepared: KeyError: 'missing_variable'")
    assert statuses[1] == (MessageStatus.SENT, "")
    assert [m.body.count("second") for m in mail.outbox] == [1]
    assert not CaseEvent.objects.filter(processed=False).exists()  # nothing stuck in the outbox
    note = CaseEvent.objects.get(case=case, kind=EventKind.NOTIFICATION)
    assert note.payload["delivery"] == "failed"


@pytest.mark.django_db
def test_a_staff_email_carries_its_html_and_attachment_to_an_outside_address():
    """Reports go out through the outbox too: an HTML part and a PDF, to a user or an address outside VoxLoop."""
    message = queue_staff_email(
        None, MessageKind.STAFF_REPORT, "zh-hans", "服务质量评估报告", "摘要", html="<p>摘要</p>",
        attachments=[Attachment("report.pdf", "application/pdf", b"%PDF-1.7 test")], to_email="board@example.org",
    )  # fmt: skip
    assert message.recipient == "address:board@example.org" and message.status == MessageStatus.PENDING
    assert send_due_messages().sent == 1
    sent = mail.outbox[-1]
    assert isinstance(sent, EmailMultiAlternatives)
    assert sent.to == ["board@example.org"] and sent.alternatives[0][0] == "<p>摘要</p>"
    assert sent.attachments == [("report.pdf", b"%PDF-1.7 test", "application/pdf")]
    nowhere = queue_staff_email(None, MessageKind.STAFF_REPORT, "en", "s", "b", to_email="")
    assert nowhere.status == MessageStatus.NOT_SENT and nowhere.last_error == "no_address"
