"""Survey invitations and reminders through the outbox (the mailer voxloop.surveys asks for).

Unlike case messages they are sent at once, one attempt, by the survey's own worker: the invitation records
whether it went out (and a reminder is never retried), so the row here is written first, as the record of
what was sent to whom, and then marked sent or failed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from voxloop.actions.hooks import FixNoticeMessage, NoticeSendError
from voxloop.notify.gateway import TRANSPORTS
from voxloop.notify.models import DeliveryChannel, MessageKind, MessageStatus, OutgoingMessage
from voxloop.notify.services import AUTOMATIC, classify
from voxloop.surveys.delivery import SurveyEmail, SurveyMailError


def send_survey_email(mail: SurveyEmail) -> None:
    """Store and send one invitation or reminder; raises SurveyMailError (and records it) when it fails."""
    message = OutgoingMessage.objects.create(
        kind=MessageKind.SURVEY_REMINDER if mail.reminder else MessageKind.SURVEY_INVITATION,
        recipient=f"invitation:{mail.invitation_id}",
        to_email=mail.to,
        language=mail.language,
        subject=mail.subject[:300],
        body=mail.body,
        html_body=mail.html,
        next_attempt_at=None,  # not for the retrying sender: this one attempt is the survey worker's
        attempts=1,
    )
    reason = _send_once(message)
    if reason is not None:
        raise SurveyMailError(reason)


def send_fix_notice(mail: FixNoticeMessage) -> None:
    """Store and send one "we fixed it" notice, once, by the channel routing chose (e-mail, SMS or chat app); the
    actions app logs the result per customer. Raises NoticeSendError, recorded on the row, when it fails."""
    email = mail.channel == DeliveryChannel.EMAIL
    message = OutgoingMessage.objects.create(
        kind=MessageKind.FIX_NOTICE, recipient=mail.notice_ref[:40], to_email=mail.to if email else "",
        channel=mail.channel, address=mail.to, language=mail.language, subject=mail.subject[:300], body=mail.body,
        next_attempt_at=None, attempts=1,
    )  # fmt: skip
    reason = _send_once(message)
    if reason is not None:
        raise NoticeSendError(reason)


def _send_once(message: OutgoingMessage) -> str | None:
    """One attempt at a stored message, marked sent or failed on its row; returns the failure's reason, or None.
    The caller raises its own error, which its app records (on the invitation, on the notice)."""
    transport = TRANSPORTS.get(message.channel)  # SMS or chat app: the company's gateway; else e-mail
    try:
        if transport is not None:
            transport(message)
        else:
            _email(message).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row and by the caller
        _permanent, reason = classify(exc)
        OutgoingMessage.objects.filter(pk=message.pk).update(
            status=MessageStatus.FAILED, last_error=reason[:2000], updated_at=timezone.now()
        )
        return reason
    now = timezone.now()
    OutgoingMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=now, updated_at=now)
    return None


def _email(message: OutgoingMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        headers={"Auto-Submitted": "auto-generated"} if message.kind in AUTOMATIC else None,
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    return email
