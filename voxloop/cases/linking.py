"""Linking a further feedback item to a case by hand (the automation rules link automatically)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from voxloop.accounts.models import User
from voxloop.cases.events import kick_outbox
from voxloop.cases.guards import CaseError, CaseErrorCode, lock_case, require_active
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseEvent, CaseFeedback, EventKind
from voxloop.feedback.models import Feedback


def link_feedback(case: Case | int, feedback_id: int, actor: User | None, *, now: datetime | None = None) -> Case:
    """Add a feedback item to an active case. An item already answered by another open case is refused (it would
    be answered twice); link the cases by merging instead."""
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
        CaseFeedback.objects.create(case=case, feedback_id=feedback_id)
        CaseEvent.objects.create(
            case=case,
            kind=EventKind.FEEDBACK_LINKED,
            actor=actor,
            payload={"feedback_id": feedback_id, "automatic": False},
            created_at=now,
        )
        case.save(update_fields=["updated_at"])
        transaction.on_commit(kick_outbox)
    return case
