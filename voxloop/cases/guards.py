"""What every case operation starts with: the error it raises, the row lock and the "still active" check.
Kept apart from the operations so that every case module (lifecycle, links, SLA) can use them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from voxloop.cases.models import ACTIVE_STATUSES, Case


class CaseErrorCode(StrEnum):
    NO_FEEDBACK = "no_feedback"
    FEEDBACK_NOT_FOUND = "feedback_not_found"
    FEEDBACK_IN_OPEN_CASE = "feedback_in_open_case"
    BAD_SEVERITY = "bad_severity"
    NO_SLA_POLICY = "no_sla_policy"
    ALREADY_TAKEN = "already_taken"
    NOT_ACTIVE = "not_active"
    BAD_TRANSITION = "bad_transition"
    ROOT_CAUSE_REQUIRED = "root_cause_required"
    RESOLUTION_REQUIRED = "resolution_required"
    MERGED = "merged"
    EMPTY_REPLY = "empty_reply"
    NOT_IN_TEAM = "not_in_team"
    MAX_ESCALATION = "max_escalation"
    MERGE_INVALID = "merge_invalid"
    UNKNOWN_TEAM = "unknown_team"


class CaseError(Exception):
    def __init__(self, code: CaseErrorCode, message: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)


def lock_case(case: Case | int) -> Case:
    """The case row, locked for the rest of the caller's transaction (FOR NO KEY UPDATE on PostgreSQL: see
    docs/architecture/cases.md, "Row locks")."""
    pk = case.pk if isinstance(case, Case) else case
    return Case.objects.select_for_update(no_key=True).get(pk=pk)


def require_active(case: Case) -> None:
    if case.merged_into_id:
        raise CaseError(
            CaseErrorCode.MERGED,
            _("Case %(case)s was merged into case %(into)s; work on that case.")
            % {"case": case.pk, "into": case.merged_into_id},
        )
    if case.status not in ACTIVE_STATUSES:
        raise CaseError(
            CaseErrorCode.NOT_ACTIVE,
            _("Case %(case)s is %(status)s; reopen it first.") % {"case": case.pk, "status": case.get_status_display()},
        )
