"""The reports pages: the archive with "generate now", a report's preview with its edit form, approve and send
buttons and delivery log, the comparison with the previous report, downloads and the schedule editor."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, has, require
from voxloop.reports import queries, services
from voxloop.reports import render as report_render
from voxloop.reports.forms import EditForm, GenerateForm, RecipientsForm, ScheduleForm, language_initial
from voxloop.reports.models import FileFormat, Report, ReportKind, ReportSchedule, ReportState
from voxloop.reports.periods import period_for
from voxloop.reports.services import Recipients, ReportError, ScheduleData, TextEdits

CONTENT_TYPES = {
    FileFormat.PDF: "application/pdf",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _reader(request: HttpRequest) -> User:
    user = cast(User, request.user)  # login_required: never the anonymous user
    require(user, Capability.READ_METRICS)
    return user


def _rights(user: User) -> dict[str, bool]:
    return {"may_prepare": has(user, Capability.PREPARE_REPORTS), "may_approve": has(user, Capability.APPROVE_REPORTS)}


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "")
    qs = queries.reports(kind=kind, state=state)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    form = GenerateForm(initial={"language": language_initial(get_language())})
    return render(request, "reports/list.html", {
        "page": page, "kind": kind, "state": state, "kinds": ReportKind.choices, "states": ReportState.choices,
        "previous": queries.previous_ids(list(page)), "schedules": ReportSchedule.objects.select_related("department"),
        "form": form, "active_nav": "reports", **_rights(user),
    })  # fmt: skip


@login_required
@require_POST
def report_generate(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    require(user, Capability.PREPARE_REPORTS)
    form = GenerateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        period = period_for(data["kind"], data["day"]) if data.get("day") else None
        try:
            report = services.request_report(user, data["kind"], data["language"], data["department"], period=period)
        except ReportError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("reports:detail", pk=report.pk)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("reports:list")


def _get(pk: int) -> Report:
    return get_object_or_404(
        Report.objects.select_related("department", "schedule", "created_by", "approved_by", "sent_by"), pk=pk
    )


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    report = _get(pk)
    if request.headers.get("HX-Request") == "true" and request.GET.get("progress"):
        response = render(request, "reports/_progress.html", {"report": report})
        if report.state != ReportState.GENERATING:
            response["HX-Refresh"] = "true"  # generated (or failed): show the whole page
        return response
    rights = _rights(user)
    edit_form = EditForm(snapshot=report.snapshot) if report.state == ReportState.DRAFT else None
    recipients_form = RecipientsForm() if report.state == ReportState.APPROVED and report.schedule is None else None
    return render(request, "reports/detail.html", {
        "report": report, "edit_form": edit_form, "recipients_form": recipients_form,
        "deliveries": report.deliveries.select_related("user", "department"),
        "previous": queries.previous_report(report), "scope": services.scope_label(report, get_language()),
        "active_nav": "reports", **rights,
    })  # fmt: skip


@login_required
@xframe_options_sameorigin
def report_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The report as its recipients read it, for the frame on the report page (the renderer's own page)."""
    _reader(request)
    report = _get(pk)
    if not report.snapshot:
        raise Http404(_("This report has no content yet."))
    response = HttpResponse(report_render.render_html(report.snapshot))
    # The report quotes customers: whatever a quote holds, nothing in the frame may run as a script.
    response["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'none'"
    )
    return response


@login_required
def report_download(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    _reader(request)
    report = _get(pk)
    if fmt not in CONTENT_TYPES:
        raise Http404(_("There is no such file."))
    try:
        content = services.report_file(report, fmt)
    except ReportError as exc:
        raise Http404(exc.message) from exc
    response = HttpResponse(content, content_type=CONTENT_TYPES[FileFormat(fmt)])
    name = services.pdf_filename(report).removesuffix(".pdf") + f".{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # The file is written in the report's language, whatever the reader's interface language is.
    response["Content-Language"] = report.language
    return response


@login_required
def report_compare(request: HttpRequest, pk: int) -> HttpResponse:
    _reader(request)
    report = _get(pk)
    previous = queries.previous_report(report)
    return render(request, "reports/compare.html", {
        "report": report, "previous": previous, "rows": queries.kpi_deltas(report, previous) if previous else [],
        "active_nav": "reports",
    })  # fmt: skip


def _refused(request: HttpRequest, exc: ReportError, pk: int) -> HttpResponse:
    messages.error(request, exc.message)
    return redirect("reports:detail", pk=pk)


@login_required
@require_POST
def report_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    report = _get(pk)
    form = EditForm(request.POST, snapshot=report.snapshot)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("reports:detail", pk=pk)
    data = form.cleaned_data
    try:
        services.edit_report(
            report,
            user,
            TextEdits(summary=data["summary"], narrative=data["narrative"], suggestions=form.suggestions()),
        )
    except ReportError as exc:
        return _refused(request, exc, pk)
    messages.success(request, _("The text is saved."))
    return redirect("reports:detail", pk=pk)


@login_required
@require_POST
def report_approve(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    try:
        services.approve_report(_get(pk), user)
    except ReportError as exc:
        return _refused(request, exc, pk)
    messages.success(request, _("The report is approved."))
    return redirect("reports:detail", pk=pk)


@login_required
@require_POST
def report_send(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    report = _get(pk)
    recipients: Recipients | None = None
    if report.schedule is None:
        form = RecipientsForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
            return redirect("reports:detail", pk=pk)
        recipients = form.recipients()
    try:
        report = services.send_report(report, user, recipients)
    except ReportError as exc:
        return _refused(request, exc, pk)
    messages.success(request, _("The report is being sent; the delivery log below says to whom."))
    return redirect("reports:detail", pk=pk)


@login_required
@require_POST
def report_test(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    try:
        delivery = services.send_test(_get(pk), user)
    except ReportError as exc:
        return _refused(request, exc, pk)
    if delivery.reason:
        messages.error(request, _("No test was sent: %(reason)s.") % {"reason": delivery.reason})
    else:
        messages.success(request, _("A test is on its way to %(address)s.") % {"address": delivery.address})
    return redirect("reports:detail", pk=pk)


# --- schedules ----------------------------------------------------------------------------------------------


def _schedule_initial(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "name": schedule.name, "kind": schedule.kind, "language": schedule.language,
        "department": schedule.department, "recipient_users": list(schedule.recipient_users.all()),
        "recipient_roles": schedule.recipient_roles, "recipient_departments": list(schedule.recipient_departments.all()),
        "external_addresses": "\n".join(schedule.external_addresses), "approval_required": schedule.approval_required,
        "active": schedule.active,
    }  # fmt: skip


@login_required
def schedule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = _reader(request)
    require(user, Capability.PREPARE_REPORTS)
    schedule = get_object_or_404(ReportSchedule, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = ScheduleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.save_schedule(user, ScheduleData(
                    name=data["name"], kind=data["kind"], language=data["language"], department=data["department"],
                    recipients=form.recipients(), approval_required=data["approval_required"], active=data["active"],
                ), schedule)  # fmt: skip
            except ReportError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The schedule is saved."))
                return redirect("reports:list")
    elif schedule is not None:
        form = ScheduleForm(initial=_schedule_initial(schedule))
    else:
        form = ScheduleForm(initial={"language": language_initial(get_language())})
    return render(request, "reports/schedule.html", {
        "form": form, "schedule": schedule, "active_nav": "reports", "today": timezone.localdate(),
    })  # fmt: skip


@login_required
@require_POST
def schedule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = _reader(request)
    services.delete_schedule(user, get_object_or_404(ReportSchedule, pk=pk))
    messages.success(request, _("The schedule is removed; its reports stay in the archive."))
    return redirect("reports:list")
