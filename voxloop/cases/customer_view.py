"""The cases side of "one view of the customer": the customer's cases (open first) on the customer page and
the case page, and on a feedback item's page the case it belongs to. Registered with the feedback app's
panels in CasesConfig.ready, because feedback sits below cases and never imports it."""

from __future__ import annotations

from typing import Any

from django.db.models import Case as DjCase
from django.db.models import IntegerField, Value, When

from voxloop.accounts.models import User
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseFeedback
from voxloop.cases.queries import visible_cases
from voxloop.feedback.models import Customer, Feedback
from voxloop.feedback.panels import Panel, register_customer_panel, register_feedback_panel

CUSTOMER_CASES_SHOWN = 20


def customer_cases(customer: Customer, user: User, limit: int = CUSTOMER_CASES_SHOWN) -> list[Case]:
    """The customer's cases this user may see: active ones first (most urgent status first), then newest."""
    open_first = DjCase(When(status__in=ACTIVE_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        visible_cases(user)
        .filter(customer=customer)
        .select_related("assignee", "team")
        .annotate(closed_rank=open_first)
        .order_by("closed_rank", "-created_at", "-id")[:limit]
    )


def customer_cases_panel(customer: Customer, user: User, hints: dict[str, Any]) -> Panel | None:
    current = hints.get("current_case_id")
    cases = customer_cases(customer, user)
    other_open = [c for c in cases if c.is_active and c.pk != current]
    return Panel(
        order=10,
        template="cases/_customer_cases.html",
        context={
            "cases": cases,
            "current_case_id": current,
            "other_open": other_open,
            "total": visible_cases(user).filter(customer=customer).count(),
        },
    )


def feedback_case_panel(item: Feedback, user: User) -> Panel | None:
    """The case(s) this feedback item belongs to; one the user may not open is named as such, not hidden."""
    linked = list(CaseFeedback.objects.filter(feedback=item).values_list("case_id", flat=True))
    if not linked:
        return Panel(order=5, template="cases/_feedback_case.html", context={"cases": [], "hidden": 0})
    cases = list(visible_cases(user).filter(pk__in=linked).select_related("assignee", "team").order_by("-created_at"))
    return Panel(
        order=5,
        template="cases/_feedback_case.html",
        context={"cases": cases, "hidden": len(set(linked)) - len(cases)},
    )


def register() -> None:
    register_customer_panel("cases", customer_cases_panel)
    register_feedback_panel("cases", feedback_case_panel)
