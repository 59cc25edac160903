"""Distribution: email invitations, batches to a segment with fatigue and opt-outs, one reminder at most."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from voxloop.feedback.models import Customer
from voxloop.notify.models import MessageKind, MessageStatus, OutgoingMessage
from voxloop.surveys import answers, invitations
from voxloop.surveys.models import Invitation, InvitationStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(db) -> dict[str, Customer]:
    def make(name: str, **extra) -> Customer:
        defaults = {"external_id": name, "name": name, "email": f"{name}@example.com", "segment": "loyal"}
        return Customer.objects.create(**{**defaults, **extra})

    return {
        "zh": make("li", language="zh-hans", tags=["vip"]),
        "en": make("amy", language="en", tags=["vip", "b2b"]),
        "opted_out": make("zhao", opted_out=True, tags=["vip"]),
        "recent": make("qian", tags=["vip"]),
        "no_email": make("sun", email="", tags=["vip"]),
        "other_segment": make("zhou", segment="at_risk", tags=["vip"]),
    }


def test_a_batch_skips_opted_out_recently_surveyed_and_unreachable_customers_and_says_how_many(
    segment, nps_survey, django_capture_on_commit_callbacks
):
    invitations.create_link_invitation(nps_survey, customer=segment["recent"])  # surveyed a moment ago
    with django_capture_on_commit_callbacks(execute=True):
        result = invitations.invite_batch(nps_survey, segment="loyal")
    assert (result.invited, result.skipped_opted_out, result.skipped_recently_surveyed, result.skipped_no_email) == (
        2, 1, 1, 1,
    )  # fmt: skip
    sent = {m.to[0]: m for m in mail.outbox}
    assert set(sent) == {"li@example.com", "amy@example.com"}
    # Each in the customer's own language.
    assert "We would like to know how we did" in sent["amy@example.com"].body
    assert "我们想知道这次做得怎么样" in sent["li@example.com"].body
    assert sent["li@example.com"].subject == "Relationship NPS"  # no Chinese title set: the name
    assert Invitation.objects.filter(channel="batch", status=InvitationStatus.SENT).count() == 2
    # Run again at once: everybody was just surveyed (fatigue), nobody gets a second email.
    with django_capture_on_commit_callbacks(execute=True):
        again = invitations.invite_batch(nps_survey, segment="loyal")
    assert again.invited == 0 and again.skipped_recently_surveyed == 3
    assert len(mail.outbox) == 2


def test_a_batch_by_tags_needs_every_tag(segment, nps_survey):
    result = invitations.invite_batch(nps_survey, tags=["vip", "b2b"])
    assert result.invited == 1
    assert Invitation.objects.get().customer == segment["en"]


def test_a_batch_needs_an_audience(client, manager, nps_survey, segment):
    client.force_login(manager)
    page = client.post(reverse("surveys:invite", args=[nps_survey.pk, "batch"]), {"segment": "", "tags": ""})
    assert page.status_code == 400
    assert "never goes to every customer" in page.content.decode()
    assert not Invitation.objects.exists()


def test_the_batch_page_reports_the_skips(client, manager, nps_survey, segment, django_capture_on_commit_callbacks):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(reverse("surveys:invite", args=[nps_survey.pk, "batch"]), {"segment": "loyal"}, follow=True)
    text = page.content.decode()
    assert "3 invitations queued" in text and "1 opted out" in text and "1 without an email address" in text


def test_an_unanswered_invitation_is_reminded_once_and_only_once(
    nps_survey, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.invite_by_email(nps_survey, customer=customer, language="en")
    assert len(mail.outbox) == 1
    now = timezone.now()
    assert invitations.sweep_invitations(now + timedelta(days=1)).reminded == 0  # too early
    assert invitations.sweep_invitations(now + timedelta(days=4)).reminded == 1
    assert invitations.sweep_invitations(now + timedelta(days=5)).reminded == 0
    assert len(mail.outbox) == 2 and mail.outbox[1].subject.startswith("Reminder:")
    invitation.refresh_from_db()
    assert invitation.reminded_at is not None


def test_answered_invitations_get_no_reminder_and_stale_ones_expire(nps_survey, customer, segment):
    answered = invitations.invite_by_email(nps_survey, customer=customer)
    invitations.send_invitation(answered.pk)
    answers.submit_response(invitation=answered, data={"q1": "9"})
    stale = invitations.invite_by_email(nps_survey, customer=segment["zh"])
    invitations.send_invitation(stale.pk)
    mail.outbox.clear()
    result = invitations.sweep_invitations(timezone.now() + timedelta(days=31))
    assert result.reminded == 0 and result.expired == 1
    assert not mail.outbox
    assert Invitation.objects.get(pk=stale.pk).status == InvitationStatus.EXPIRED


def test_a_failed_send_is_recorded_not_lost(nps_survey, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    invitation = invitations.invite_by_email(nps_survey, customer=customer)
    assert invitations.send_invitation(invitation.pk) == "failed"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.FAILED and invitation.error


def test_email_invitation_needs_a_valid_address(client, manager, nps_survey):
    client.force_login(manager)
    page = client.post(reverse("surveys:invite", args=[nps_survey.pk, "email"]), {"email": "not-an-address"})
    assert page.status_code == 400 and "does not look right" in page.content.decode()
    page = client.post(reverse("surveys:invite", args=[nps_survey.pk, "email"]), {"customer_id": "NOPE"})
    assert page.status_code == 400 and "No customer has the ID NOPE" in page.content.decode()
    assert not Invitation.objects.exists()


def test_a_personal_link_is_shown_to_the_manager(client, manager, nps_survey, customer):
    client.force_login(manager)
    page = client.post(
        reverse("surveys:invite", args=[nps_survey.pk, "link"]), {"customer_id": "C-100"}, follow=True
    ).content.decode()
    invitation = Invitation.objects.get()
    assert f"/s/{invitation.token}/" in page
    assert invitation.customer == customer and invitation.language == "zh-hans"
    assert len(invitation.token) >= 32


def test_an_invitation_that_could_not_be_sent_says_why_in_the_readers_language(client, manager, nps_survey, segment):
    # A follow-up queued for a customer whose address was removed before the worker sent it.
    invitation = Invitation.objects.create(
        survey=nps_survey, customer=segment["no_email"], channel="followup", email="", language="zh-hans"
    )
    assert invitations.send_invitation(invitation.pk) == "failed"
    client.force_login(manager)
    url = reverse("surveys:detail", args=[nps_survey.pk])
    assert "没有邮箱地址。" in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "No email address." in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_invitations_and_reminders_go_out_through_the_notify_outbox(
    nps_survey, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitations.invite_by_email(nps_survey, customer=customer, language="en")
    invitations.sweep_invitations(timezone.now() + timedelta(days=4))
    sent = list(OutgoingMessage.objects.order_by("id").values_list("kind", "status", "to_email"))
    assert sent == [
        (MessageKind.SURVEY_INVITATION, MessageStatus.SENT, customer.email),
        (MessageKind.SURVEY_REMINDER, MessageStatus.SENT, customer.email),
    ]
    # The branded HTML part still travels with the plain text.
    first_mail = mail.outbox[0]
    assert invitation.token in first_mail.body
    assert isinstance(first_mail, EmailMultiAlternatives)
    assert [kind for _html, kind in first_mail.alternatives] == ["text/html"]


def test_a_failed_invitation_is_logged_in_the_outbox_with_the_reason(nps_survey, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens on the discard port
    invitation = invitations.invite_by_email(nps_survey, customer=customer)
    assert invitations.send_invitation(invitation.pk) == "failed"
    message = OutgoingMessage.objects.get()
    assert message.status == MessageStatus.FAILED and message.last_error
    invitation.refresh_from_db()
    assert message.last_error in invitation.error
