"""Service-quality report endpoints: the archive (list, read with its snapshot), the files, and "generate now".

The token acts as the user it belongs to, with that user's permissions (reading needs the right to read metrics,
generating the right to prepare reports). Generation runs in the background: the answer is 202 with the report
in state "generating"; poll the report until it is a draft. Files are the stored, archived ones.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from voxloop.accounts.models import Department, User
from voxloop.accounts.permissions import Capability, require
from voxloop.api.auth import TokenAuth, acting_user
from voxloop.api.cursors import keyset_page
from voxloop.api.models import Scope
from voxloop.api.schemas import ErrorOut
from voxloop.reports import queries, services
from voxloop.reports.models import FileFormat, Report, ReportKind, ReportLanguage, ReportState
from voxloop.reports.periods import period_for
from voxloop.reports.services import ReportError, ReportErrorCode

router = Router(tags=["reports"])

if TYPE_CHECKING:  # a Literal built from the choices at run time is no type to mypy: plain strings to it
    KindValue = str
    StateValue = str
    LanguageValue = str
else:  # the API schema lists the model's choices, and ninja answers 422 for any other value
    KindValue = Literal[tuple(ReportKind.values)]
    StateValue = Literal[tuple(ReportState.values)]
    LanguageValue = Literal[tuple(ReportLanguage.values)]
FormatValue = Literal["pdf", "xlsx"]
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class ReportLinks(Schema):
    pdf: str | None = Field(None, description="The PDF (API path; the same token reads it).")
    xlsx: str | None = Field(None, description="The Excel workbook, one sheet per table.")
    page: str = Field(..., description="The report's page in VoxLoop.")


class ReportOut(Schema):
    id: int
    title: str
    kind: str
    period_start: date
    period_end: date
    language: str
    department_id: int | None
    scope: str
    state: str
    progress: int = Field(..., description="Generation progress, 0-100.")
    error: str
    schedule_id: int | None
    approved_at: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime
    links: ReportLinks


class ReportDetailOut(ReportOut):
    snapshot: dict[str, Any] = Field(..., description="The report's data as archived (docs/reports.md).")
    deliveries: list[dict[str, Any]]


class ReportPageOut(Schema):
    items: list[ReportOut]
    next_cursor: str | None


class ReportFilters(Schema):
    kind: KindValue | None = None
    state: StateValue | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def _iso_date(value: Any) -> Any:
    """A day as JSON Schema's "date" has it: an ISO string, not a number of seconds since 1970."""
    if not isinstance(value, str | date):
        raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD, not {value}", {"value": value})
    return value


def _whole_number(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not {value}", {"value": value})
    return value


class GenerateIn(Schema):
    kind: KindValue = Field(..., description="week, month or quarter.")
    language: LanguageValue = ReportLanguage.ZH_HANS
    department: Annotated[int, BeforeValidator(_whole_number)] | None = Field(
        None, description="A department id; leave out for the whole organisation."
    )
    period_containing: Annotated[date, BeforeValidator(_iso_date)] | None = Field(
        None, description="A day of the period to report on; leave out for the last complete period."
    )


def _acting_user(request: HttpRequest) -> User:
    user = acting_user(request, _("This token acts for no active user, so it cannot read reports."))
    require(user, Capability.READ_METRICS)
    return user


def _row(report: Report) -> dict[str, Any]:
    has_files = report.state in (ReportState.DRAFT, ReportState.APPROVED, ReportState.SENT)
    files = {
        fmt: reverse("api:report_file", kwargs={"report_id": report.pk, "fmt": fmt}) if has_files else None
        for fmt in ("pdf", "xlsx")
    }
    return {
        "id": report.pk, "title": report.title, "kind": report.kind, "period_start": report.period_start,
        "period_end": report.period_end, "language": report.language, "department_id": report.department_id,
        "scope": services.scope_label(report, report.language), "state": report.state, "progress": report.progress,
        "error": report.error, "schedule_id": report.schedule_id, "approved_at": report.approved_at,
        "sent_at": report.sent_at, "created_at": report.created_at, "updated_at": report.updated_at,
        "links": {**files, "page": reverse("reports:detail", args=[report.pk])},
    }  # fmt: skip


def _detail(report: Report) -> dict[str, Any]:
    row = _row(report)
    row["snapshot"] = report.snapshot
    row["deliveries"] = [
        {"recipient": d.user.get_username() if d.user else d.address, "status": d.status, "reason": d.reason,
         "test": d.test, "department_id": d.department_id, "contacts_shown": d.see_contacts, "attempts": d.attempts,
         "sent_at": d.sent_at}
        for d in report.deliveries.select_related("user")
    ]  # fmt: skip
    return row


def _get(report_id: int) -> Report:
    report = Report.objects.select_related("department").filter(pk=report_id).first()
    if report is None:
        raise HttpError(404, _("There is no report %(id)s.") % {"id": report_id})
    return report


@router.get(
    "/reports",
    auth=TokenAuth(Scope.REPORTS_READ),
    response={200: ReportPageOut, 400: ErrorOut, 403: ErrorOut},
    summary="List service-quality reports, newest first",
)
def list_reports(request: HttpRequest, filters: Query[ReportFilters]):
    _acting_user(request)
    qs = queries.reports(kind=filters.kind or "", state=filters.state or "")
    rows, next_cursor = keyset_page(qs, filters.cursor, filters.limit, "created_at")
    return {"items": [_row(r) for r in rows], "next_cursor": next_cursor}


@router.get(
    "/reports/{report_id}",
    auth=TokenAuth(Scope.REPORTS_READ),
    response={200: ReportDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="Read one report with its snapshot and delivery log",
)
def get_report(request: HttpRequest, report_id: int):
    _acting_user(request)
    return _detail(_get(report_id))


@router.get(
    "/reports/{report_id}/files/{fmt}",
    auth=TokenAuth(Scope.REPORTS_READ),
    response={200: None, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    url_name="report_file",
    summary="Download a report's PDF or Excel workbook",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file",
                "content": {
                    CONTENT_TYPES["pdf"]: {"schema": {"type": "string", "format": "binary"}},
                    CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
                },
            }
        }
    },  # fmt: skip
)
def get_report_file(request: HttpRequest, report_id: int, fmt: FormatValue):
    _acting_user(request)
    report = _get(report_id)
    if report.state not in (ReportState.DRAFT, ReportState.APPROVED, ReportState.SENT):
        return Status(409, {"detail": _("This report has no files: it is %(state)s.") % {
            "state": report.get_state_display()}, "code": ReportErrorCode.WRONG_STATE, "field": None})  # fmt: skip
    content = services.report_file(report, FileFormat(fmt))
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    name = services.pdf_filename(report).removesuffix(".pdf") + f".{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Content-Language"] = report.language  # the file's own language, not the reader's
    return response


@router.post(
    "/reports",
    auth=TokenAuth(Scope.REPORTS_WRITE),
    response={202: ReportOut, 400: ErrorOut, 403: ErrorOut},
    summary="Generate a report now; it is a draft once generated",
)
def generate_report(request: HttpRequest, payload: GenerateIn):
    user = _acting_user(request)
    department = None
    if payload.department is not None:
        department = Department.objects.filter(pk=payload.department).first()
        if department is None:
            return Status(400, {"detail": _("There is no department %(id)s.") % {"id": payload.department},
                                "code": "unknown_department", "field": "department"})  # fmt: skip
    try:
        period = period_for(payload.kind, payload.period_containing) if payload.period_containing else None
    except (OverflowError, ValueError):  # a day so near the end of the calendar that its period cannot end
        return Status(400, {"detail": _("There is no such period."), "code": ReportErrorCode.INVALID,
                            "field": "period_containing"})  # fmt: skip
    try:
        report = services.request_report(user, payload.kind, payload.language, department, period=period)
    except ReportError as exc:
        return Status(403 if exc.code == ReportErrorCode.NOT_ALLOWED else 400,
                      {"detail": exc.message, "code": str(exc.code), "field": None})  # fmt: skip
    return Status(202, _row(report))
