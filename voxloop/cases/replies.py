"""A customer's reply that answers one of our messages (an email whose headers, subject or quoted tracking link
name a case) joins that case. The channel finds the case and stores the message as feedback through the one
ingest path; ``receive_customer_reply`` is the case side, one state change in one transaction:

- an active case takes the message (a case waiting on the customer runs again);
- a resolved case reopens: the resolution did not hold;
- a closed case reopens when it closed less than ``CLOSED_CASE_REOPEN_DAYS`` ago; after that the message opens a
  follow-up case linked to the closed one (``repeat_of``), so a closed record stays as it was closed and a new
  request gets its own clock. 0 days: every reply to a closed case opens a follow-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from voxloop.cases import services
from voxloop.cases.events import record_event
from voxloop.cases.guards import lock_case
from voxloop.cases.linking import attach_feedback
from voxloop.cases.models import Case, CaseStatus, EventKind

MERGE_HOPS = 10  # merges form short chains; a longer one is broken data, and the last case found is used


@dataclass(frozen=True)
class ReplyOutcome:
    case: Case  # the case the message now belongs to
    answered: Case  # the case the customer answered (the same, or the closed one behind a follow-up)
    action: str  # "joined", "resumed", "reopened" or "follow_up"


def reopen_window_days() -> int:
    value = settings.CLOSED_CASE_REOPEN_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(f"CLOSED_CASE_REOPEN_DAYS must be a whole number of days, 0 or more, not {value!r}.")
    return value


def _surviving(case: Case) -> Case:
    """A merged case answers through the case it was merged into (locked, like the first)."""
    for _hop in range(MERGE_HOPS):
        if not case.merged_into_id:
            break
        case = lock_case(case.merged_into_id)
    return case


def receive_customer_reply(
    case: Case | int, feedback_id: int, *, text: str, via: str, now: datetime | None = None
) -> ReplyOutcome:
    """Put a stored customer message (``feedback_id``, not linked to any case yet) on the case it answers, as the
    module doc says. ``via`` names the channel for the timeline ("email")."""
    now = now or timezone.now()
    with transaction.atomic():
        case = _surviving(lock_case(case))
        previous = case.status
        if previous == CaseStatus.CLOSED and (
            case.closed_at is None or case.closed_at < now - timedelta(days=reopen_window_days())
        ):
            follow_up = services.open_case([feedback_id], case.severity, team=case.team, title=case.title, now=now)
            Case.objects.filter(pk=follow_up.pk).update(repeat_of=case)
            follow_up.repeat_of = case
            record_event(
                follow_up, EventKind.REPEAT, None, now, repeat_of_case_id=case.pk, repeat_of_number=case.number,
                reason="reply_to_closed", via=via,
            )  # fmt: skip
            record_event(
                case, EventKind.CUSTOMER_MESSAGE, None, now, text=text, feedback_id=feedback_id, linked=False,
                via=via, previous_status=previous, follow_up_case_id=follow_up.pk, follow_up_number=follow_up.number,
            )  # fmt: skip
            return ReplyOutcome(follow_up, case, "follow_up")
        attach_feedback(case, [feedback_id])
        record_event(
            case, EventKind.CUSTOMER_MESSAGE, None, now, text=text, feedback_id=feedback_id, linked=True, via=via,
            previous_status=previous,
        )  # fmt: skip
        action = "joined"
        if previous == CaseStatus.PENDING_CUSTOMER:
            case = services.set_status(case, CaseStatus.OPEN, None, now=now)
            action = "resumed"
        elif previous in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            case = services.reopen_case(case, None, reason="customer_message", now=now)
            action = "reopened"
        return ReplyOutcome(case, case, action)
