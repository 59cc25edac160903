"""E-mails to colleagues that are not about one case (early-warning alerts), through the same outbox.

Stored as OutgoingMessage rows in the caller's transaction and sent by ``send_outgoing_messages_task`` after
commit, like the case messages in ``services``: one record of what was said to whom and what became of it,
one sender with its retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from voxloop.accounts.models import User
from voxloop.alerts.hooks import AlertRaised
from voxloop.alerts.messages import alert_email
from voxloop.alerts.services import subscribers_for
from voxloop.cases.tracking import normalise_language
from voxloop.core.kicks import on_commit_once
from voxloop.notify.models import MessageAttachment, MessageKind, MessageStatus, NotSentReason, OutgoingMessage
from voxloop.notify.tasks import send_outgoing_messages_task


def staff_language(user: User) -> str:
    return normalise_language(user.language) or normalise_language(settings.LANGUAGE_CODE) or "en"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def queue_staff_email(
    user: User | None,
    kind: str,
    language: str,
    subject: str,
    body: str,
    *,
    html: str = "",
    attachments: Sequence[Attachment] = (),
    to_email: str | None = None,
) -> OutgoingMessage:
    """Store one message to a colleague (or, with ``to_email`` and no user, to an address outside VoxLoop, such
    as a report's external recipient); without an address it is stored as not sent, which says why. ``html`` is
    sent as an alternative part and ``attachments`` as files, by the same retrying sender."""
    address = (to_email if to_email is not None else (user.email if user is not None else "")).strip()
    message = OutgoingMessage(
        kind=kind, recipient=f"user:{user.pk}" if user is not None else f"address:{address}"[:40],
        to_user=user, to_email=address, language=language, subject=subject[:300], body=body.strip() + "\n",
        html_body=html, next_attempt_at=timezone.now(),
    )  # fmt: skip
    if not address:
        message.status, message.last_error, message.next_attempt_at = (
            MessageStatus.NOT_SENT,
            NotSentReason.NO_ADDRESS,
            None,
        )
    message.save()
    MessageAttachment.objects.bulk_create(
        MessageAttachment(message=message, filename=a.filename, content_type=a.content_type, content=a.content)
        for a in attachments
    )
    if message.status == MessageStatus.PENDING:
        on_commit_once(_kick_sender)
    return message


def _kick_sender() -> None:
    send_outgoing_messages_task.delay()


def queue_alert_emails(raised: AlertRaised) -> int:
    """The alerts announcer (registered in NotifyConfig.ready): one e-mail per matching subscriber, in their
    language. Returns how many are waiting to be sent."""
    queued = 0
    for subscription in subscribers_for(raised.alert):
        user = subscription.user
        language = staff_language(user)
        subject, body = alert_email(raised.alert, raised.previous_severity, user, language)
        message = queue_staff_email(user, MessageKind.STAFF_ALERT, language, subject, body)
        queued += message.status == MessageStatus.PENDING
    return queued
