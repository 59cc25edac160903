"""After resolution: the follow-up with the customer, and the automatic close at the end of its window.

When a case is resolved, ``on_resolved`` schedules one FollowUp ``FOLLOW_UP_DELAY_DAYS`` later (3-7), or records
it as skipped with the reason (customer opted out, no customer, or already followed up in the last
``FOLLOW_UP_FATIGUE_DAYS`` days), and sets ``Case.auto_close_at`` ``AUTO_CLOSE_DAYS`` after resolution.
``process_due_follow_ups`` (periodic) makes due follow-ups actionable through the registered senders (the surveys
app sends an invitation; the built-in sender makes it a task for the case's agent). ``record_outcome`` stores
the customer's answer and reopens the case when they are not satisfied. ``auto_close_cases`` (periodic) closes
resolved cases whose window has passed with a conditional update, so two workers never close one case twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage
from django.core.checks import Error as CheckError
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import User
from voxloop.cases.events import kick_outbox_after_commit, record_event
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind, FollowUp, FollowUpStatus
from voxloop.cases.queries import newest_case_on_topics
from voxloop.feedback.hooks import ContactPurpose, may_contact
from voxloop.feedback.models import Customer

logger = logging.getLogger(__name__)

# Follow-ups that count as "contacted" for the fatigue rule (a skipped or cancelled one never reached anybody).
CONTACTING = (FollowUpStatus.SCHEDULED, FollowUpStatus.DUE, FollowUpStatus.SENT, FollowUpStatus.DONE)
OPEN_FOLLOW_UP = (FollowUpStatus.SCHEDULED, FollowUpStatus.DUE, FollowUpStatus.SENT)


class SkipReason:
    """Stored in FollowUp.skip_reason (codes, so reports can group them); labels in ``SKIP_LABELS``."""

    OPTED_OUT = "opted_out"
    RECENTLY_CONTACTED = "recently_contacted"
    NO_CUSTOMER = "no_customer"


SKIP_LABELS = {
    SkipReason.OPTED_OUT: _("The customer opted out of contact."),
    SkipReason.RECENTLY_CONTACTED: _("The customer was already followed up recently."),
    SkipReason.NO_CUSTOMER: _("The case has no customer to follow up with."),
}


@dataclass(frozen=True)
class LoopConfig:
    delay_days: int
    fatigue_days: int
    auto_close_days: int
    tracking_link_days: int


def _int_setting(name: str, low: int, high: int) -> int:
    value = getattr(settings, name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ImproperlyConfigured(f"{name} must be a whole number of days from {low} to {high}, not {value!r}.")
    return value


def config() -> LoopConfig:
    """The follow-up settings, checked: a bad value is a clear ImproperlyConfigured, never a silent default."""
    delay = _int_setting("FOLLOW_UP_DELAY_DAYS", 3, 7)
    auto_close = _int_setting("AUTO_CLOSE_DAYS", 1, 365)
    if auto_close < delay:
        raise ImproperlyConfigured(
            f"AUTO_CLOSE_DAYS ({auto_close}) must be at least FOLLOW_UP_DELAY_DAYS ({delay}): "
            "a case must not close before its follow-up is due."
        )
    return LoopConfig(
        delay_days=delay,
        fatigue_days=_int_setting("FOLLOW_UP_FATIGUE_DAYS", 0, 3650),
        auto_close_days=auto_close,
        tracking_link_days=_int_setting("TRACKING_LINK_DAYS", 1, 3650),
    )


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """System check (registered by the notify app): bad follow-up settings stop `voxloop serve` at start."""
    try:
        config()
    except ImproperlyConfigured as exc:
        return [CheckError(str(exc), id="voxloop.E101")]
    return []


def _event(case: Case | int, kind: str, actor: User | None, now: datetime, **payload: Any) -> CaseEvent:
    case_obj = case if isinstance(case, Case) else Case(pk=case)
    return record_event(case_obj, kind, actor, now, **payload)


# --- scheduling at resolution -------------------------------------------------------------------------------


def skip_reason_for(customer: Customer | None, now: datetime, fatigue_days: int) -> str:
    if customer is None:
        return SkipReason.NO_CUSTOMER
    if not may_contact(customer, ContactPurpose.FOLLOW_UPS):  # opted out, or withdrew consent (consent ledger)
        return SkipReason.OPTED_OUT
    if (
        fatigue_days
        and FollowUp.objects.filter(
            case__customer=customer, status__in=CONTACTING, due_at__gte=now - timedelta(days=fatigue_days)
        ).exists()
    ):
        return SkipReason.RECENTLY_CONTACTED
    return ""


def on_resolved(case: Case, now: datetime) -> FollowUp:
    """Called by services.resolve_case inside its transaction, after the RESOLVED event."""
    cfg = config()
    auto_close_at = now + timedelta(days=cfg.auto_close_days)
    Case.objects.filter(pk=case.pk).update(auto_close_at=auto_close_at)
    case.auto_close_at = auto_close_at
    customer = case.customer if case.customer_id else None
    reason = skip_reason_for(customer, now, cfg.fatigue_days)
    follow_up = FollowUp.objects.create(
        case=case,
        due_at=now + timedelta(days=cfg.delay_days),
        status=FollowUpStatus.SKIPPED if reason else FollowUpStatus.SCHEDULED,
        assignee_id=case.assignee_id,
        skip_reason=reason,
    )
    if reason:
        _event(case, EventKind.FOLLOW_UP, None, now, action="skipped", follow_up_id=follow_up.pk, reason=reason)
    else:
        _event(
            case, EventKind.FOLLOW_UP, None, now, action="scheduled", follow_up_id=follow_up.pk,
            due_at=follow_up.due_at, auto_close_at=auto_close_at,
        )  # fmt: skip
    return follow_up


def on_reopened(case: Case, now: datetime) -> int:
    """Called by services.reopen_case: pending follow-ups of the old resolution no longer apply."""
    return FollowUp.objects.filter(case=case, status__in=(FollowUpStatus.SCHEDULED, FollowUpStatus.DUE)).update(
        status=FollowUpStatus.CANCELLED, updated_at=now
    )


# --- senders: what a due follow-up turns into ---------------------------------------------------------------

# A sender gets a follow-up that just became due (inside the claiming transaction) and returns the status it
# leaves it in (SENT for an invitation, DUE for a task), setting ``method``; None means "not mine" and the next
# sender is asked. The last resort is ``task_for_agent``.
FollowUpSender = Callable[[FollowUp, datetime], str | None]
_senders: list[FollowUpSender] = []


def register_sender(sender: FollowUpSender) -> FollowUpSender:
    """Let another app (surveys) handle due follow-ups before the built-in task for the agent."""
    if sender not in _senders:
        _senders.append(sender)
    return sender


def unregister_sender(sender: FollowUpSender) -> None:
    if sender in _senders:
        _senders.remove(sender)


def task_for_agent(follow_up: FollowUp, now: datetime) -> str:
    """Without a survey: the case's agent (else the team lead) calls or writes to the customer."""
    case = follow_up.case
    assignee_id = case.assignee_id or (case.team.lead_id if case.team_id and case.team else None)
    follow_up.method = "task"
    follow_up.assignee_id = assignee_id
    return FollowUpStatus.DUE


@dataclass
class FollowUpRun:
    due: int = 0
    sent: int = 0
    failed: int = 0  # a sender raised: the follow-up stays scheduled for the next run (logged)


def process_due_follow_ups(now: datetime | None = None, *, batch_size: int = 200) -> FollowUpRun:
    """Make every scheduled follow-up whose time has come actionable. Each one is claimed with a conditional
    update (scheduled -> due) in its own transaction, so two workers never act on one follow-up twice."""
    now = now or timezone.now()
    run = FollowUpRun()
    failed: list[int] = []
    while True:
        pending = FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_at__lte=now).exclude(pk__in=failed)
        ids = list(pending.order_by("due_at", "id").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return run
        for pk in ids:
            try:
                status = _process_one(pk, now)
            except Exception:  # noqa: BLE001 - one broken sender must not stop the other follow-ups
                logger.exception("follow-up %s: sender failed; it stays scheduled", pk)
                failed.append(pk)
                run.failed += 1
                continue
            if status == FollowUpStatus.SENT:
                run.sent += 1
            elif status:
                run.due += 1


def _process_one(pk: int, now: datetime) -> str:
    with transaction.atomic():
        claimed = FollowUp.objects.filter(pk=pk, status=FollowUpStatus.SCHEDULED).update(
            status=FollowUpStatus.DUE, updated_at=now
        )
        if not claimed:
            return ""  # another worker has it
        follow_up = FollowUp.objects.select_related("case__team", "case__customer").get(pk=pk)
        if follow_up.case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            # Reopened in the meantime (its follow-ups are cancelled then; this guards a race with that).
            FollowUp.objects.filter(pk=pk).update(status=FollowUpStatus.CANCELLED, updated_at=now)
            return ""
        status = None
        for sender in reversed(_senders):  # the most recently registered first
            status = sender(follow_up, now)
            if status:
                break
        if not status:
            status = task_for_agent(follow_up, now)
        follow_up.status = status
        follow_up.save(update_fields=["status", "method", "assignee", "updated_at"])
        _event(
            follow_up.case, EventKind.FOLLOW_UP, None, now, action="due" if status == FollowUpStatus.DUE else "sent",
            follow_up_id=pk, method=follow_up.method, to_user_id=follow_up.assignee_id,
        )  # fmt: skip
    return status


# --- the customer's answer ----------------------------------------------------------------------------------


def record_outcome(
    case: Case | int,
    satisfied: bool,
    note: str = "",
    *,
    actor: User | None = None,
    now: datetime | None = None,
) -> Case:
    """Store how the follow-up went. Not satisfied: the case reopens (resolved or closed alike) with a fresh
    resolution clock. Works without a follow-up row too (e.g. the customer answered before it was due)."""
    # imported here: services imports this module
    from voxloop.cases.services import reopen_case

    now = now or timezone.now()
    pk = case.pk if isinstance(case, Case) else int(case)
    outcome = "satisfied" if satisfied else "dissatisfied"
    note = (note or "").strip()
    with transaction.atomic():
        case = Case.objects.select_for_update(no_key=True).get(pk=pk)
        follow_up = FollowUp.objects.filter(case=case, status__in=OPEN_FOLLOW_UP).order_by("-due_at", "-id").first()
        if follow_up is not None:
            follow_up.status = FollowUpStatus.DONE
            follow_up.outcome = outcome
            follow_up.note = note
            follow_up.done_at = now
            follow_up.save(update_fields=["status", "outcome", "note", "done_at", "updated_at"])
        _event(
            case, EventKind.FOLLOW_UP, actor, now, action="outcome", outcome=outcome, note=note,
            follow_up_id=follow_up.pk if follow_up else None,
        )  # fmt: skip
        if not satisfied and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and not case.merged_into_id:
            case = reopen_case(case, actor, reason="follow_up_dissatisfied", now=now)
    return case


# --- a new complaint while the case is resolved ----------------------------------------------------------


def resolved_case_on_topic(customer_id: int | None, top_topics: set[str]) -> Case | None:
    """The customer's most recent resolved (not yet closed) case on one of these top-level topics: a new
    complaint about it means the resolution did not hold, so the automation rules reopen this case instead of
    opening another."""
    if customer_id is None or not top_topics:
        return None
    resolved = list(
        Case.objects.filter(customer_id=customer_id, status=CaseStatus.RESOLVED, merged_into__isnull=True)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:50]
    )
    return newest_case_on_topics(resolved, top_topics)


# --- closing at the end of the window -----------------------------------------------------------------------


@dataclass
class AutoCloseRun:
    closed: int = 0
    skipped: int = 0  # changed (reopened, closed by hand) between listing and update


def auto_close_cases(now: datetime | None = None, *, batch_size: int = 500) -> AutoCloseRun:
    """Close resolved cases whose follow-up window has passed. Reads the partial index on auto_close_at; each
    close is ``UPDATE ... WHERE status='resolved' AND auto_close_at <= now`` with its event in the same
    transaction, so concurrent runs close each case once and a killed run leaves the rest for the next one."""
    now = now or timezone.now()
    cfg = config()
    run = AutoCloseRun()
    passed_over: list[int] = []
    while True:
        due = Case.objects.filter(auto_close_at__lte=now).exclude(pk__in=passed_over)
        ids = list(due.order_by("auto_close_at", "id").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return run
        with transaction.atomic():
            events: list[CaseEvent] = []
            for pk in ids:
                closed = Case.objects.filter(pk=pk, status=CaseStatus.RESOLVED, auto_close_at__lte=now).update(
                    status=CaseStatus.CLOSED,
                    closed_at=now,
                    auto_close_at=None,
                    tracking_expires_at=now + timedelta(days=cfg.tracking_link_days),
                    updated_at=now,
                )
                if closed:
                    run.closed += 1
                    events.append(
                        CaseEvent(
                            case_id=pk,
                            kind=EventKind.CLOSED,
                            payload={"automatic": True, "previous_status": CaseStatus.RESOLVED},
                            created_at=now,
                        )
                    )
                else:
                    # Not resolved any more (reopened, closed by hand): it has nothing to close; stop listing it.
                    cleared = (
                        Case.objects.filter(pk=pk, auto_close_at__lte=now)
                        .exclude(status=CaseStatus.RESOLVED)
                        .update(auto_close_at=None)
                    )
                    if not cleared:
                        passed_over.append(pk)
                    run.skipped += 1
            if events:
                CaseEvent.objects.bulk_create(events)
                kick_outbox_after_commit()
