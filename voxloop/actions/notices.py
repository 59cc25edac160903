""" "You told us, we fixed it": once an action is closed effective, the customers whose feedback matched its
scope in the baseline window may be told, each through their own channel and in their own language
(docs/actions.md, "Telling customers").

The same rules as survey invitations hold: a customer who opted out of all contact or withdrew consent to
notices is skipped, and so is one contacted in the last SURVEY_FATIGUE_DAYS days (a survey invitation or another
fix notice). Each customer is told at most once per action; every attempt is logged as a FixNotice row."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from voxloop.accounts.models import User
from voxloop.actions import outcomes
from voxloop.actions.hooks import FixNoticeMessage, NoticeSendError, ReopenNotice, action_reopened, notice_sender
from voxloop.actions.models import ActionEventKind, ActionStatus, FixNotice, ImprovementAction, NoticeStatus
from voxloop.actions.services import (
    ActionError,
    ActionErrorCode,
    _announce,
    _event,
    _require_approve,
    action_path,
    measure_effect,
)
from voxloop.cases.delivery import FeedbackContact, customer_route
from voxloop.feedback.hooks import ContactPurpose, blocked_customer_ids
from voxloop.feedback.models import Customer
from voxloop.surveys.invitations import create_link_invitation, fatigued_customer_ids, survey_url
from voxloop.surveys.models import Response, Survey


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    feedback_id: int
    name: str
    address: str
    language: str
    channel: str = "email"  # "email", "sms", "im": the customer's own channel (cases.delivery.customer_route)
    channel_label: str = ""


@dataclass
class Audience:
    recipients: list[Recipient] = field(default_factory=list)
    opted_out: int = 0
    recently_contacted: int = 0
    no_address: int = 0
    already_told: int = 0

    @property
    def matched(self) -> int:
        return len(self.recipients) + self.opted_out + self.recently_contacted + self.no_address + self.already_told

    def channels(self) -> list[tuple[str, str, int]]:
        """(channel, its name in the reader's language, how many) for the preview: "12 by SMS, 40 by e-mail"."""
        counts: dict[tuple[str, str], int] = {}
        for r in self.recipients:
            key = (r.channel, r.channel_label or r.channel)
            counts[key] = counts.get(key, 0) + 1
        return sorted(((c, label, n) for (c, label), n in counts.items()), key=lambda t: (-t[2], t[0]))

    def languages(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.recipients:
            counts[r.language] = counts.get(r.language, 0) + 1
        return counts


def _language(*candidates: str) -> str:
    """The customer's language as one the site speaks: any Chinese is Simplified Chinese, else English;
    nothing known: the site's default."""
    for code in candidates:
        code = (code or "").lower()
        if code.startswith("zh"):
            return "zh-hans"
        if code.startswith("en"):
            return "en"
    return settings.LANGUAGE_CODE


def _window(action: ImprovementAction) -> tuple[date, date]:
    base = action.baseline or {}
    try:
        return date.fromisoformat(base["first"]), date.fromisoformat(base["last"])
    except (KeyError, TypeError, ValueError):  # an action from before baselines kept their window
        last = timezone.localdate(action.created_at) - timedelta(days=1)
        return last - timedelta(days=outcomes.BASELINE_DAYS - 1), last


def notice_audience(action: ImprovementAction, now: datetime | None = None) -> Audience:
    """Who would be told, and how many are skipped and why (the preview's count). One query per rule."""
    now = now or timezone.now()
    first, last = _window(action)
    start, end = outcomes._bounds(first, last)
    scope = outcomes.Scope(action.topics, action.products, action.channels, action.segment)
    # customer -> (their latest item, its language, where it came from and the contact details it carried)
    latest: dict[int, tuple[int, str, FeedbackContact]] = {}
    rows = (
        outcomes._about(scope, start, end)
        .filter(customer_id__isnull=False)
        .order_by("customer_id", "-received_at", "-id")
        .values_list("customer_id", "id", "language", "channel", "source", "contact_email", "contact_phone")
    )
    for customer_id, item_id, language, channel, source, email, phone in rows.iterator(chunk_size=2000):
        if customer_id not in latest:
            latest[customer_id] = (item_id, language, FeedbackContact(channel, source, email, phone))
    audience = Audience()
    ids = list(latest)
    # a notice that failed (a full mailbox, a mail server down) is tried again by the next send
    told = set(
        FixNotice.objects.filter(action=action, customer_id__in=ids, status=NoticeStatus.SENT).values_list(
            "customer_id", flat=True
        )
    )
    blocked = blocked_customer_ids(ids, ContactPurpose.NOTICES)
    since = now - timedelta(days=settings.SURVEY_FATIGUE_DAYS)
    recent = fatigued_customer_ids(ids, now) | set(
        FixNotice.objects.filter(customer_id__in=ids, status=NoticeStatus.SENT, created_at__gte=since).values_list(
            "customer_id", flat=True
        )
    )
    customers = Customer.objects.filter(pk__in=ids).only(
        "pk", "name", "email", "phone", "handles", "language", "opted_out"
    )
    for customer in customers.order_by("pk").iterator(chunk_size=2000):
        item_id, item_language, contact = latest[customer.pk]
        if customer.pk in told:
            audience.already_told += 1
        elif customer.opted_out or customer.pk in blocked:
            audience.opted_out += 1
        elif customer.pk in recent:
            audience.recently_contacted += 1
        elif not (route := customer_route(customer, contact)).will_send:
            audience.no_address += 1
        else:
            language = _language(customer.language, item_language)
            audience.recipients.append(Recipient(
                customer.pk, item_id, customer.name, route.address, language, route.channel, route.channel_label
            ))  # fmt: skip
    return audience


def render_notice(
    action: ImprovementAction, language: str, name: str | None = "", survey_link: str = ""
) -> tuple[str, str]:
    """The notice's subject and text in ``language``: a greeting, what the customer told us, what was done (the
    action's public note in that language when its owner wrote one, else the main note) and a thank-you. ``name`` None: a placeholder (the preview)."""
    with translation.override(language):
        if name is None:
            name = _("(customer's name)")
        subject = _("You told us, we fixed it: %(title)s") % {"title": action.title}
        greeting = _("Dear %(name)s,") % {"name": name} if name else _("Dear customer,")
        body = "\n\n".join([
            greeting,
            _("Some time ago you told us about a problem. We looked into its cause and changed how we work."),
            _("What we changed:"),
            action.note_for(language),
            _("Our measurements show that the problem now happens clearly less often. Thank you for telling us: "
              "your feedback made the difference."),
        ])  # fmt: skip
        if survey_link:
            body += "\n\n" + _("Is it fixed for you? One question, one click: %(link)s") % {"link": survey_link}
    return subject, body


def _require_sendable(action: ImprovementAction) -> None:
    if action.status != ActionStatus.CLOSED_EFFECTIVE:
        raise ActionError(
            ActionErrorCode.WRONG_STATUS, _("Customers are told only about an action closed as effective.")
        )
    if not action.public_note.strip():
        raise ActionError(ActionErrorCode.INVALID, _("Write the note customers will read."))


@dataclass
class SendResult:
    sent: int = 0
    failed: int = 0
    audience: Audience = field(default_factory=Audience)


def send_fix_notices(
    actor: User, action: ImprovementAction, now: datetime | None = None, survey: Survey | None = None
) -> SendResult:
    """Tell every customer of the audience, once each; returns what was sent, failed and skipped. The log row is
    claimed first (unique per action and customer), so two clicks at once never tell anyone twice. With a
    ``survey`` (the "is it fixed for you?" question), each notice carries the customer's own survey link."""
    _require_approve(actor, action)
    _require_sendable(action)
    if survey is not None and not survey.is_active:
        raise ActionError(ActionErrorCode.INVALID, _("This survey is switched off; switch it on first."))
    if notice_sender("email") is None:
        raise ActionError(ActionErrorCode.INVALID, _("This installation sends no messages to customers."))
    now = now or timezone.now()
    audience = notice_audience(action, now)
    result = SendResult(audience=audience)
    for r in audience.recipients:
        sender = notice_sender(r.channel)
        if sender is None:  # a channel no sender was registered for: counted as failed, tried again next time
            result.failed += 1
            continue
        fields = {"feedback_id": r.feedback_id, "channel": r.channel, "address": r.address, "language": r.language,
                  "status": NoticeStatus.SENT, "sent_by": actor, "error": ""}  # fmt: skip
        retried = FixNotice.objects.filter(action=action, customer_id=r.customer_id, status=NoticeStatus.FAILED)
        notice = retried.first()
        if notice is not None:
            if not retried.filter(pk=notice.pk).update(**fields):
                continue  # retried meanwhile by another click
        else:
            try:
                with transaction.atomic():
                    notice = FixNotice.objects.create(action=action, customer_id=r.customer_id, **fields)
            except IntegrityError:
                continue  # told meanwhile by another click
        link = ""
        if survey is not None:
            invitation = create_link_invitation(
                survey, customer=Customer(pk=r.customer_id, language=r.language), language=r.language,
                created_by=actor, now=now,
            )  # fmt: skip
            FixNotice.objects.filter(pk=notice.pk).update(invitation=invitation)
            link = survey_url(invitation)
        subject, body = render_notice(action, r.language, r.name, link)
        try:
            sender(FixNoticeMessage(
                r.address, r.language, subject, body, f"fixnotice:{action.pk}:{r.customer_id}", r.channel
            ))  # fmt: skip
        except NoticeSendError as exc:
            FixNotice.objects.filter(pk=notice.pk).update(status=NoticeStatus.FAILED, error=str(exc)[:500])
            result.failed += 1
        else:
            result.sent += 1
    _event(
        action, ActionEventKind.NOTICES_SENT, actor,
        payload={"sent": result.sent, "failed": result.failed, "opted_out": audience.opted_out,
                 "recently_contacted": audience.recently_contacted, "no_address": audience.no_address},
    )  # fmt: skip
    return result


def remeasure_answered(today: date | None = None) -> int:
    """Measure again (on demand) every action closed effective whose "is it fixed for you?" question got an
    answer since its latest measurement, so the answers count toward its verdict (the daily task); returns how
    many were measured. An action most answering customers contradict then reads "inconclusive" (its page, the
    ``action.verdict`` webhook) and reopens."""
    pending = []
    for action in ImprovementAction.objects.filter(
        status=ActionStatus.CLOSED_EFFECTIVE, implemented_on__isnull=False
    ).select_related("department", "owner"):
        latest = action.measurements.values_list("computed_at", flat=True).first()
        links = FixNotice.objects.filter(action=action, invitation__isnull=False).values("invitation_id")
        answered = Response.objects.filter(invitation_id__in=links)
        if latest is not None:
            answered = answered.filter(updated_at__gt=latest)
        if answered.exists():
            pending.append(action)
    for action in pending:
        report = measure_effect(action, today=today).report
        if report.get("overruled_by_customers"):
            reopen_on_answers(action, report.get("confirmation") or {})
    return len(pending)


def reopen_on_answers(action: ImprovementAction, answers: dict[str, Any]) -> bool:
    """Most customers told of the fix say it is not: the action closed as effective goes back to in progress
    (a fix that did not hold, like one early warning catches), its history records the answers, and its owner
    is told. Returns whether it reopened (False: someone moved it meanwhile)."""
    previous = action.status
    with transaction.atomic():
        if not ImprovementAction.objects.filter(pk=action.pk, status=ActionStatus.CLOSED_EFFECTIVE).update(
            status=ActionStatus.IN_PROGRESS, closed_at=None, updated_at=timezone.now()
        ):
            return False
        action.refresh_from_db()
        _event(
            action, ActionEventKind.REOPENED, None, from_status=previous, to_status=action.status,
            payload={"reason": "customers_not_fixed", "answers": answers.get("n"), "not_fixed": answers.get("not_fixed"),
                     "fixed": answers.get("fixed")},
        )  # fmt: skip
        _announce("action.status_changed", action, from_status=previous, to_status=action.status)
        notice = ReopenNotice(action.pk, action.title, action_path(action), [action.owner_id], "", reason="customers")
        transaction.on_commit(partial(action_reopened.announce, notice))
    return True
