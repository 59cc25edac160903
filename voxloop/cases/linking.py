"""Which feedback belongs to which case. ``attach_feedback`` is the only code that writes CaseFeedback rows;
``link_feedback`` is the operation that adds one more item to an active case, by hand or by a rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from voxloop.accounts.models import User
from voxloop.cases.events import record_event
from voxloop.cases.guards import CaseError, CaseErrorCode, lock_case, require_active
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseFeedback, EventKind
from voxloop.feedback.models import Feedback


def attach_feedback(case: Case, feedback_ids: Sequence[int]) -> None:
    """Write the links. The caller holds the case's row lock, has checked that the items may join, and records
    the event that says why they joined (created, merged, a customer's message, linked)."""
    CaseFeedback.objects.bulk_create([CaseFeedback(case=case, feedback_id=i) for i in feedback_ids])


def attach_feedback_to_cases(links: Sequence[tuple[Case, Sequence[int]]]) -> None:
    """``attach_feedback`` for many fresh cases at once (one INSERT); the same duties fall on the caller."""
    CaseFeedback.objects.bulk_create([CaseFeedback(case=case, feedback_id=i) for case, ids in links for i in ids])


def link_feedback(
    case: Case | int, feedback_id: int, actor: User | None, *, now: datetime | None = None, automatic: bool = False
) -> Case:
    """Add a feedback item to an active case; ``automatic`` when a rule did it rather than ``actor``. An item
    already answered by another open case is refused (it would be answered twice); merge the cases instead."""
    now = now or timezone.now()
    with transaction.atomic():
        case = lock_case(case)
        require_active(case)
        if not Feedback.objects.filter(pk=feedback_id).exists():
            raise CaseError(
                CaseErrorCode.FEEDBACK_NOT_FOUND, _("Feedback %(ids)s does not exist.") % {"ids": feedback_id}
            )
        if CaseFeedback.objects.filter(case=case, feedback_id=feedback_id).exists():
            raise CaseError(
                CaseErrorCode.FEEDBACK_IN_OPEN_CASE,
                _("Feedback %(feedback)s is already linked to this case.") % {"feedback": feedback_id},
            )
        other = (
            CaseFeedback.objects.filter(feedback_id=feedback_id, case__status__in=ACTIVE_STATUSES)
            .exclude(case=case)
            .select_related("case")
            .first()
        )
        if other:
            raise CaseError(
                CaseErrorCode.FEEDBACK_IN_OPEN_CASE,
                _("Feedback %(feedback)s already belongs to open case %(case)s; merge the cases instead.")
                % {"feedback": feedback_id, "case": other.case.number or other.case_id},
            )
        attach_feedback(case, [feedback_id])
        record_event(case, EventKind.FEEDBACK_LINKED, actor, now, feedback_id=feedback_id, automatic=automatic)
        # As of ``now`` (rules and replays pass their own time), like every other write of the operation.
        Case.objects.filter(pk=case.pk).update(updated_at=now)
        case.updated_at = now
    return case
