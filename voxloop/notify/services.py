"""Notifications: case events in, outgoing email out.

``handle_case_event`` is the outbox handler (registered in NotifyConfig.ready). It runs inside the outbox
transaction, so it only *stores* OutgoingMessage rows (and timeline notes for messages that cannot go out);
``send_due_messages`` sends them from a Celery task after commit, outside any transaction, and retries temporary
SMTP failures with exponential backoff. A refused address (5xx) fails at once and the case timeline says so.

Who hears what:
- the customer: the acknowledgement, every public reply, and the resolution (with the tracking link), in their
  language (case, customer, else the language they wrote in);
- staff (by email unless they turned it off; always in-app, see ``inbox``): SLA warnings (assignee, else team
  lead), breaches (assignee and team lead), escalations (the level's people, or the administrators when it names
  nobody), compensation waiting for approval (the department manager if their limit covers it, else the
  administrators), follow-up tasks, information the customer added, and automation rules' "notify" actions.

Opt-out rule: a customer who opted out of contact still gets the acknowledgement, replies and resolution of a
case only if they wrote to us themselves (a case with feedback from email, web form, chat, hotline or in person);
a case built only from reviews, social posts, surveys or staff reports sends them nothing (recorded as not sent).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Role, User
from voxloop.cases.compensation import may_approve
from voxloop.cases.delivery import FeedbackContact, ReplyPreview, ReplyRoute
from voxloop.cases.events import record_event
from voxloop.cases.models import Case, CaseEvent, Clock, Compensation, EventKind
from voxloop.cases.tracking import customer_language, normalise_language, tracking_url
from voxloop.channels.email.threading import outgoing_message_id
from voxloop.core.kicks import on_commit_once
from voxloop.core.work_queue import claim_row, due_rows
from voxloop.feedback.hooks import ContactPurpose, blocked_customer_ids
from voxloop.feedback.models import Channel, Feedback
from voxloop.notify.gateway import TRANSPORTS, GatewayError
from voxloop.notify.models import (
    DeliveryChannel,
    MessageKind,
    MessageStatus,
    NotificationPreference,
    NotSentReason,
    OutgoingMessage,
)
from voxloop.notify.routing import route_customer

logger = logging.getLogger(__name__)

# Channels where the customer addressed us directly (the opt-out rule above).
CUSTOMER_WROTE_CHANNELS = (Channel.EMAIL, Channel.WEBFORM, Channel.CHAT, Channel.HOTLINE, Channel.IN_PERSON)
CUSTOMER = "customer"
MAX_RETRY_DELAY = timedelta(hours=6)
# A claimed message is retried after this long if its worker died mid-send (at-least-once delivery).
CLAIM_LEASE = timedelta(minutes=10)

SUBJECTS: dict[str, Any] = {
    MessageKind.CUSTOMER_ACKNOWLEDGED: _("We have received your feedback (case %(number)s)"),
    MessageKind.CUSTOMER_REPLY: _("Re: your case %(number)s"),
    MessageKind.CUSTOMER_RESOLVED: _("Your case %(number)s is resolved"),
    MessageKind.STAFF_SLA_WARNING: _("SLA warning: case %(number)s is due soon"),
    MessageKind.STAFF_SLA_BREACH: _("SLA breached: case %(number)s"),
    MessageKind.STAFF_ESCALATION: _("Escalated to you: case %(number)s"),
    MessageKind.STAFF_COMPENSATION: _("Compensation waiting for your approval: case %(number)s"),
    MessageKind.STAFF_FOLLOW_UP: _("Follow-up due: case %(number)s"),
    MessageKind.STAFF_CUSTOMER_MESSAGE: _("The customer added information: case %(number)s"),
    MessageKind.STAFF_RULE: _("Automation rule: case %(number)s"),
}
CLOCK_LABELS = {Clock.FIRST_RESPONSE: _("first response"), Clock.RESOLUTION: _("resolution")}
# Automatic messages say so (RFC 3834), so auto-responders do not answer them; a human reply does not.
AUTOMATIC = {k for k in MessageKind.values if k != MessageKind.CUSTOMER_REPLY}


@dataclass
class Planned:
    kind: str
    recipient: str  # "customer" or "user:<id>"
    to_user: User | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- planning: which event tells whom what -----------------------------------------------------------------


def _staff(*users: User | None) -> list[Planned]:
    seen: set[int] = set()
    planned = []
    for user in users:
        if user is not None and user.is_active and user.pk not in seen:
            seen.add(user.pk)
            planned.append(Planned("", f"user:{user.pk}", user))
    return planned


def _assignee_or_lead(case: Case) -> list[Planned]:
    return _staff(case.assignee or (case.team.lead if case.team_id and case.team else None))


def _user(pk: Any) -> User | None:
    return User.objects.filter(pk=pk).first() if isinstance(pk, int) else None


def _escalation_users(payload: dict[str, Any]) -> list[User]:
    """Everyone an escalation reaches (``to_user_ids``; events from before it was recorded name one user)."""
    ids = [pk for pk in payload.get("to_user_ids") or [payload.get("to_user_id")] if isinstance(pk, int)]
    by_pk = User.objects.in_bulk(ids)
    return [by_pk[pk] for pk in ids if pk in by_pk]


def _approvers(case: Case, payload: dict[str, Any]) -> list[Planned]:
    compensation_id = payload.get("compensation_id")
    comp = Compensation.objects.filter(pk=compensation_id).first() if isinstance(compensation_id, int) else None
    if comp is None:
        return []
    department = case.team.department if case.team_id and case.team and case.team.department_id else None
    manager = department.manager if department else None
    if manager is not None and may_approve(manager, comp):
        return _staff(manager)
    admins = User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True).order_by("pk")[:20]
    return _staff(*[u for u in admins if may_approve(u, comp)])


def plan(event: CaseEvent, case: Case) -> list[Planned]:
    kind, payload = event.kind, event.payload or {}
    planned: list[Planned]
    if kind == EventKind.ACKNOWLEDGED:
        planned, message = [Planned("", CUSTOMER)], MessageKind.CUSTOMER_ACKNOWLEDGED
    elif kind == EventKind.PUBLIC_REPLY:
        planned, message = [Planned("", CUSTOMER)], MessageKind.CUSTOMER_REPLY
    elif kind == EventKind.RESOLVED:
        planned, message = [Planned("", CUSTOMER)], MessageKind.CUSTOMER_RESOLVED
    elif kind == EventKind.SLA_WARNING:
        planned, message = _assignee_or_lead(case), MessageKind.STAFF_SLA_WARNING
    elif kind == EventKind.SLA_BREACH:
        lead = case.team.lead if case.team_id and case.team else None
        planned, message = _staff(case.assignee, lead), MessageKind.STAFF_SLA_BREACH
    elif kind == EventKind.ESCALATED:
        planned, message = _staff(*_escalation_users(payload)), MessageKind.STAFF_ESCALATION
    elif kind == EventKind.COMPENSATION and payload.get("status") == "pending":
        planned, message = _approvers(case, payload), MessageKind.STAFF_COMPENSATION
    elif kind == EventKind.FOLLOW_UP and payload.get("action") == "due":
        planned, message = _staff(_user(payload.get("to_user_id"))), MessageKind.STAFF_FOLLOW_UP
    elif kind == EventKind.CUSTOMER_MESSAGE:
        planned, message = _assignee_or_lead(case), MessageKind.STAFF_CUSTOMER_MESSAGE
    elif kind == EventKind.NOTIFICATION and "rule" in payload:
        planned, message = _assignee_or_lead(case), MessageKind.STAFF_RULE
    else:
        return []  # everything else (including our own "delivery" notes) tells nobody
    for item in planned:
        item.kind = message
    return planned


# --- rendering ----------------------------------------------------------------------------------------------


def _fmt(moment: datetime | None, tz_name: str) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment, ZoneInfo(tz_name))
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({tz_name})"


def _case_url(case: Case) -> str:
    try:
        path = reverse("cases:detail", args=[case.pk])
    except NoReverseMatch:
        path = f"/cases/{case.pk}/"
    return settings.SITE_URL.rstrip("/") + path


def _render(kind: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    with translation.override(language):
        subject = str(SUBJECTS[kind]) % {"number": context["number"]}
        context = {
            **context,
            "expected": _fmt(context.get("expected_at"), context["time_zone"]),
            "due": _fmt(context.get("due_at"), context["time_zone"]),
            "clock_label": str(CLOCK_LABELS.get(context.get("clock", ""), "")),
        }
        body = render_to_string(f"notify/email/{kind}.txt", context)
    return subject[:300], body.strip() + "\n"


def _context(event: CaseEvent, case: Case, recipient: Planned) -> dict[str, Any]:
    payload = event.payload or {}
    policy = case.sla_policy
    due_at = payload.get("due_at")
    context: dict[str, Any] = {
        "number": case.number or str(case.pk),
        "title": case.title,
        "customer_name": case.customer.name if case.customer_id and case.customer else "",
        "tracking_url": tracking_url(case),
        "case_url": _case_url(case),
        "time_zone": policy.calendar.time_zone if policy else settings.TIME_ZONE,
        "expected_at": case.resolution_due_at if case.is_active else None,
        "due_at": datetime.fromisoformat(due_at) if isinstance(due_at, str) else None,
        "clock": payload.get("clock", ""),
        "text": payload.get("text", ""),
        "note": payload.get("note", "") or payload.get("message", ""),
        "rule": payload.get("rule", ""),
        "level": payload.get("level"),
        "amount": payload.get("amount", ""),
        "currency": payload.get("currency", ""),
        "recipient_name": recipient.to_user.get_full_name() or recipient.to_user.username if recipient.to_user else "",
        # An agent signs with their first name only: customers never see more of a colleague.
        "agent_first_name": (event.actor.first_name or "").strip() if event.actor_id and event.actor else "",
    }
    return context


# --- the outbox handler -------------------------------------------------------------------------------------


def customer_address(case: Case) -> str:
    if case.customer_id and case.customer and case.customer.email:
        return case.customer.email
    latest = (
        Feedback.objects.filter(case_links__case_id=case.pk)
        .exclude(contact_email="")
        .order_by("-received_at", "-id")
        .values_list("contact_email", flat=True)
        .first()
    )
    return latest or ""


def case_contact(case: Case) -> FeedbackContact | None:
    """The feedback the customer wrote to us most recently on this case: its channel decides the reply's."""
    row = (
        Feedback.objects.filter(case_links__case_id=case.pk)
        .order_by("-received_at", "-id")
        .values_list("channel", "source", "contact_email", "contact_phone")
        .first()
    )
    return FeedbackContact(*row) if row else None


def case_route(case: Case) -> ReplyRoute:
    """The channel and address a message to this case's customer goes by (notify/routing.py)."""
    customer = case.customer if case.customer_id else None
    return route_customer(customer, case_contact(case), customer_address(case))


def customer_wrote_to_us(case: Case) -> bool:
    return Feedback.objects.filter(case_links__case_id=case.pk, channel__in=CUSTOMER_WROTE_CHANNELS).exists()


@dataclass
class _DraftReply:
    """What ``_context`` reads of an event, for a reply that is only being previewed."""

    payload: dict[str, Any]
    actor: User | None
    actor_id: int | None


def reply_route(case: Case) -> ReplyRoute:
    """Where a public reply on this case would go now, by the same rules ``_build`` applies when it is sent."""
    route = case_route(case)
    if not route.will_send:
        return route
    if case.customer_id and case.customer and case.customer.opted_out and not customer_wrote_to_us(case):
        return ReplyRoute(
            "", "", route.address,
            str(_("The customer opted out of contact and did not write to us: nothing is sent.")),
            reason_code=NotSentReason.OPTED_OUT,
        )  # fmt: skip
    if blocked_customer_ids([case.customer_id or 0], ContactPurpose.NOTICES):
        return ReplyRoute(
            "", "", route.address, str(_("The customer withdrew consent to notices: nothing is sent.")),
            reason_code=NotSentReason.CONSENT_WITHDRAWN,
        )  # fmt: skip
    return route


def reply_preview(case: Case, author: User, text: str) -> ReplyPreview:
    """The email a public reply would become, rendered as the customer will read it (in their language)."""
    # Rendered from a stand-in for the reply event: nothing is stored (the reply does not exist yet).
    event = cast(CaseEvent, _DraftReply(payload={"text": text}, actor=author, actor_id=author.pk))
    language = customer_language(case) or normalise_language(settings.LANGUAGE_CODE) or "zh-hans"
    subject, body = _render(MessageKind.CUSTOMER_REPLY, language, _context(event, case, Planned("", CUSTOMER)))
    return ReplyPreview(subject, body, language)


def wants_email(user: User) -> bool:
    """A colleague's emails are optional: the in-app list always has the notification."""
    return not NotificationPreference.objects.filter(user=user, email=False).exists()


def handle_case_event(event: CaseEvent) -> None:
    """Store the messages this event calls for. Runs in the outbox transaction: no network I/O here."""
    if event.kind == EventKind.WITHDRAWN:
        hold_customer_messages(event)
        return
    if event.kind not in EMAIL_EVENT_KINDS:
        return
    case = (
        Case.objects.select_related("customer", "team__lead", "team__department__manager", "assignee")
        .select_related("sla_policy__calendar")
        .filter(pk=event.case_id)
        .first()
    )
    if case is None:
        return
    planned = [p for p in plan(event, case) if p.to_user is None or wants_email(p.to_user)]
    if not planned:
        return
    done = set(OutgoingMessage.objects.filter(event=event).values_list("recipient", flat=True))
    queued = False
    for item in planned:
        if item.recipient in done:
            continue  # this event was handled before (a retried outbox run): never twice
        try:
            with transaction.atomic():  # a savepoint: one broken message must not hold up the whole outbox
                message = _build(event, case, item)
                message.save()
        except Exception as exc:  # noqa: BLE001 - recorded as a failed message (and logged), never lost silently
            logger.exception(
                "event %s: the %s message for %s could not be prepared", event.pk, item.kind, item.recipient
            )
            message = OutgoingMessage.objects.create(
                kind=item.kind, case=case, event=event, recipient=item.recipient, to_user=item.to_user,
                language="", subject="", body="", status=MessageStatus.FAILED,
                last_error=f"could not be prepared: {type(exc).__name__}: {exc}"[:2000],
            )  # fmt: skip
            _timeline_note(case, message, "failed", message.last_error[:500])
            continue
        if message.status == MessageStatus.PENDING:
            queued = True
        elif message.status == MessageStatus.NOT_SENT and item.recipient == CUSTOMER:
            _timeline_note(case, message, "not_sent", message.last_error)
    if queued:
        on_commit_once(_kick_sender)


def hold_customer_messages(event: CaseEvent) -> int:
    """A withdrawn case (voxloop/cases/withdrawal.py) was opened on a label the refine lane corrected: what still
    waits to go to its customer (the automatic acknowledgement, when sending was slow) is not sent, and the
    timeline says so. A message already sent stays sent; nothing new is written to the customer."""
    now = timezone.now()
    held = list(OutgoingMessage.objects.filter(case_id=event.case_id, recipient=CUSTOMER, status=MessageStatus.PENDING))
    count = 0
    for message in held:
        updated = OutgoingMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(
            status=MessageStatus.NOT_SENT,
            last_error=NotSentReason.CASE_WITHDRAWN,
            next_attempt_at=None,
            updated_at=now,
        )
        if updated:
            count += 1
            message.last_error = NotSentReason.CASE_WITHDRAWN
            _timeline_note(event.case, message, "not_sent", message.last_error)
    return count


EMAIL_EVENT_KINDS = {
    EventKind.ACKNOWLEDGED,
    EventKind.PUBLIC_REPLY,
    EventKind.RESOLVED,
    EventKind.SLA_WARNING,
    EventKind.SLA_BREACH,
    EventKind.ESCALATED,
    EventKind.COMPENSATION,
    EventKind.FOLLOW_UP,
    EventKind.CUSTOMER_MESSAGE,
    EventKind.NOTIFICATION,
}


def _build(event: CaseEvent, case: Case, item: Planned) -> OutgoingMessage:
    now = timezone.now()
    if item.recipient == CUSTOMER:
        language = customer_language(case) or normalise_language(settings.LANGUAGE_CODE) or "zh-hans"
        route = case_route(case)  # the customer's own channel (notify/routing.py)
        channel, address = route.channel or DeliveryChannel.EMAIL, route.address
    else:
        assert item.to_user is not None
        language = normalise_language(item.to_user.language) or normalise_language(settings.LANGUAGE_CODE) or "en"
        channel, address = DeliveryChannel.EMAIL, item.to_user.email  # colleagues: e-mail (and the bell)
    to_email = address if channel == DeliveryChannel.EMAIL else ""
    subject, body = _render(item.kind, language, _context(event, case, item))
    message = OutgoingMessage(
        kind=item.kind,
        case=case,
        event=event,
        recipient=item.recipient,
        to_user=item.to_user,
        to_email=to_email,
        channel=channel,
        address=address,
        language=language,
        subject=subject,
        body=body,
        next_attempt_at=now,
    )
    reason = ""
    if not address:
        reason = NotSentReason.NO_ADDRESS
    elif (
        item.recipient == CUSTOMER
        and case.customer_id
        and case.customer
        and case.customer.opted_out
        and not customer_wrote_to_us(case)
    ):
        reason = NotSentReason.OPTED_OUT
    elif item.recipient == CUSTOMER and blocked_customer_ids([case.customer_id or 0], ContactPurpose.NOTICES):
        reason = NotSentReason.CONSENT_WITHDRAWN  # an explicit withdrawal holds even if they wrote to us
    if reason:
        message.status = MessageStatus.NOT_SENT
        message.last_error = reason
        message.next_attempt_at = None
    return message


def _timeline_note(case: Case, message: OutgoingMessage, delivery: str, reason: str) -> None:
    """A NOTIFICATION on the case's timeline, so the agent sees a message that did not reach its reader."""
    record_event(
        case, EventKind.NOTIFICATION, None, timezone.now(), delivery=delivery, reason=reason,
        message_id=message.pk, message_kind=message.kind, to=message.address or message.to_email,
        recipient=message.recipient, channel=message.channel,
    )  # fmt: skip


def _kick_sender() -> None:
    # Imported here: the tasks module imports this one.
    from voxloop.notify.tasks import send_outgoing_messages_task

    send_outgoing_messages_task.delay()


# --- sending ------------------------------------------------------------------------------------------------


def classify(exc: BaseException) -> tuple[bool, str]:
    """(permanent?, reason) for an exception raised while sending."""
    if isinstance(exc, GatewayError):  # the SMS / chat-app gateway's answer (notify/gateway.py)
        return exc.permanent, exc.reason
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        detail = "; ".join(
            f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for rcpt, (code, msg) in exc.recipients.items()
        )
        return all(code >= 500 for code in codes), f"recipient refused: {detail}"
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data refused, ...
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return exc.smtp_code >= 500, f"{type(exc).__name__}: {exc.smtp_code} {msg}"
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):  # refused connection, timeout, DNS
        return False, f"{type(exc).__name__}: {exc}"
    return True, f"{type(exc).__name__}: {exc}"


@dataclass
class SendRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0  # claimed by another worker first


def retry_delay(attempts: int) -> timedelta:
    base = timedelta(seconds=max(1, settings.NOTIFY_RETRY_SECONDS))
    return min(base * (1 << max(0, attempts - 1)), MAX_RETRY_DELAY)


def send_due_messages(now: datetime | None = None, *, limit: int = 200, ids: Iterable[int] | None = None) -> SendRun:
    """Send pending messages whose time has come, oldest first. Each is claimed with a conditional update
    (attempts+1, next attempt pushed past a lease), so two workers never send one message at the same time."""
    now = now or timezone.now()
    run = SendRun()
    batch = due_rows(OutgoingMessage, MessageStatus.PENDING, now, limit=limit, ids=ids)
    if not batch:
        return run
    connection = get_connection(fail_silently=False)
    try:
        for pk, attempts in batch:
            if not claim_row(OutgoingMessage, pk, attempts, now, pending=MessageStatus.PENDING, lease=CLAIM_LEASE):
                run.skipped += 1
                continue
            _send_one(OutgoingMessage.objects.select_related("case").get(pk=pk), connection, now, run)
    finally:
        try:
            connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection must not hide what happened
            logger.debug("closing the mail connection failed", exc_info=True)
    return run


def _send_one(message: OutgoingMessage, connection: Any, now: datetime, run: SendRun) -> None:
    transport = TRANSPORTS.get(message.channel)
    try:
        if transport is not None:
            transport(message)  # SMS or chat app, through the company's gateway
        else:
            _email(message, connection).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded on the row
        permanent, reason = classify(exc)
        if transport is None:
            try:
                connection.close()  # a broken session must not poison the next message
            except Exception:  # noqa: BLE001
                logger.debug("closing the mail connection failed", exc_info=True)
        if permanent or message.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
            if not permanent:
                reason = f"gave up after {message.attempts} attempts: {reason}"
            _mark_failed(message, reason, now)
            run.failed += 1
        else:
            OutgoingMessage.objects.filter(pk=message.pk).update(
                last_error=reason[:2000], next_attempt_at=now + retry_delay(message.attempts), updated_at=now
            )
            run.retrying += 1
            logger.warning("message %s to %s: %s; retrying", message.pk, message.address or message.to_email, reason)
        _announce_outcome(message.pk)
        return
    OutgoingMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENT, sent_at=now, next_attempt_at=None, last_error="", updated_at=now
    )
    run.sent += 1
    _announce_outcome(message.pk)


def _email(message: OutgoingMessage, connection: Any) -> EmailMultiAlternatives:
    headers = {"Auto-Submitted": "auto-generated"} if message.kind in AUTOMATIC else {}
    if message.case_id and message.recipient == CUSTOMER:
        # Our own, stored Message-ID: the customer's reply names it in In-Reply-To and so finds its case.
        headers["Message-ID"] = outgoing_message_id(message.case_id, message.pk)
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        connection=connection,
        headers=headers or None,
    )
    if message.html_body:
        email.attach_alternative(message.html_body, "text/html")
    for attachment in message.attachments.all():
        email.attach(attachment.filename, bytes(attachment.content), attachment.content_type)
    return email


# Who wants to hear how each attempt ended (voxloop.reports keeps its delivery log so): a peer or higher app
# registers in its AppConfig.ready, so notify never names it (docs/architecture/layers.md, L2).
_outcome_handlers: list[Callable[[OutgoingMessage], None]] = []


def register_outcome_handler(handler: Callable[[OutgoingMessage], None]) -> None:
    """Call ``handler`` with the message after each attempt to send it (sent, retrying or failed)."""
    if handler not in _outcome_handlers:
        _outcome_handlers.append(handler)


def _announce_outcome(pk: int) -> None:
    if not _outcome_handlers:
        return
    message = OutgoingMessage.objects.filter(pk=pk).first()
    if message is None:
        return
    for handler in _outcome_handlers:
        try:
            handler(message)
        except Exception:  # a listener's bug must not stop the sender or hide that the message went out
            logger.exception("outcome handler %r failed for message %s", handler, pk)


def _mark_failed(message: OutgoingMessage, reason: str, now: datetime) -> None:
    logger.warning("message %s to %s failed: %s", message.pk, message.to_email, reason)
    with transaction.atomic():
        updated = OutgoingMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(
            status=MessageStatus.FAILED, last_error=reason[:2000], next_attempt_at=None, updated_at=now
        )
        if updated and message.case_id:
            case = Case.objects.filter(pk=message.case_id).first()
            if case is not None:
                message.last_error = reason
                _timeline_note(case, message, "failed", reason[:500])


def messages_for_case(case: Case) -> list[OutgoingMessage]:
    """What was sent (or not) about a case, newest first: for the case page."""
    return list(OutgoingMessage.objects.filter(case=case).select_related("to_user").order_by("-created_at", "-id"))
