"""The actions pages: the list (mine / my department's / all, overdue first), the detail page with its status
buttons, sub-tasks, comments and effect chart, and "create action" prefilled from where it was started."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.models import Department, User
from voxloop.accounts.permissions import Capability, PolicyDenied, has, require
from voxloop.actions import incidents, notices, queries, services
from voxloop.actions.forms import ActionForm
from voxloop.actions.models import ActionStatus, ActionTask, ActionType, FixNotice, ImprovementAction
from voxloop.actions.services import ActionError
from voxloop.cases.models import ACTIVE_STATUSES
from voxloop.surveys.models import Survey

# The buttons each status offers: (transition, label, needs approval rights)
TRANSITIONS = {
    ActionStatus.PROPOSED: [("approve", True)],
    ActionStatus.APPROVED: [("start", False)],
    ActionStatus.IN_PROGRESS: [("implement", False)],
    ActionStatus.IMPLEMENTED: [("verify", False)],
    ActionStatus.VERIFYING: [("close_effective", True), ("close_not_effective", True)],
}


def _labels() -> dict[str, str]:
    return {
        "approve": _("Approve"),
        "start": _("Start the work"),
        "implement": _("Mark as implemented"),
        "verify": _("Start verifying"),
        "close_effective": _("Close as effective"),
        "close_not_effective": _("Close as not effective"),
        "cancel": _("Cancel the action"),
    }


def _may_view(user: User | AnonymousUser) -> None:
    if not (has(user, Capability.READ_METRICS) or has(user, Capability.PROPOSE_ACTIONS)):
        require(user, Capability.READ_METRICS)


@login_required
def action_list(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required: never the anonymous user
    _may_view(user)
    tab = request.GET.get("tab", "mine")
    if tab not in queries.TABS:
        tab = "mine"
    today = timezone.localdate()
    filters = {
        "status": request.GET.get("status", "open"),
        "department": request.GET.get("department", ""),
        "action_type": request.GET.get("type", ""),
        "q": request.GET.get("q", "").strip(),
    }
    qs = queries.actions_for(user, tab, today, **filters)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "actions/list.html", {
        "tab": tab, "page": page, "filters": filters, "today": today,
        "departments": Department.objects.all(), "types": ActionType.choices,
        "statuses": ActionStatus.choices, "may_propose": has(request.user, Capability.PROPOSE_ACTIONS),
        "department_summary": queries.department_summary(user, today) if tab == "department" else [],
    })  # fmt: skip


@login_required
def action_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)  # login_required: never the anonymous user
    _may_view(user)
    action = get_object_or_404(ImprovementAction.objects.select_related("department__manager", "owner"), pk=pk)
    labels = _labels()
    may_approve = services.may_approve(user, action)
    may_work = services.may_work_on(user, action)
    buttons = [
        (name, labels[name]) for name, approval in TRANSITIONS.get(ActionStatus(action.status), [])
        if (may_approve if approval else may_work)
    ]  # fmt: skip
    measurement = services.latest_report(action)
    report = measurement.report if measurement else None
    return render(request, "actions/detail.html", {
        "action": action, "buttons": buttons, "may_work": may_work, "may_approve": may_approve,
        "may_cancel": may_approve and action.is_open, "may_comment": has(request.user, Capability.PROPOSE_ACTIONS),
        "overdue": action.is_overdue(timezone.localdate()), "measurement": measurement, "report": report,
        "chart_options": {"effect": queries.effect_chart(report)} if report and report.get("improvement") else {},
        "table": queries.effect_table(report) if report else [],
        "outcome_rows": queries.outcome_rows(report.get("outcomes") or []) if report else [],
        "baseline_rows": queries.baseline_rows(action.baseline or {}),
        "measurements": action.measurements.all()[:10], "events": action.events.select_related("actor"),
        "tasks": action.tasks.all(), "comments": action.comments.select_related("author"),
        "collaborators": action.collaborators.all(), "cases": action.cases.all()[:20],
        "scope": queries.scope_labels(action, get_language() or ""),
        "open_cases": action.cases.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True).count(),
        "answer_routes": incidents.answer_routes(action) if may_work and has(user, Capability.MANAGE_CASES) else [],
        "may_answer_cases": may_work and has(user, Capability.MANAGE_CASES),
        "notices_sent": action.notices.filter(status="sent").count(),
    })  # fmt: skip


@login_required
def action_create(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required: never the anonymous user
    require(user, Capability.PROPOSE_ACTIONS)
    if request.method == "POST":
        form = ActionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                action = services.create_action(
                    user, title=data["title"], department=data["department"], owner=data["owner"],
                    due_date=data["due_date"], description=data["description"], plan=data["plan"],
                    action_type=data["action_type"], topics=ActionForm.split(data["topics"]),
                    products=ActionForm.split(data["products"]), channels=data["channels"], segment=data["segment"],
                    origin=data["origin"], origin_ref=data["origin_ref"], collaborators=list(data["collaborators"]),
                )  # fmt: skip
            except ActionError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The action was created and its baseline frozen."))
                return redirect("actions:detail", pk=action.pk)
    else:
        # Prefilled from a Pareto bar, a driver, an alert, an emerging topic or a case (links carry the scope).
        get = request.GET
        initial = {
            "title": get.get("title", ""), "topics": get.get("topics", ""), "products": get.get("products", ""),
            "channels": get.getlist("channels"), "segment": get.get("segment", ""),
            "origin": get.get("origin", "manual"), "origin_ref": get.get("ref", ""), "owner": request.user.pk,
        }  # fmt: skip
        form = ActionForm(initial=initial)
    return render(request, "actions/create.html", {"form": form})


def _back(pk: int) -> HttpResponse:
    return redirect("actions:detail", pk=pk)


@login_required
@require_POST
def action_status(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction.objects.select_related("department"), pk=pk)
    transition = request.POST.get("transition", "")
    user = cast(User, request.user)  # login_required: never the anonymous user
    try:
        if transition == "approve":
            services.approve_action(user, action)
        elif transition == "start":
            services.start_action(user, action, request.POST.get("plan") or None)
        elif transition == "implement":
            services.implement_action(user, action, parse_date(request.POST.get("implemented_on", "")) or None)
        elif transition == "verify":
            services.verify_action(user, action)
        elif transition in ("close_effective", "close_not_effective"):
            services.close_action(user, action, effective=transition == "close_effective")
        elif transition == "cancel":
            services.cancel_action(user, action, request.POST.get("reason", ""))
        else:
            messages.error(request, _("Unknown step."))
            return _back(pk)
    except (ActionError, PolicyDenied) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return _back(pk)


@login_required
@require_POST
def action_task_add(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction.objects.select_related("department"), pk=pk)
    try:
        services.add_task(cast(User, request.user), action, request.POST.get("title", ""))
    except ActionError as exc:
        messages.error(request, exc.message)
    return _back(pk)


@login_required
@require_POST
def action_task_toggle(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    task = get_object_or_404(ActionTask.objects.select_related("action__department"), pk=task_pk, action_id=pk)
    try:
        services.set_task_done(cast(User, request.user), task, request.POST.get("done") == "1")
    except ActionError as exc:
        messages.error(request, exc.message)
    return _back(pk)


@login_required
@require_POST
def action_comment(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction, pk=pk)
    try:
        services.add_comment(cast(User, request.user), action, request.POST.get("text", ""))
    except (ActionError, PolicyDenied) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
    return _back(pk)


@login_required
@require_POST
def action_measure(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction.objects.select_related("department"), pk=pk)
    try:
        services.measure_now(cast(User, request.user), action)
    except ActionError as exc:
        messages.error(request, exc.message)
    return _back(pk)


@login_required
def action_annotations(request: HttpRequest) -> HttpResponse:
    """The actions implemented between ``first`` and ``last`` (ISO dates), for the insight charts' marks."""
    _may_view(request.user)
    first, last = parse_date(request.GET.get("first", "") or ""), parse_date(request.GET.get("last", "") or "")
    if first is None or last is None or first > last:
        return JsonResponse(
            {"detail": _("Give first and last as dates (YYYY-MM-DD), first not after last.")}, status=400
        )
    items = [{"day": a.day.isoformat(), "label": a.label, "url": a.url, "topics": list(a.topics)}
             for a in queries.action_annotations(first, last)]  # fmt: skip
    return JsonResponse({"items": items})


@login_required
@require_POST
def action_public_note(request: HttpRequest, pk: int) -> HttpResponse:
    action = get_object_or_404(ImprovementAction.objects.select_related("department"), pk=pk)
    try:
        incidents.set_public_note(
            cast(User, request.user), action, request.POST.get("public_note", ""),
            request.POST.get("public_note_en") if "public_note_en" in request.POST else None,
        )  # fmt: skip
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The note for customers was saved."))
    return _back(pk)


@login_required
@require_POST
def action_answer_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """Incidents: answer and resolve every linked open case with the public note."""
    action = get_object_or_404(ImprovementAction.objects.select_related("department"), pk=pk)
    try:
        result = incidents.answer_linked_cases(cast(User, request.user), action, request.POST.get("public_note", ""))
    except (ActionError, PolicyDenied) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return _back(pk)
    if result.answered:
        messages.success(
            request,
            _("%(count)s linked cases were answered and resolved: %(numbers)s.")
            % {"count": len(result.answered), "numbers": ", ".join(result.answered)},
        )
    for number, why in result.refused:
        messages.error(request, _("Case %(number)s was not answered: %(why)s") % {"number": number, "why": why})
    if not result.answered and not result.refused:
        messages.info(request, _("No linked case is open."))
    return _back(pk)


@login_required
def action_notices(request: HttpRequest, pk: int) -> HttpResponse:
    """The "we fixed it" notice: a preview in each language, who would be told and who is skipped and why; the
    button sends it (managers, once the action is closed as effective)."""
    user = cast(User, request.user)  # login_required: never the anonymous user
    _may_view(user)
    action = get_object_or_404(ImprovementAction.objects.select_related("department__manager", "owner"), pk=pk)
    may_send = services.may_approve(user, action)
    if request.method == "POST":
        survey_id = request.POST.get("survey", "")
        survey = Survey.objects.filter(pk=int(survey_id)).first() if survey_id.isdigit() else None
        if survey_id and survey is None:
            messages.error(request, _("Unknown survey: %(survey)s.") % {"survey": survey_id})
            return redirect("actions:notices", pk=pk)
        try:
            result = notices.send_fix_notices(user, action, survey=survey)
        except (ActionError, PolicyDenied) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        else:
            messages.success(
                request,
                _("%(sent)s customers were told; %(failed)s could not be reached.")
                % {"sent": result.sent, "failed": result.failed},
            )
        return redirect("actions:notices", pk=pk)
    audience = notices.notice_audience(action)
    languages = audience.languages() or {get_language() or "zh-hans": 0}
    previews = []
    for language, count in sorted(languages.items()):
        subject, body = notices.render_notice(action, language, None)
        previews.append({"language": language, "count": count, "subject": subject, "body": body})
    return render(request, "actions/notices.html", {
        "action": action, "audience": audience, "previews": previews, "may_send": may_send,
        "sendable": action.status == ActionStatus.CLOSED_EFFECTIVE and bool(action.public_note.strip()),
        "log": FixNotice.objects.filter(action=action).select_related("customer")[:50],
        "sent_count": FixNotice.objects.filter(action=action, status="sent").count(),
        "surveys": Survey.objects.filter(is_active=True).order_by("name"),
        "english_without_note": 0 if action.public_note_en.strip() else audience.languages().get("en", 0),
    })  # fmt: skip
