"""The consent ledger stops follow-ups and notices at once, through the senders' own code paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail

from voxloop.accounts.models import Role, User
from voxloop.cases import outbox
from voxloop.cases.models import FollowUp, FollowUpStatus
from voxloop.cases.services import add_reply, open_case, resolve_case
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import Customer
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.notify.services import send_due_messages
from voxloop.privacy import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(db, staffed_team) -> User:
    user = User.objects.create_user("wang", password="x", role=Role.AGENT, email="wang@corp.example")
    user.teams.add(staffed_team)
    return user


def _emailed_case(agent: User):
    pk = ingest_feedback(
        [FeedbackInput(text="快递还没到", channel="email", received_at=MONDAY_9, source="mail", external_id="m-1",
                       customer_id="C-9", customer_name="李娜", email="li.na@example.com")]
    ).created[0]  # fmt: skip
    return open_case([pk], now=MONDAY_9)


def test_withdrawn_notices_are_not_sent_even_to_a_customer_who_wrote_to_us(agent):
    case = _emailed_case(agent)
    customer = Customer.objects.get(external_id="C-9")
    services.withdraw_consent(customer, "notices", source="phone call")
    add_reply(case, agent, "您好，我们已经在处理")
    outbox.process_case_events()
    send_due_messages()
    to_customer = OutgoingMessage.objects.filter(recipient="customer")
    assert to_customer.exists()
    assert set(to_customer.values_list("status", "last_error")) == {(MessageStatus.NOT_SENT, "consent_withdrawn")}
    assert "li.na@example.com" not in [address for m in mail.outbox for address in m.to]


def test_a_waiting_notice_is_stopped_when_consent_is_withdrawn(agent):
    case = _emailed_case(agent)
    add_reply(case, agent, "您好")
    outbox.process_case_events()  # queued, not sent yet
    waiting = OutgoingMessage.objects.filter(recipient="customer", status=MessageStatus.PENDING)
    assert waiting.exists()
    services.withdraw_consent(Customer.objects.get(external_id="C-9"), "notices", source="letter")
    assert not waiting.exists()
    send_due_messages()
    assert "li.na@example.com" not in [address for m in mail.outbox for address in m.to]


def test_follow_ups_skip_a_withdrawn_customer_and_a_scheduled_one_is_skipped_at_once(make_feedback):
    first = open_case([make_feedback(customer_id="C-F")], now=MONDAY_9)
    resolve_case(first, None, root_cause="logistics", resolution="已补发", now=MONDAY_9 + timedelta(hours=1))
    scheduled = FollowUp.objects.get(case=first)
    assert scheduled.status == FollowUpStatus.SCHEDULED
    services.withdraw_consent(Customer.objects.get(external_id="C-F"), "follow_ups", source="web form")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.skip_reason) == (FollowUpStatus.SKIPPED, "consent_withdrawn")
    second = open_case([make_feedback(customer_id="C-F")], now=MONDAY_9)
    resolve_case(second, None, root_cause="logistics", resolution="已退款", now=MONDAY_9 + timedelta(hours=2))
    assert FollowUp.objects.get(case=second).status == FollowUpStatus.SKIPPED
