"""Withdrawing a case that a rule opened on a label the refine lane later corrected.

The fast lane labels an item negative, a rule opens a case on it; minutes later the refine lane (the slower,
stronger model, voxloop/analysis/refine.py) finds the item positive or neutral, and automation finds that no rule
would open a case on it now (``automation.services.corrections_after_refine``). Automation decides, cases write
(docs/architecture/layers.md, L3): ``withdraw_case`` is the one function that acts on that decision.

- A case nobody worked on is **withdrawn**: closed at once (``withdrawn_at`` and ``closed_at`` set, its SLA clocks
  stopped, no escalation, no follow-up), with a WITHDRAWN event on its timeline that gives the reason. "Nobody
  worked on it" means: a rule opened it for this one item (its firing says ``opened``, nobody created it by hand),
  it still holds only this item, it is new or open (never waiting on the customer, resolved, reopened), nothing
  was merged into or out of it, no person acted on it (every event has no actor: routing's assignment, the
  automatic acknowledgement, SLA warnings and automatic escalations are not work) and no reply, note, customer
  message, compensation or follow-up is on it.
- Any other case stays as it is, and a LABEL_CORRECTED event tells the agent that the label changed.

Nobody outside is told: neither event is a message kind (voxloop.notify sends nothing for them); a customer message
still waiting in notify's outbox for the withdrawn case (the automatic acknowledgement, when sending was slow) is
held back there (notify/services.py). The metrics leave a withdrawn case out like a merged duplicate (it is not a
complaint: neither resolved, nor an SLA breach, nor open); reopening it (``reopen_case``) clears ``withdrawn_at``
and it counts again. Both writes lock the case row, and each correction is acted on once (a rerun finds its event).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from voxloop.automation.models import RuleFiring
from voxloop.automation.services import LabelCorrection, Outcome
from voxloop.cases import followup
from voxloop.cases.events import record_event
from voxloop.cases.guards import lock_case
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind
from voxloop.cases.sla import schedule_next_check

logger = logging.getLogger(__name__)


class Withdrawal:
    WITHDRAWN = "withdrawn"
    NOTED = "noted"  # worked on (or not the rule's own case): the agent is told, nothing else changes
    ALREADY = "already"  # this correction was acted on before


# Why a case is kept, in the LABEL_CORRECTED event (the timeline words are in cases/queries.py).
KEPT_WORKED = "worked"  # a person acted on it, or it was answered, or the customer wrote
KEPT_ITEMS = "several_items"  # it holds other feedback too
KEPT_MERGED = "merged"
KEPT_NOT_OPENED = "not_opened_for_item"  # the item joined a case that was there before, or a person opened it
KEPT_STATUS = "status"  # no longer new or open (waiting on the customer, resolved, closed, reopened)

# Events that are work whoever wrote them.
WORK_KINDS = (
    EventKind.PUBLIC_REPLY,
    EventKind.INTERNAL_NOTE,
    EventKind.CUSTOMER_MESSAGE,
    EventKind.COMPENSATION,
    EventKind.FOLLOW_UP,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.MERGED,
)


def withdraw_case(
    case: Case | int,
    feedback_id: int,
    *,
    old_label: str,
    new_label: str,
    model: str = "",
    now: datetime | None = None,
) -> str:
    """Act on one corrected label: withdraw the case if nobody worked on it, else note the correction on it (see
    the module doc). Returns a ``Withdrawal`` value. Safe to repeat and to run beside other case writers."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        for _hop in range(10):  # a merged case lives on in the one it was merged into: tell that one
            if not case.merged_into_id:
                break
            case = lock_case(case.merged_into_id)
        if _told_before(case, feedback_id, new_label):
            return Withdrawal.ALREADY
        payload: dict[str, Any] = {"feedback_id": feedback_id, "from": old_label, "to": new_label, "model": model}
        kept = _why_kept(case, feedback_id)
        if kept:
            record_event(case, EventKind.LABEL_CORRECTED, None, now, **payload, kept=kept)
            return Withdrawal.NOTED
        previous = case.status
        case.status = CaseStatus.CLOSED
        case.closed_at = now
        case.withdrawn_at = now
        case.auto_close_at = None
        case.next_escalation_at = None
        case.paused_since = None
        # The customer's tracking link keeps working a while (as after any close), then answers "not found".
        case.tracking_expires_at = now + timedelta(days=followup.config().tracking_link_days)
        schedule_next_check(case)  # a closed case has no running clock: nothing left for the SLA sweep
        case.save()
        record_event(case, EventKind.WITHDRAWN, None, now, **payload, previous_status=previous)
    logger.info("case %s withdrawn: feedback %s relabelled %s -> %s", case.pk, feedback_id, old_label, new_label)
    return Withdrawal.WITHDRAWN


def withdraw_after_corrections(corrections: list[LabelCorrection], now: datetime) -> dict[str, int]:
    """Registered with ``automation.services.register_correction_handler``: each correction in its own
    transaction, in case order (one lock order for every worker)."""
    counts: dict[str, int] = {}
    for correction in sorted(corrections, key=lambda c: (c.case_id, c.feedback_id)):
        outcome = withdraw_case(
            correction.case_id,
            correction.feedback_id,
            old_label=correction.old_label,
            new_label=correction.new_label,
            model=correction.model,
            now=now,
        )
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _told_before(case: Case, feedback_id: int, new_label: str) -> bool:
    if case.withdrawn_at is not None:
        return True
    for payload in CaseEvent.objects.filter(
        case=case, kind__in=[EventKind.WITHDRAWN, EventKind.LABEL_CORRECTED]
    ).values_list("payload", flat=True):
        if isinstance(payload, dict) and payload.get("feedback_id") == feedback_id and payload.get("to") == new_label:
            return True
    return False


def _why_kept(case: Case, feedback_id: int) -> str:
    """Why this case must not be withdrawn ("" when it may be), read under the case's lock."""
    if case.status not in (CaseStatus.NEW, CaseStatus.OPEN):
        return KEPT_STATUS
    if case.merged_into_id or Case.objects.filter(merged_into=case).exists():
        return KEPT_MERGED
    items = list(CaseFeedback.objects.filter(case=case).values_list("feedback_id", flat=True)[:2])
    if items != [feedback_id]:
        return KEPT_ITEMS if feedback_id in items or len(items) > 1 else KEPT_NOT_OPENED
    if (
        case.created_by_id is not None
        or not RuleFiring.objects.filter(case=case, feedback_id=feedback_id, outcome=Outcome.OPENED).exists()
    ):
        return KEPT_NOT_OPENED
    if case.first_responded_at is not None or case.reopen_count:
        return KEPT_WORKED
    events = CaseEvent.objects.filter(case=case)
    if events.filter(actor__isnull=False).exists() or events.filter(kind__in=WORK_KINDS).exists():
        return KEPT_WORKED
    return ""
