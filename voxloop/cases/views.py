"""Staff pages for cases: the agent inbox, the case page with its actions, canned replies and approvals.
Views only translate between HTTP and the services; every change goes through services/compensation/macros."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts import privacy
from voxloop.accounts.audit import record_access
from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.models import Team, User
from voxloop.accounts.permissions import Capability, has, require
from voxloop.accounts.templatetags.voxloop import case_title
from voxloop.cases import (
    bulk,
    compensation,
    delivery,
    linking,
    macros,
    presence,
    queries,
    saved_views,
    services,
    tracking,
)
from voxloop.cases.forms import (
    AssignForm,
    CompensationForm,
    DecisionForm,
    EscalateForm,
    LinkFeedbackForm,
    MacroForm,
    MergeForm,
    NoteForm,
    ReopenForm,
    ReplyForm,
    ResolveForm,
    SeverityForm,
    StatusForm,
    TeamForm,
    root_cause_choices,
)
from voxloop.cases.models import ACTIVE_STATUSES, CannedReply, Case, CaseFeedback, CaseStatus, Compensation, Severity
from voxloop.cases.services import CaseError, CaseErrorCode
from voxloop.feedback.hooks import text_highlighter
from voxloop.feedback.panels import customer_panels


def _visible_case(request: AuthenticatedRequest, pk: int) -> Case:
    """The case if this user may see it; otherwise 404, so other teams' case numbers leak nothing."""
    return get_object_or_404(
        queries.visible_cases(request.user).select_related(
            "customer", "team", "assignee", "sla_policy", "merged_into", "repeat_of"
        ),
        pk=pk,
    )


# --- inbox -----------------------------------------------------------------------------------------------


def _tab_links(
    request: AuthenticatedRequest, filters: queries.CaseInboxFilters
) -> list[tuple[str, str, str, int | None]]:
    """(key, label, query string, count) for each list; counts are for the current filters."""
    counts = queries.tab_counts(request.user, filters)
    return [(key, str(queries.TAB_LABELS[key]), filters.query_string(tab=key), counts.get(key)) for key in queries.TABS]


def _saved_view_links(request: AuthenticatedRequest) -> list[tuple[Any, int]]:
    now = timezone.now()
    return [
        (view, queries.inbox_queryset(request.user, saved_views.filters_of(view), now).count())
        for view in saved_views.views_of(request.user)
    ]


@login_required
def inbox(request: AuthenticatedRequest) -> HttpResponse:
    filters = queries.CaseInboxFilters.from_params(request.GET)
    now = timezone.now()
    rows, cursor = queries.inbox_page(request.user, filters, request.GET.get("after", ""), now)
    highlighter = text_highlighter() if filters.q else None
    if highlighter is not None:
        for row in rows:  # the search words marked in the title as this reader may see it
            row.title_snippet = highlighter(str(case_title(row, request.user)), filters.q)  # type: ignore[attr-defined]  # for the template
    # Customers' names shown unmasked are personal-data access (none recorded for masked roles).
    privacy.record_shown(request.user, Case, [(c.pk, c.customer_id) for c in rows if c.customer_id], request=request)
    if request.htmx and request.GET.get("after"):
        return render(
            request,
            "cases/_inbox_rows.html",
            {
                "rows": rows, "next_cursor": cursor, "filters": filters, "query_string": filters.query_string(),
                "may_bulk": has(request.user, Capability.WORK_ON_CASES),
            },
        )  # fmt: skip
    team_ids = queries.visible_team_ids(request.user)
    teams = Team.objects.order_by("name") if team_ids is None else Team.objects.filter(pk__in=team_ids)
    assignees = User.objects.filter(is_active=True, role__in=["agent", "manager", "admin"])
    if team_ids is not None:
        assignees = assignees.filter(teams__in=team_ids).distinct()
    order_help = str(queries.TAB_ORDER_HELP[filters.tab]) % {
        "hours": f"{queries.breaching_soon_hours():g}",
        "days": queries.CUSTOMER_RECENT_DAYS,
    }
    context = {
        "rows": rows,
        "bulk_summary": request.session.pop(BULK_SUMMARY, None),
        "match_count": queries.inbox_queryset(request.user, filters, now).count() if filters.q else None,
        "bulk_actions": bulk.CASE_ACTIONS.items(),
        "may_bulk": has(request.user, Capability.WORK_ON_CASES),
        # A manager assigns to anyone they see; an agent can only take cases (the service refuses the rest).
        "bulk_assignees": assignees.order_by("username")[:300]
        if has(request.user, Capability.MANAGE_CASES)
        else [request.user],
        "bulk_statuses": [(v, label) for v, label in CaseStatus.choices if v in bulk.BULK_STATUSES],
        "bulk_severities": Severity.choices,
        "filters": filters,
        "next_cursor": cursor,
        "query_string": filters.query_string(),
        "tabs": _tab_links(request, filters),
        "saved_views": _saved_view_links(request),
        "order_help": order_help,
        "statuses": CaseStatus.choices,
        "severities": Severity.choices,
        "teams": teams,
        "assignees": assignees.order_by("username")[:300],
        "follow_ups": queries.follow_ups_due(request.user),
        "active_nav": "cases",
    }
    return render(request, "cases/inbox.html", context)


@login_required
def inbox_counts(request: AuthenticatedRequest) -> HttpResponse:
    """The list tabs with fresh counts; the inbox polls this so the numbers move without a reload."""
    filters = queries.CaseInboxFilters.from_params(request.GET)
    context = {
        "filters": filters,
        "tabs": _tab_links(request, filters),
        "saved_views": _saved_view_links(request),
        "query_string": filters.query_string(),
    }
    return render(request, "cases/_inbox_tabs.html", context)


@login_required
@require_POST
def save_view(request: AuthenticatedRequest) -> HttpResponse:
    filters = queries.CaseInboxFilters.from_params(request.POST)
    try:
        view = saved_views.save_view(request.user, request.POST.get("name", ""), filters)
    except saved_views.SavedViewError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('cases:inbox')}?{filters.query_string()}")
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(f"{reverse('cases:inbox')}?{view.query}")


@login_required
@require_POST
def delete_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    if not saved_views.delete_view(request.user, pk):
        raise Http404
    messages.success(request, _("View deleted."))
    return redirect("cases:inbox")


# --- bulk actions ----------------------------------------------------------------------------------------

BULK_SUMMARY = "bulk_summary"  # the session key the list pages read the last bulk result from


def _bulk_params(data: Any) -> bulk.BulkParams:
    assignee = data.get("assignee", "")
    return bulk.BulkParams(
        assignee_id=int(assignee) if assignee.isdigit() else None,
        status=data.get("status", ""),
        severity=data.get("severity", ""),
        tag=data.get("tag", ""),
        case_number=data.get("case_number", ""),
    )


def _back(request: AuthenticatedRequest, default: str) -> HttpResponse:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse(default)
    return redirect(target)


def _run_bulk(request: AuthenticatedRequest, run: Callable[..., bulk.BulkResult], default: str) -> HttpResponse:
    try:
        result = run(
            request.user, request.POST.getlist("ids"), request.POST.get("action", ""), _bulk_params(request.POST)
        )
    except bulk.BulkError as exc:
        messages.error(request, exc.message)
    else:
        request.session[BULK_SUMMARY] = result.as_dict()
    return _back(request, default)


@login_required
@require_POST
def bulk_cases(request: AuthenticatedRequest) -> HttpResponse:
    """Apply one action to the selected cases; the list shows what was done and what was refused, and why."""
    return _run_bulk(request, bulk.run_case_action, "cases:inbox")


@login_required
@require_POST
def bulk_feedback(request: AuthenticatedRequest) -> HttpResponse:
    """The same for the selected feedback items (tag, link to a case)."""
    return _run_bulk(request, bulk.run_feedback_action, "feedback:inbox")


# --- case page -------------------------------------------------------------------------------------------


def _forms_for(case: Case, data: dict[str, forms.Form] | None = None) -> dict[str, forms.Form]:
    built: dict[str, forms.Form] = {
        "reply": ReplyForm(prefix="reply"),
        "note": NoteForm(prefix="note"),
        "assign": AssignForm(prefix="assign", case=case, initial={"assignee": case.assignee_id}),
        "team": TeamForm(prefix="team", initial={"team": case.team_id}),
        "status": StatusForm(prefix="status", case=case),
        "severity": SeverityForm(prefix="severity", initial={"severity": case.severity}),
        "escalate": EscalateForm(prefix="escalate"),
        "merge": MergeForm(prefix="merge"),
        "link": LinkFeedbackForm(prefix="link"),
        "resolve": ResolveForm(prefix="resolve"),
        "reopen": ReopenForm(prefix="reopen"),
        "compensation": CompensationForm(prefix="compensation"),
    }
    built.update(data or {})
    return built


def _case_context(
    request: AuthenticatedRequest, case: Case, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    user = request.user
    now = timezone.now()
    can_work = queries.may_work_on(user, case)
    comps = list(case.compensations.select_related("requested_by", "decided_by").order_by("-created_at", "-id"))
    for comp in comps:
        # For the template: what this user may do with each proposal (not fields).
        comp.user_may_approve = compensation.may_approve(user, comp)  # type: ignore[attr-defined]
        comp.user_may_reject = compensation.may_reject(user, comp)  # type: ignore[attr-defined]
    customer = case.customer
    panels, customer_feedback, customer_orders = [], [], []
    if customer is not None:
        # The one view of the customer: their cases (open first), survey answers, recent feedback and orders.
        panels = customer_panels(customer, user, current_case_id=case.pk)
        customer_feedback = list(customer.feedback_items.order_by("-received_at", "-id")[:5])
        customer_orders = list(customer.orders.select_related("product").order_by("-ordered_at")[:5])
    is_member = not case.team_id or user.teams.filter(pk=case.team_id).exists()
    return {
        "case": case,
        "now": now,
        "root_cause_name": dict(root_cause_choices()).get(case.root_cause, case.root_cause) if case.root_cause else "",
        "clocks": queries.case_clocks(case, now),
        "feedback_links": CaseFeedback.objects.filter(case=case).select_related("feedback").order_by("linked_at"),
        "timeline": queries.timeline(case, user),
        "customer": customer,
        "customer_panels": panels,
        "reply_route": delivery.reply_route(case) if can_work else None,
        "tracking_link": tracking.tracking_url(case) if can_work else "",
        "tracking_expired": bool(case.tracking_expires_at and case.tracking_expires_at <= now),
        "customer_feedback": customer_feedback,
        "customer_orders": customer_orders,
        "compensations": comps,
        "can_work": can_work,
        "can_manage": can_work and has(user, Capability.MANAGE_CASES),
        "can_take": can_work and case.assignee_id is None and case.status in ACTIVE_STATUSES and is_member,
        "is_active": case.status in ACTIVE_STATUSES and not case.merged_into_id,
        "can_reopen": can_work and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) and not case.merged_into_id,
        "macros": macros.rendered_macros(case, user) if can_work else [],
        "forms": _forms_for(case, bound),
        "limit": compensation.limit_for(user),
        "present": presence.others(case.pk, user),
        "poll": presence.POLL_SECONDS,
        "active_nav": "cases",
    }


@login_required
def case_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    if case.customer_id:
        # The customer panel shows contact details: an unmasked view is personal-data access and is logged.
        record_access(request.user, case, customer_id=case.customer_id, request=request)
    presence.mark(case.pk, request.user, presence.VIEWING)
    return render(request, "cases/detail.html", _case_context(request, case))


@login_required
@require_POST
def case_presence(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The case page's heartbeat: records this user (viewing, replying, left) and answers who else is here."""
    case = _visible_case(request, pk)
    state = request.POST.get("state", presence.VIEWING)
    presence.mark(case.pk, request.user, state if state in presence.STATES else presence.VIEWING)
    context = {"case": case, "present": presence.others(case.pk, request.user), "poll": presence.POLL_SECONDS}
    return render(request, "cases/_presence.html", context)


@login_required
@require_POST
def reply_preview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """What the customer will read if this reply is sent (a fragment for the composer); sends nothing."""
    case = _visible_case(request, pk)
    if not queries.may_work_on(request.user, case):
        raise PermissionDenied
    text = (request.POST.get("reply-text") or "").strip()
    context = {
        "case": case,
        "text": text,
        "route": delivery.reply_route(case),
        "preview": delivery.reply_preview(case, request.user, text) if text else None,
    }
    return render(request, "cases/_reply_preview.html", context)


# Each action: (form class, needs the case to build the form, only managers, what it does -> success message).
Handler = Callable[[AuthenticatedRequest, Case, dict[str, Any]], tuple[str, Case | None]]


def _reply(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.add_reply(case, request.user, data["text"], public=True)
    return _("Reply sent to the customer."), None


def _note(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.add_reply(case, request.user, data["text"], public=False)
    return _("Internal note added."), None


def _take(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.take_case(case, request.user)
    return _("You took case %(number)s.") % {"number": case.number}, None


def _assign(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    user = data["assignee"]
    services.assign_case(case, user, request.user)
    return _("Case assigned to %(user)s.") % {"user": user.get_full_name() or user.username}, None


def _team(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.change_team(case, data["team"], request.user)
    return _("Case moved to team %(team)s.") % {"team": data["team"]}, None


def _status(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.set_status(case, data["status"], request.user)
    return _("Status changed to %(status)s.") % {"status": CaseStatus(data["status"]).label}, None


def _severity(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.change_severity(case, data["severity"], request.user)
    return _("Severity changed to %(severity)s.") % {"severity": Severity(data["severity"]).label}, None


def _escalate(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    escalated = services.escalate_case(case, request.user, reason=data["reason"])
    return _("Case escalated to level %(level)s.") % {"level": escalated.escalation_level}, None


def _merge(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    number = data["number"]
    target = queries.visible_cases(request.user).filter(number=number).first()
    if target is None and number.isdigit():
        target = queries.visible_cases(request.user).filter(pk=int(number)).first()
    if target is None:
        raise CaseError(
            CaseErrorCode.MERGE_INVALID, _("There is no case %(number)s that you can see.") % {"number": number}
        )
    services.merge_cases(target, [case], request.user)
    return _("Case %(case)s was merged into %(target)s.") % {"case": case.number, "target": target.number}, target


def _link(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    linking.link_feedback(case, data["feedback_id"], request.user)
    return _("Feedback #%(id)s linked.") % {"id": data["feedback_id"]}, None


def _resolve(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.resolve_case(case, request.user, root_cause=data["root_cause"], resolution=data["resolution"])
    return _("Case resolved."), None


def _reopen(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    services.reopen_case(case, request.user, reason=data.get("reason", ""))
    return _("Case reopened."), None


def _compensate(request: AuthenticatedRequest, case: Case, data: dict[str, Any]) -> tuple[str, Case | None]:
    comp = compensation.propose_compensation(
        case, request.user, amount=data["amount"], kind=data["kind"], reason=data["reason"]
    )
    if comp.status == "approved":
        return _("Compensation of %(amount)s %(currency)s approved.") % {
            "amount": comp.amount,
            "currency": comp.currency,
        }, None
    return _("%(amount)s %(currency)s is above your limit; the request waits for a manager's approval.") % {
        "amount": comp.amount,
        "currency": comp.currency,
    }, None


ACTIONS: dict[str, tuple[type[forms.Form], bool, bool, Handler]] = {
    "reply": (ReplyForm, False, False, _reply),
    "note": (NoteForm, False, False, _note),
    "take": (forms.Form, False, False, _take),
    "assign": (AssignForm, True, True, _assign),
    "team": (TeamForm, False, True, _team),
    "status": (StatusForm, True, False, _status),
    "severity": (SeverityForm, False, False, _severity),
    "escalate": (EscalateForm, False, False, _escalate),
    "merge": (MergeForm, False, False, _merge),
    "link": (LinkFeedbackForm, False, False, _link),
    "resolve": (ResolveForm, False, False, _resolve),
    "reopen": (ReopenForm, False, False, _reopen),
    "compensation": (CompensationForm, False, False, _compensate),
}

# Conflicts (somebody else was quicker) are 409, everything else the user can fix is 400.
CONFLICT_CODES = {CaseErrorCode.ALREADY_TAKEN, compensation.CompensationErrorCode.ALREADY_DECIDED}


@login_required
@require_POST
def case_action(request: AuthenticatedRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    case = _visible_case(request, pk)
    if not queries.may_work_on(request.user, case):
        raise PermissionDenied
    form_class, needs_case, managers_only, handler = ACTIONS[action]
    if managers_only:
        require(request.user, Capability.MANAGE_CASES)
    kwargs: dict[str, Any] = {"case": case} if needs_case else {}
    form = form_class(request.POST, prefix=None if form_class is forms.Form else action, **kwargs)
    error, status = "", 400
    if form.is_valid():
        try:
            message, goto = handler(request, case, form.cleaned_data)
        except (CaseError, compensation.CompensationError) as exc:
            error = exc.message
            status = 409 if exc.code in CONFLICT_CODES else 400
        else:
            messages.success(request, message)
            return redirect("cases:detail", pk=(goto or case).pk)
    else:
        error = _("Please correct the errors below.")
    case = _visible_case(request, pk)  # fresh state: the failed action may have raced another change
    context = _case_context(request, case, {action: form})
    context.update({"action_error": error, "failed_action": action})
    return render(request, "cases/detail.html", context, status=status)


# --- canned replies ----------------------------------------------------------------------------------------


def _require_manager(request: AuthenticatedRequest) -> None:
    require(request.user, Capability.MANAGE_CASES)


@login_required
def macro_list(request: AuthenticatedRequest) -> HttpResponse:
    _require_manager(request)
    items = CannedReply.objects.select_related("team").order_by("title")
    return render(
        request,
        "cases/macros.html",
        {"macros": items, "variables": macros.VARIABLES, "active_nav": "cases"},
    )


@login_required
def macro_edit(request: AuthenticatedRequest, pk: int | None = None) -> HttpResponse:
    _require_manager(request)
    macro = get_object_or_404(CannedReply, pk=pk) if pk else None
    form = MacroForm(request.POST or None, instance=macro)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                saved = macros.save_macro(
                    macro,
                    title=data["title"],
                    body=data["body"],
                    language=data.get("language") or "",
                    team=data.get("team"),
                    is_active=data.get("is_active", False),
                    actor=request.user,
                )
            except macros.MacroError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("Canned reply “%(title)s” saved.") % {"title": saved.title})
                return redirect("cases:macros")
        status = 400
    context = {"form": form, "macro": macro, "variables": macros.VARIABLES, "active_nav": "cases"}
    return render(request, "cases/macro_form.html", context, status=status)


# --- compensation approvals --------------------------------------------------------------------------------


@login_required
def approvals(request: AuthenticatedRequest) -> HttpResponse:
    require(request.user, Capability.DECIDE_COMPENSATION)
    pending = list(compensation.pending_for(request.user, queries.visible_cases(request.user)))
    for comp in pending:
        # For the template, as on the case page.
        comp.user_may_approve = compensation.may_approve(request.user, comp)  # type: ignore[attr-defined]
        comp.user_may_reject = compensation.may_reject(request.user, comp)  # type: ignore[attr-defined]
    context = {
        "pending": pending,
        "limit": compensation.limit_for(request.user),
        "form": DecisionForm(),
        "active_nav": "cases",
    }
    return render(request, "cases/approvals.html", context)


@login_required
@require_POST
def decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.DECIDE_COMPENSATION)
    comp = get_object_or_404(
        Compensation.objects.filter(case__in=queries.visible_cases(request.user)).select_related("case"), pk=pk
    )
    form = DecisionForm(request.POST)
    back = request.POST.get("next") == "case"
    if not form.is_valid():
        messages.error(request, _("Choose approve or reject."))
    else:
        try:
            compensation.decide_compensation(
                comp, request.user, approve=form.cleaned_data["decision"] == "approve", note=form.cleaned_data["note"]
            )
        except compensation.CompensationError as exc:
            messages.error(request, exc.message)
        else:
            if form.cleaned_data["decision"] == "approve":
                messages.success(request, _("Compensation approved."))
            else:
                messages.success(request, _("Compensation rejected."))
    if back:
        return redirect("cases:detail", pk=comp.case_id)
    return redirect("cases:approvals")
