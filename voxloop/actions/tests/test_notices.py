""" "You told us, we fixed it": who is told (scope in the baseline window), who is skipped and why (opt-out,
consent, fatigue, no address), each customer's own language, one notice per customer, each send logged."""

from __future__ import annotations

import smtplib
from datetime import date, datetime, time, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import notices, services
from voxloop.actions.models import ActionStatus, FixNotice, ImprovementAction
from voxloop.actions.services import ActionError, ActionErrorCode
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Customer, Feedback
from voxloop.notify.models import MessageKind, OutgoingMessage
from voxloop.surveys.models import Invitation, Survey

NOTE = "我们更换了快递公司。We changed our courier."


def _at(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)), timezone.get_current_timezone())


def _item(customer: Customer | None, day: date, topic: str = "delivery", language: str = "zh") -> Feedback:
    item = Feedback.objects.create(
        channel="webform", source="t", external_id=f"{customer.pk if customer else 0}-{day}-{topic}",
        received_at=_at(day), text="快递太慢", kind="complaint", sentiment="negative", customer=customer,
        language=language,
    )  # fmt: skip
    FeedbackTopic.objects.create(feedback=item, code=topic, top_code=topic)
    return item


@pytest.fixture
def closed(db, manager, agent):
    """An action closed as effective, created today: its baseline window is the 90 days before."""
    department = Department.objects.create(name="物流部", manager=manager)
    today = timezone.localdate()
    people = {
        "zh": Customer.objects.create(name="王芳", email="wang@example.com", language="zh-CN"),
        "en": Customer.objects.create(name="Jane", email="jane@example.com", language="en"),
        "opted_out": Customer.objects.create(name="Out", email="out@example.com", opted_out=True),
        "surveyed": Customer.objects.create(name="Sue", email="sue@example.com"),
        "no_address": Customer.objects.create(name="Nobody"),
        "other_topic": Customer.objects.create(name="Price", email="price@example.com"),
        "too_old": Customer.objects.create(name="Old", email="old@example.com"),
    }
    for key, customer in people.items():
        if key == "other_topic":
            _item(customer, today - timedelta(days=10), topic="price")
        elif key == "too_old":
            _item(customer, today - timedelta(days=120))
        else:
            _item(customer, today - timedelta(days=20), language="en" if key == "en" else "zh")
    survey = Survey.objects.create(name="NPS", kind="nps")
    Invitation.objects.create(survey=survey, customer=people["surveyed"], channel="email", email="sue@example.com")
    action = services.create_action(
        manager, title="换快递", department=department, owner=agent, due_date=today, topics=["delivery"], plan="x",
    )  # fmt: skip
    # walked to "closed effective" (the measurement itself is tested in test_services)
    ImprovementAction.objects.filter(pk=action.pk).update(status=ActionStatus.CLOSED_EFFECTIVE, public_note=NOTE)
    action.refresh_from_db()
    return action, people


def test_the_audience_respects_scope_window_opt_out_and_fatigue(closed):
    action, people = closed
    audience = notices.notice_audience(action)
    told = {r.customer_id: r.language for r in audience.recipients}
    assert told == {people["zh"].pk: "zh-hans", people["en"].pk: "en"}
    assert (audience.opted_out, audience.recently_contacted, audience.no_address) == (1, 1, 1)
    assert audience.matched == 5  # the other topic and the item before the window are not in the scope


def test_sending_tells_each_customer_once_in_their_language_and_logs_it(closed, manager, agent):
    action, people = closed
    with pytest.raises(ActionError) as refused:
        notices.send_fix_notices(agent, action)  # the owner is an agent: managers send
    assert refused.value.code == ActionErrorCode.NOT_ALLOWED

    result = notices.send_fix_notices(manager, action)
    assert (result.sent, result.failed) == (2, 0)
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"wang@example.com", "jane@example.com"}
    assert by_address["wang@example.com"].subject.startswith("您反馈的问题，我们已经改进")
    assert "尊敬的王芳" in by_address["wang@example.com"].body and NOTE in by_address["wang@example.com"].body
    assert by_address["jane@example.com"].subject.startswith("You told us, we fixed it")
    assert NOTE in by_address["jane@example.com"].body and "Dear Jane," in by_address["jane@example.com"].body
    log = FixNotice.objects.filter(action=action)
    assert sorted(log.values_list("language", flat=True)) == ["en", "zh-hans"]
    assert OutgoingMessage.objects.filter(kind=MessageKind.FIX_NOTICE, status="sent").count() == 2

    again = notices.send_fix_notices(manager, action)
    assert again.sent == 0 and again.audience.already_told == 2 and len(mail.outbox) == 2


def test_only_an_action_closed_effective_with_a_note_tells_anyone(closed, manager):
    action, _people = closed
    ImprovementAction.objects.filter(pk=action.pk).update(status=ActionStatus.CLOSED_NOT_EFFECTIVE)
    action.refresh_from_db()
    with pytest.raises(ActionError) as wrong:
        notices.send_fix_notices(manager, action)
    assert wrong.value.code == ActionErrorCode.WRONG_STATUS
    ImprovementAction.objects.filter(pk=action.pk).update(status=ActionStatus.CLOSED_EFFECTIVE, public_note="")
    action.refresh_from_db()
    with pytest.raises(ActionError):
        notices.send_fix_notices(manager, action)
    assert not mail.outbox and not FixNotice.objects.exists()


def test_the_preview_page_counts_and_sends(client, closed, manager):
    action, _people = closed
    client.force_login(manager)
    page = client.get(f"/actions/{action.pk}/notices/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-count="recipients"><strong>2</strong>' in html
    assert NOTE in html
    sent = client.post(f"/actions/{action.pk}/notices/", follow=True)
    assert sent.status_code == 200 and len(mail.outbox) == 2


def test_a_failed_notice_is_logged_and_tried_again_by_the_next_send(closed, manager, settings):
    action, people = closed
    settings.EMAIL_BACKEND = "voxloop.actions.tests.test_notices.RefusingBackend"
    first = notices.send_fix_notices(manager, action)
    assert (first.sent, first.failed) == (0, 2)
    failed = FixNotice.objects.get(action=action, customer=people["en"])
    assert failed.status == "failed" and "refused" in failed.error
    assert OutgoingMessage.objects.filter(kind=MessageKind.FIX_NOTICE, status="failed").count() == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert len(notices.notice_audience(action).recipients) == 2  # failed is not "told"
    second = notices.send_fix_notices(manager, action)
    assert (second.sent, second.failed) == (2, 0) and len(mail.outbox) == 2
    assert FixNotice.objects.filter(action=action).count() == 2  # one row per customer, now sent


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message (a real SMTP error class, no mock of our code)."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({m.to[0]: (550, b"refused") for m in email_messages})


def test_the_is_it_fixed_question_links_each_customer_to_their_own_survey(closed, manager):
    from voxloop.surveys.models import Invitation

    action, people = closed
    question = Survey.objects.create(name="修好了吗", kind="csat", languages=["zh-hans", "en"])
    result = notices.send_fix_notices(manager, action, survey=question)
    assert result.sent == 2
    for notice in FixNotice.objects.filter(action=action):
        assert notice.invitation is not None and notice.invitation.customer_id == notice.customer_id
        message = next(m for m in mail.outbox if m.to == [notice.address])
        assert notice.invitation.token in message.body
    assert Invitation.objects.get(customer=people["en"], survey=question).language == "en"


def test_each_customer_reads_the_note_in_their_own_language(closed, manager, client):
    action, _people = closed
    client.force_login(manager)
    preview = client.get(f"/actions/{action.pk}/notices/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 customer reads English, but the action has no English note" in preview  # said before sending
    saved = client.post(
        f"/actions/{action.pk}/public-note/",
        {"public_note": "我们更换了快递公司，包裹两天内送达。", "public_note_en": "We changed our courier: parcels "
         "now arrive within two days."},
    )  # fmt: skip
    assert saved.status_code == 302
    action.refresh_from_db()
    preview = client.get(f"/actions/{action.pk}/notices/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "没有英文说明" not in preview and "We changed our courier: parcels now arrive" in preview
    assert notices.send_fix_notices(manager, action).sent == 2
    by_address = {m.to[0]: m.body for m in mail.outbox}
    assert "我们更换了快递公司，包裹两天内送达。" in by_address["wang@example.com"]
    assert "We changed our courier" not in by_address["wang@example.com"]
    assert "We changed our courier: parcels now arrive within two days." in by_address["jane@example.com"]
    assert "我们更换了快递公司" not in by_address["jane@example.com"]
    page = client.get(f"/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="public-note-en" lang="en"' in page
