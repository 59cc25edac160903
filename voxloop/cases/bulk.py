"""Bulk actions on the case list and the feedback list: each selected row goes through the same permission check and
the same service as the one-row action on its page, in its own transaction, so one refused row (no permission, a
status it cannot take, already in another open case) never undoes or blocks the others. The result lists what was
done and, for each refused row, why, in the reader's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, PolicyDenied, has
from voxloop.automation.tags import TagError, add_tag, clean_tag
from voxloop.cases import linking, queries, services
from voxloop.cases.guards import CaseError
from voxloop.cases.models import Case, CaseFeedback, CaseStatus, Severity
from voxloop.feedback.models import Feedback

MAX_ROWS = 200  # a page of the list is 30; a selection beyond this is a mistake, not a workflow
# The statuses set_status moves to (resolving and reopening need a resolution or a reason: one case at a time).
BULK_STATUSES = (CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER, CaseStatus.CLOSED)

CASE_ACTIONS = {
    "assign": gettext_lazy("Assign"),
    "status": gettext_lazy("Change status"),
    "severity": gettext_lazy("Change severity"),
    "tag": gettext_lazy("Add a tag"),
    "merge": gettext_lazy("Merge into a case"),
}
FEEDBACK_ACTIONS = {
    "tag": gettext_lazy("Add a tag"),
    "link": gettext_lazy("Link to a case"),
}


class BulkError(ValueError):
    """The request as a whole makes no sense (no rows, unknown action, a missing value): nothing was done."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class BulkResult:
    action: str  # the action's label, translated
    done: list[str] = field(default_factory=list)  # row references (case numbers, "#id" of feedback)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (row reference, why)

    def as_dict(self) -> dict[str, Any]:
        """For the session, so the list page shows it after the redirect."""
        return {"action": self.action, "done": self.done, "refused": [list(r) for r in self.refused]}


@dataclass
class BulkParams:
    assignee_id: int | None = None
    status: str = ""
    severity: str = ""
    tag: str = ""
    case_number: str = ""


def _ids(values: Sequence[str]) -> list[int]:
    ids = list(dict.fromkeys(int(v) for v in values if str(v).strip().isdigit()))
    if not ids:
        raise BulkError(_("Select at least one row first."))
    if len(ids) > MAX_ROWS:
        raise BulkError(_("Select at most %(limit)s rows at a time.") % {"limit": MAX_ROWS})
    return ids


def _target_case(actor: User, number: str) -> Case:
    number = number.strip().upper()
    if not number:
        raise BulkError(_("Give the number of the case."))
    target = queries.visible_cases(actor).filter(number=number).first()
    if target is None and number.isdigit():
        target = queries.visible_cases(actor).filter(pk=int(number)).first()
    if target is None:
        raise BulkError(_("There is no case %(number)s that you can see.") % {"number": number})
    if not queries.may_work_on(actor, target):
        raise BulkError(_("You may not change case %(number)s.") % {"number": target.number})
    return target


def _check_params(actor: User, action: str, params: BulkParams) -> dict[str, Any]:
    """Everything the action needs, checked once before any row is touched."""
    if action == "assign":
        assignee = User.objects.filter(pk=params.assignee_id, is_active=True).first() if params.assignee_id else None
        if assignee is None:
            raise BulkError(_("Choose the person to assign the cases to."))
        return {"assignee": assignee}
    if action == "status":
        if params.status not in BULK_STATUSES:
            raise BulkError(_("Choose the new status."))
        return {"status": params.status}
    if action == "severity":
        if params.severity not in Severity.values:
            raise BulkError(_("Choose the new severity."))
        return {"severity": params.severity}
    if action == "tag":
        try:
            return {"tag": clean_tag(params.tag)}
        except TagError as exc:
            raise BulkError(exc.message) from None
    if action in ("merge", "link"):
        return {"target": _target_case(actor, params.case_number)}
    raise BulkError(_("Unknown action %(action)s.") % {"action": action[:30]})


def _run_rows(
    refs: list[tuple[int, str]], do: Callable[[int], None], result: BulkResult, refused_before: dict[int, str]
) -> BulkResult:
    for pk, ref in refs:
        if pk in refused_before:
            result.refused.append((ref, refused_before[pk]))
            continue
        try:
            do(pk)
        except (CaseError, PolicyDenied, TagError) as exc:
            result.refused.append((ref, exc.message))
        else:
            result.done.append(ref)
    return result


def run_case_action(actor: User, case_ids: Sequence[str], action: str, params: BulkParams) -> BulkResult:
    """Apply ``action`` to each selected case the actor may change; see the module doc."""
    ids = _ids(case_ids)
    if action not in CASE_ACTIONS:
        raise BulkError(_("Unknown action %(action)s.") % {"action": action[:30]})
    values = _check_params(actor, action, params)
    visible = {c.pk: c for c in queries.visible_cases(actor).filter(pk__in=ids)}
    refused: dict[int, str] = {}
    refs: list[tuple[int, str]] = []
    may_work = has(actor, Capability.WORK_ON_CASES)
    may_manage = has(actor, Capability.MANAGE_CASES)
    for pk in ids:
        case = visible.get(pk)
        refs.append((pk, case.number if case else f"#{pk}"))
        if case is None:
            refused[pk] = _("No such case, or you cannot see it.")
        elif not may_work:
            refused[pk] = _("Your role may read cases but not change them.")
        elif action == "assign" and not may_manage and values["assignee"] != actor:
            refused[pk] = _("Only managers and administrators assign cases to other people.")
        elif action == "merge" and pk == values["target"].pk:
            refused[pk] = _("This is the case the others are merged into.")

    def do(pk: int) -> None:
        case = visible[pk]
        if action == "assign":
            if values["assignee"] == actor and not may_manage:
                services.take_case(case, actor)
            else:
                services.assign_case(case, values["assignee"], actor)
        elif action == "status":
            services.set_status(case, values["status"], actor)
        elif action == "severity":
            services.change_severity(case, values["severity"], actor)
        elif action == "tag":
            add_tag(CaseFeedback.objects.filter(case=case).values_list("feedback_id", flat=True), values["tag"])
        elif action == "merge":
            services.merge_cases(values["target"], [case], actor)

    result = BulkResult(str(CASE_ACTIONS[action]))
    return _run_rows(refs, do, result, refused)


def run_feedback_action(actor: User, feedback_ids: Sequence[str], action: str, params: BulkParams) -> BulkResult:
    """Tag the selected feedback items, or link each to a case; see the module doc."""
    ids = _ids(feedback_ids)
    if action not in FEEDBACK_ACTIONS:
        raise BulkError(_("Unknown action %(action)s.") % {"action": action[:30]})
    values = _check_params(actor, action, params)
    existing = set(Feedback.objects.filter(pk__in=ids).values_list("pk", flat=True))
    refused: dict[int, str] = {}
    allowed = has(actor, Capability.CORRECT_ANALYSIS if action == "tag" else Capability.WORK_ON_CASES)
    for pk in ids:
        if pk not in existing:
            refused[pk] = _("No such feedback.")
        elif not allowed:
            refused[pk] = (
                _("Your role may not tag feedback.") if action == "tag" else _("Your role may not change cases.")
            )

    def do(pk: int) -> None:
        if action == "tag":
            add_tag([pk], values["tag"])
        else:
            linking.link_feedback(values["target"], pk, actor)

    result = BulkResult(str(FEEDBACK_ACTIONS[action]))
    return _run_rows([(pk, f"#{pk}") for pk in ids], do, result, refused)
