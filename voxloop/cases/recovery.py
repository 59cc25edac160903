"""The bulk "open recovery cases" action on a customer segment: one case per customer of the segment that has no
open case, opened through ``open_case``. The segments themselves are placed by voxloop.insights.segmentation;
the insights page only asks for the preview and calls ``open_recovery_cases`` (it writes no case itself), and
the service checks the policy, so every caller gets the page's "managers and admins only"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, require
from voxloop.cases.guards import CaseError, CaseErrorCode
from voxloop.cases.models import ACTIVE_STATUSES, Case, Severity
from voxloop.cases.services import open_case
from voxloop.cases.sla import CalendarCache
from voxloop.feedback.models import Customer, CustomerSegment, Feedback


class SkipCode:
    OPEN_CASE = "open_case"
    NO_FEEDBACK = "no_feedback"
    OPTED_OUT = "opted_out"


SKIP_LABELS = {
    SkipCode.OPEN_CASE: gettext_lazy("already have an open case"),
    SkipCode.NO_FEEDBACK: gettext_lazy("have no feedback to open a case from"),
    SkipCode.OPTED_OUT: gettext_lazy("opted out of contact"),
}

RECOVERY_LIMIT = 500  # cases opened per click; the rest on the next click (customers done are then skipped)


@dataclass
class RecoveryResult:
    opened: list[int] = field(default_factory=list)  # case ids
    skipped: Counter[str] = field(default_factory=Counter)  # reason code (SkipCode or CaseErrorCode) -> customers
    messages: dict[str, str] = field(default_factory=dict)  # CaseError code -> its message (first seen)
    remaining: int = 0  # customers left for another run (over the limit)
    stopped: str = ""  # why the run stopped early (a configuration problem), already translated


def _active_case() -> Exists:
    return Exists(Case.objects.filter(customer_id=OuterRef("pk"), status__in=ACTIVE_STATUSES))


def recovery_preview(segment: str) -> dict[str, int]:
    """How many customers of the segment would get a case, and how many would be skipped and why."""
    customers = Customer.objects.filter(segment=segment)
    has_feedback = Exists(Feedback.objects.filter(customer_id=OuterRef("pk")))
    active = Q(_active_case())
    row = customers.aggregate(
        n_total=Count("pk"),
        n_open_case=Count("pk", filter=active),
        n_opted_out=Count("pk", filter=Q(opted_out=True) & ~active),
        n_no_feedback=Count("pk", filter=~Q(has_feedback) & ~active & Q(opted_out=False)),
    )
    counts = {name[2:]: n for name, n in row.items()}  # (the "n_" keeps them apart from the field names)
    counts["to_open"] = counts["total"] - counts["open_case"] - counts["opted_out"] - counts["no_feedback"]
    return counts


def open_recovery_cases(
    segment: str, actor: User | None, *, limit: int = RECOVERY_LIMIT, now: datetime | None = None
) -> RecoveryResult:
    """Open one case per customer of ``segment`` that has no open case, from the customer's latest feedback,
    most valuable customers first. Customers with an open case, with no feedback to open one from, or who opted
    out of contact are skipped (counted by reason). Running it again opens nothing twice.

    ``actor`` None is the system (a task, the demo); a person needs ``ACT_ON_SEGMENTS`` (PolicyDenied)."""
    if actor is not None:
        require(actor, Capability.ACT_ON_SEGMENTS)
    result = RecoveryResult()
    preview = recovery_preview(segment)
    for code in (SkipCode.OPEN_CASE, SkipCode.OPTED_OUT, SkipCode.NO_FEEDBACK):
        if preview[code]:
            result.skipped[code] = preview[code]
    latest = Feedback.objects.filter(customer_id=OuterRef("pk")).order_by("-received_at", "-id").values("pk")[:1]
    candidates = (
        Customer.objects.filter(segment=segment, opted_out=False)
        .exclude(_active_case())
        .annotate(latest_feedback=Subquery(latest))
        .filter(latest_feedback__isnull=False)
        .order_by("-lifetime_value", "-order_count", "pk")
        .values_list("pk", "latest_feedback")
    )
    rows = list(candidates[:limit])
    label = CustomerSegment(segment).label if segment in CustomerSegment.values else segment
    title = _("Customer recovery: %(segment)s") % {"segment": label}
    severity = Severity.IMPORTANT if segment == CustomerSegment.HIGH_RISK_RECOVERY else Severity.NORMAL
    calendars = CalendarCache()
    for _customer_id, feedback_id in rows:
        try:
            case = open_case([feedback_id], severity, actor=actor, title=title, now=now, calendars=calendars)
        except CaseError as exc:
            if exc.code == CaseErrorCode.NO_SLA_POLICY:
                result.stopped = exc.message  # every other customer would fail the same way: say what to fix
                break
            result.skipped[exc.code] += 1  # e.g. the latest feedback already sits in another customer's case
            result.messages.setdefault(exc.code, exc.message)
            continue
        result.opened.append(case.pk)
    failed = sum(n for code, n in result.skipped.items() if code not in SKIP_LABELS)
    result.remaining = max(0, preview["to_open"] - len(result.opened) - failed)
    return result
