"""The report's workflow, one function per state change (docs/reports.md, "Workflow, schedule, recipients").

    generating ──generate_report──▶ draft ──edit_report (text sections)──▶ draft
        │                             │
        └──▶ failed                   └──approve_report──▶ approved ──send_report──▶ sent (──▶ failed)

A schedule that needs no approval is approved and sent by itself as soon as its report is generated. The
snapshot is the report: edits are written into it, the files are rendered from it, and once sent it is never
changed again. Every change asks the permission policy here, so the API cannot do what the page forbids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from voxloop.accounts import privacy
from voxloop.accounts.models import AuditAction, Department, Role, User
from voxloop.accounts.permissions import Capability, has, require
from voxloop.notify.models import MessageKind
from voxloop.notify.staff import Attachment, queue_staff_email
from voxloop.reports import render
from voxloop.reports.models import (
    DeliveryStatus,
    FileFormat,
    Report,
    ReportDelivery,
    ReportFile,
    ReportKind,
    ReportLanguage,
    ReportSchedule,
    ReportState,
    ReportVariant,
)
from voxloop.reports.periods import ReportPeriod, last_complete, period_for
from voxloop.reports.snapshot import ReportScope, build_snapshot

logger = logging.getLogger(__name__)

EDITABLE_STATES = (ReportState.DRAFT,)
MAX_TEXT = 5000  # one edited text section


class ReportErrorCode(StrEnum):
    NOT_ALLOWED = "not_allowed"
    WRONG_STATE = "wrong_state"
    INVALID = "invalid"
    NO_RECIPIENTS = "no_recipients"


class ReportError(Exception):
    def __init__(self, code: ReportErrorCode, message: Any) -> None:
        self.code = code
        self.message = str(message)
        super().__init__(self.message)


def _wrong_state(report: Report, doing: Any) -> ReportError:
    return ReportError(
        ReportErrorCode.WRONG_STATE,
        _("This report is %(state)s, so it cannot be %(doing)s.")
        % {"state": report.get_state_display(), "doing": doing},
    )


def _require(user: User | None, capability: Capability) -> None:
    """``None`` is the system itself (a schedule at work); people are asked the policy."""
    if user is not None:
        require(user, capability)


def period_of(report: Report) -> ReportPeriod:
    return ReportPeriod(kind=report.kind, start=report.period_start, end=report.period_end)


def scope_label(report: Report | ReportSchedule, language: str | None = None) -> str:
    department = report.department
    if department is None:
        return str(_("Whole organisation"))
    return (department.name_en or department.name) if (language or "").startswith("en") else department.name


# --- generating ---------------------------------------------------------------------------------------------


def request_report(
    user: User | None,
    kind: str,
    language: str,
    department: Department | None = None,
    *,
    period: ReportPeriod | None = None,
    schedule: ReportSchedule | None = None,
    today: date | None = None,
) -> Report:
    """Create a report that is being generated ("generate now", or a schedule's run); the task that generates it
    is queued after commit. Without ``period``, the last complete period of ``kind``."""
    _require(user, Capability.PREPARE_REPORTS)
    if kind not in ReportKind.values:
        raise ReportError(ReportErrorCode.INVALID, _("Choose a week, a month or a quarter."))
    if language not in ReportLanguage.values:
        raise ReportError(ReportErrorCode.INVALID, _("Reports are written in Chinese or English."))
    period = period or last_complete(kind, today or timezone.localdate())
    if period.end >= (today or timezone.localdate()):
        raise ReportError(ReportErrorCode.INVALID, _("A report covers a period that has ended."))
    report = Report.objects.create(
        schedule=schedule, kind=kind, period_start=period.start, period_end=period.end, language=language,
        department=department, created_by=user, title=period.label(language),
    )  # fmt: skip
    transaction.on_commit(lambda: _queue_generation(report.pk))
    return report


def _queue_generation(report_id: int) -> None:
    from voxloop.reports.tasks import generate_report_task  # tasks import this module

    generate_report_task.delay(report_id)


def _set_progress(report: Report, percent: int) -> None:
    report.progress = percent
    Report.objects.filter(pk=report.pk).update(progress=percent, updated_at=timezone.now())


def generate_report(report_id: int, *, now: datetime | None = None) -> Report:
    """Build the snapshot and render the files of a report that is being generated: it becomes a draft (or, for
    a schedule that needs no approval, is approved and sent at once). A failure is kept on the report."""
    report = Report.objects.select_related("department", "schedule").get(pk=report_id)
    if report.state != ReportState.GENERATING:
        return report  # generated already (a task run twice)
    try:
        _set_progress(report, 5)
        snapshot = build_snapshot(
            period_of(report), ReportScope(department_id=report.department_id, see_contacts=False),
            report.language, now=now,
        )  # fmt: skip
        _set_progress(report, 60)
        pdf = render.render_pdf(snapshot)
        _set_progress(report, 85)
        xlsx = render.render_xlsx(snapshot)
    except Exception as exc:  # the report says why it failed instead of staying "generating" for ever
        logger.exception("report %s could not be generated", report.pk)
        Report.objects.filter(pk=report.pk, state=ReportState.GENERATING).update(
            state=ReportState.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], updated_at=timezone.now()
        )
        report.refresh_from_db()
        return report
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.state != ReportState.GENERATING:
            return report
        report.snapshot = snapshot
        report.title = str(snapshot.get("title") or report.title)[:300]
        report.state, report.progress, report.error = ReportState.DRAFT, 100, ""
        report.save(update_fields=["snapshot", "title", "state", "progress", "error", "updated_at"])
        _store_file(report, None, FileFormat.PDF, pdf)
        _store_file(report, None, FileFormat.XLSX, xlsx)
    schedule = report.schedule
    if schedule is not None and not schedule.approval_required:
        report = approve_report(report, None)
        report = send_report(report, None)
    return report


def _store_file(report: Report, variant: ReportVariant | None, fmt: str, content: bytes) -> ReportFile:
    # One row per file (a constraint since reports 0002): a second render replaces the first, a concurrent one waits.
    stored, _created = ReportFile.objects.update_or_create(
        report=report, variant=variant, format=fmt, defaults={"content": content, "size": len(content)}
    )
    return stored


def report_file(report: Report, fmt: str, variant: ReportVariant | None = None) -> bytes:
    """The stored PDF or workbook; rendered and stored when missing (a draft's files after an edit)."""
    stored = ReportFile.objects.filter(report=report, variant=variant, format=fmt).only("content").first()
    if stored is not None:
        return bytes(stored.content)
    snapshot = variant.snapshot if variant is not None else report.snapshot
    if not snapshot:
        raise ReportError(ReportErrorCode.WRONG_STATE, _("This report has no content yet."))
    content = render.render_pdf(snapshot) if fmt == FileFormat.PDF else render.render_xlsx(snapshot)
    _store_file(report, variant, fmt, content)
    return content


# --- editing and approving ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextEdits:
    """The text sections of a draft; None leaves a section as it is."""

    summary: str | None = None
    narrative: str | None = None
    suggestions: dict[str, str] = field(default_factory=dict)  # suggestion key -> text


def edit_report(report: Report, user: User | None, edits: TextEdits) -> Report:
    """Write edited text sections into the draft's snapshot; the files are rendered again when next asked for."""
    _require(user, Capability.PREPARE_REPORTS)
    for text in (edits.summary, edits.narrative, *edits.suggestions.values()):
        if text is not None and len(text) > MAX_TEXT:
            raise ReportError(
                ReportErrorCode.INVALID,
                _("A text section may have at most %(max)s characters.") % {"max": MAX_TEXT},
            )
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.state not in EDITABLE_STATES:
            raise _wrong_state(report, _("edited (only drafts are)"))
        snapshot = report.snapshot
        if edits.summary is not None:
            snapshot.setdefault("status", {})["summary"] = edits.summary.strip()
        if edits.narrative is not None:
            snapshot.setdefault("problems", {})["narrative"] = edits.narrative.strip()
        known = {s.get("key"): s for s in snapshot.get("suggestions", [])}
        unknown = sorted(set(edits.suggestions) - set(known))
        if unknown:
            raise ReportError(
                ReportErrorCode.INVALID, _("The report has no suggestion %(key)s.") % {"key": unknown[0][:80]}
            )
        for key, text in edits.suggestions.items():
            known[key]["text"] = text.strip()
        report.snapshot = snapshot
        report.edited_at, report.edited_by = timezone.now(), user
        report.save(update_fields=["snapshot", "edited_at", "edited_by", "updated_at"])
        report.files.all().delete()  # rendered from the old text
    return report


def approve_report(report: Report, user: User | None) -> Report:
    """The draft becomes final: its files are rendered from the approved text and kept."""
    _require(user, Capability.APPROVE_REPORTS)
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report.pk)
        if report.state != ReportState.DRAFT:
            raise _wrong_state(report, _("approved (only drafts are)"))
        report.state, report.approved_at, report.approved_by = ReportState.APPROVED, timezone.now(), user
        report.save(update_fields=["state", "approved_at", "approved_by", "updated_at"])
        for fmt in (FileFormat.PDF, FileFormat.XLSX):
            report_file(report, fmt)
    return report


# --- recipients ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipients:
    users: Sequence[User] = ()
    roles: Sequence[str] = ()
    departments: Sequence[Department] = ()
    addresses: Sequence[str] = ()

    @classmethod
    def of(cls, schedule: ReportSchedule) -> Recipients:
        return cls(
            users=list(schedule.recipient_users.all()), roles=list(schedule.recipient_roles),
            departments=list(schedule.recipient_departments.all()), addresses=list(schedule.external_addresses),
        )  # fmt: skip

    def is_empty(self) -> bool:
        return not (self.users or self.roles or self.departments or self.addresses)


def clean_addresses(values: Iterable[str]) -> list[str]:
    """External addresses, checked one by one: a bad one is named in the error."""
    cleaned: list[str] = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            validate_email(value)
        except ValidationError as exc:
            raise ReportError(
                ReportErrorCode.INVALID, _("%(address)s is not an e-mail address.") % {"address": value[:100]}
            ) from exc
        if value.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(value)
    return cleaned


@dataclass
class Planned:
    """One recipient of a sending and what they may be given."""

    user: User | None
    address: str
    department_id: int | None
    see_contacts: bool
    skip_reason: str = ""


def recipient_scope(report: Report, user: User) -> tuple[int | None, str]:
    """(department, "") the user's copy covers, or (None, why they get none). A manager of a department who is
    not an administrator gets that department's report; everyone else who may read metrics gets the report's."""
    managed = [d.pk for d in Department.objects.filter(manager=user).order_by("name")]
    if managed and not has(user, Capability.ADMINISTER):
        if report.department_id is None:
            return managed[0], ""
        if report.department_id in managed:
            return report.department_id, ""
        return None, str(_("the report covers another department than theirs"))
    if has(user, Capability.READ_METRICS):
        return report.department_id, ""
    return None, str(_("their role does not see metrics"))


def plan_recipients(report: Report, recipients: Recipients) -> list[Planned]:
    """Everyone named, directly or by role or department, once each; with the scope and masking they may have."""
    users: dict[int, User] = {u.pk: u for u in recipients.users}
    if recipients.roles:
        users.update({u.pk: u for u in User.objects.filter(role__in=recipients.roles, is_superuser=False)})
        if Role.ADMIN in recipients.roles:
            users.update({u.pk: u for u in User.objects.filter(is_superuser=True)})
    if recipients.departments:
        department_ids = [d.pk for d in recipients.departments]
        users.update(
            {
                u.pk: u
                for u in User.objects.filter(
                    Q(teams__department__in=department_ids) | Q(managed_departments__in=department_ids)
                ).distinct()
            }  # fmt: skip
        )
    planned: list[Planned] = []
    seen: set[str] = set()
    for user in sorted(users.values(), key=lambda u: u.username):
        address = (user.email or "").strip()
        if not user.is_active:
            planned.append(Planned(user, address, None, False, str(_("the account is deactivated"))))
            continue
        if not address:
            planned.append(Planned(user, "", None, False, str(_("no e-mail address"))))
            continue
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        department_id, why_not = recipient_scope(report, user)
        planned.append(Planned(user, address, department_id, privacy.may_see(user), why_not))
    for address in clean_addresses(recipients.addresses):
        if address.lower() in seen:
            continue
        seen.add(address.lower())
        # Outside VoxLoop nobody holds the right to see customers' contacts.
        planned.append(Planned(None, address, report.department_id, False))
    return planned


# --- sending ------------------------------------------------------------------------------------------------


def send_report(report: Report, user: User | None, recipients: Recipients | None = None) -> Report:
    """Send an approved report: one delivery per recipient (its schedule's, or ``recipients``), each given the
    scope and masking their permissions allow; the report is archived as it is. The e-mails are composed and
    queued after commit (``deliver_report``) and sent by the outbox, which retries."""
    _require(user, Capability.APPROVE_REPORTS)
    with transaction.atomic():
        report = Report.objects.select_for_update(of=("self",)).select_related("schedule").get(pk=report.pk)
        if report.state != ReportState.APPROVED:
            raise _wrong_state(report, _("sent (only approved reports are)"))
        if recipients is None:
            recipients = Recipients.of(report.schedule) if report.schedule is not None else Recipients()
        planned = plan_recipients(report, recipients)
        if not planned:
            raise ReportError(ReportErrorCode.NO_RECIPIENTS, _("Name at least one recipient to send the report to."))
        _queue_deliveries(report, planned, test=False)
        report.state, report.sent_at, report.sent_by = ReportState.SENT, timezone.now(), user
        report.save(update_fields=["state", "sent_at", "sent_by", "updated_at"])
    return report


def send_test(report: Report, user: User) -> ReportDelivery:
    """ "Send me a test now": the report as it stands, to the asking user only, with their scope and masking;
    the report's state does not change and the delivery log marks it as a test."""
    require(user, Capability.PREPARE_REPORTS)
    if report.state == ReportState.GENERATING or not report.snapshot:
        raise _wrong_state(report, _("sent as a test (it has no content yet)"))
    with transaction.atomic():
        planned = plan_recipients(report, Recipients(users=[user]))
        if not planned:  # a second address of one's own was folded into the first
            raise ReportError(ReportErrorCode.NO_RECIPIENTS, _("You have no e-mail address to send a test to."))
        return _queue_deliveries(report, planned, test=True)[0]


def _queue_deliveries(report: Report, planned: Sequence[Planned], *, test: bool) -> list[ReportDelivery]:
    rows = [
        ReportDelivery(
            report=report, user=p.user, address=p.address, test=test, department_id=p.department_id,
            see_contacts=p.see_contacts,
            status=DeliveryStatus.SKIPPED if p.skip_reason else DeliveryStatus.QUEUED, reason=p.skip_reason[:300],
        )
        for p in planned
    ]  # fmt: skip
    created = ReportDelivery.objects.bulk_create(rows)
    if any(r.status == DeliveryStatus.QUEUED for r in created):
        transaction.on_commit(lambda: _queue_delivery(report.pk))
    return created


def _queue_delivery(report_id: int) -> None:
    # imported here: tasks imports this module
    from voxloop.reports.tasks import deliver_report_task

    deliver_report_task.delay(report_id)


def variant_for(report: Report, department_id: int | None, see_contacts: bool) -> ReportVariant | None:
    """The copy for one scope and masking: None when it is the report itself (its scope, masked); else built once
    from the same period and data, with the draft's edited texts where the scope is the report's own."""
    if department_id == report.department_id and not see_contacts:
        return None
    same_scope = Q(department__isnull=True) if department_id is None else Q(department_id=department_id)
    existing = ReportVariant.objects.filter(same_scope, report=report, see_contacts=see_contacts)
    with transaction.atomic():
        # Two delivery runs may ask for the same scope at once: the report's row lock makes the check and the
        # create one step. The unique constraint cannot do it for the whole organisation (department NULL).
        Report.objects.select_for_update().filter(pk=report.pk).first()
        found = existing.first()
        if found is not None:
            return found
        snapshot = build_snapshot(
            period_of(report), ReportScope(department_id=department_id, see_contacts=see_contacts), report.language,
            now=report.created_at,
        )  # fmt: skip
        if department_id == report.department_id:
            _carry_edits(report.snapshot, snapshot)
        return ReportVariant.objects.create(
            report=report, department_id=department_id, see_contacts=see_contacts, snapshot=snapshot,
            empty=snapshot_is_empty(snapshot),
        )  # fmt: skip


def _carry_edits(source: dict[str, Any], target: dict[str, Any]) -> None:
    """The edited texts are the report's; the same scope shown unmasked says the same."""
    target.setdefault("status", {})["summary"] = source.get("status", {}).get("summary", "")
    target.setdefault("problems", {})["narrative"] = source.get("problems", {}).get("narrative", "")
    texts = {s.get("key"): s.get("text") for s in source.get("suggestions", [])}
    for suggestion in target.get("suggestions", []):
        if suggestion.get("key") in texts:
            suggestion["text"] = texts[suggestion["key"]]


def snapshot_is_empty(snapshot: dict[str, Any]) -> bool:
    """Nothing to report: no indicator counted anything in the scope during the period (a department's report
    counts its teams' cases and survey answers; feedback items have no team), and no complaint cause either."""
    status = snapshot.get("status") or {}
    counted = any((kpi.get("n") or 0) > 0 for kpi in status.get("kpis") or [])
    counted = counted or any((row.get("n") or 0) > 0 for row in status.get("channels") or [])
    return not counted and not (snapshot.get("problems") or {}).get("pareto")


def deliver_report(report_id: int) -> int:
    """Compose and queue the e-mail of every queued delivery of a report that has none yet; skip those whose
    scope had nothing to report. Returns how many e-mails were queued. Safe to run twice (rows are claimed)."""
    report = Report.objects.select_related("department").get(pk=report_id)
    queued = 0
    for delivery in report.deliveries.filter(status=DeliveryStatus.QUEUED, message__isnull=True).select_related("user"):
        variant = variant_for(report, delivery.department_id, delivery.see_contacts)
        snapshot = variant.snapshot if variant is not None else report.snapshot
        with transaction.atomic():
            claimed = (
                ReportDelivery.objects.select_for_update()
                .filter(pk=delivery.pk, status=DeliveryStatus.QUEUED, message__isnull=True)
                .first()
            )
            if claimed is None:
                continue
            claimed.variant = variant
            if snapshot_is_empty(snapshot):
                claimed.status = DeliveryStatus.SKIPPED
                claimed.reason = str(_("nothing to report in this scope for the period"))
                claimed.save(update_fields=["variant", "status", "reason", "updated_at"])
                continue
            subject, text, html = render.render_email(snapshot)
            if claimed.test:
                with translation.override(report.language):  # the mark is in the report's language
                    subject = f"[{_('Test')}] {subject}"
            pdf = report_file(report, FileFormat.PDF, variant)
            message = queue_staff_email(
                claimed.user, MessageKind.STAFF_REPORT, report.language, subject, text, html=html,
                attachments=[Attachment(pdf_filename(report), "application/pdf", pdf)], to_email=claimed.address,
            )  # fmt: skip
            claimed.message = message
            claimed.save(update_fields=["variant", "message", "updated_at"])
            if claimed.see_contacts and claimed.user is not None:
                # An unmasked copy leaves VoxLoop: recorded like any export of personal data.
                privacy.record_shown(
                    claimed.user, Report, [(report.pk, None)], action=AuditAction.EXPORT_PERSONAL_DATA, unmasked=True
                )
            queued += 1
    return queued


def pdf_filename(report: Report) -> str:
    return f"report-{report.kind}-{report.period_start:%Y-%m-%d}.pdf"


def record_outcome(message: Any) -> None:
    """The outbox tried to send a report's e-mail: copy what became of it into the delivery log, and mark the
    report failed when none of its deliveries went out."""
    status = {
        "pending": DeliveryStatus.QUEUED, "sent": DeliveryStatus.SENT, "failed": DeliveryStatus.FAILED,
        "not_sent": DeliveryStatus.SKIPPED,
    }.get(message.status, DeliveryStatus.QUEUED)  # fmt: skip
    delivery = ReportDelivery.objects.filter(message_id=message.pk).first()
    if delivery is None:
        return
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        status=status, attempts=message.attempts, last_error=message.last_error[:2000], sent_at=message.sent_at,
        updated_at=timezone.now(),
    )  # fmt: skip
    if status == DeliveryStatus.FAILED and not delivery.test:
        real = ReportDelivery.objects.filter(report_id=delivery.report_id, test=False)
        if not real.filter(status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENT]).exists():
            Report.objects.filter(pk=delivery.report_id, state=ReportState.SENT).update(
                state=ReportState.FAILED, error=str(_("No recipient could be sent the report.")),
                updated_at=timezone.now(),
            )  # fmt: skip


# --- schedules ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleData:
    name: str
    kind: str
    language: str
    department: Department | None
    recipients: Recipients
    approval_required: bool = True
    active: bool = True


def save_schedule(user: User, data: ScheduleData, schedule: ReportSchedule | None = None) -> ReportSchedule:
    """Create or change a schedule; its next run is the day after the current period ends."""
    require(user, Capability.PREPARE_REPORTS)
    if not data.name.strip():
        raise ReportError(ReportErrorCode.INVALID, _("Give the schedule a name."))
    if data.kind not in ReportKind.values:
        raise ReportError(ReportErrorCode.INVALID, _("Choose a week, a month or a quarter."))
    if data.language not in ReportLanguage.values:
        raise ReportError(ReportErrorCode.INVALID, _("Reports are written in Chinese or English."))
    unknown_roles = sorted(set(data.recipients.roles) - set(Role.values))
    if unknown_roles:
        raise ReportError(ReportErrorCode.INVALID, _("There is no role %(role)s.") % {"role": unknown_roles[0][:40]})
    addresses = clean_addresses(data.recipients.addresses)
    if data.recipients.is_empty():
        raise ReportError(ReportErrorCode.NO_RECIPIENTS, _("Name at least one recipient to send the report to."))
    with transaction.atomic():
        schedule = schedule or ReportSchedule(created_by=user)
        kind_changed = schedule.pk is None or schedule.kind != data.kind
        schedule.name, schedule.kind, schedule.language = data.name.strip()[:120], data.kind, data.language
        schedule.department = data.department
        schedule.recipient_roles = sorted(set(data.recipients.roles))
        schedule.external_addresses = addresses
        schedule.approval_required, schedule.active = data.approval_required, data.active
        if kind_changed or schedule.next_run_on is None:
            schedule.next_run_on = next_run(data.kind, timezone.localdate())
        schedule.save()
        schedule.recipient_users.set(data.recipients.users)
        schedule.recipient_departments.set(data.recipients.departments)
    return schedule


def delete_schedule(user: User, schedule: ReportSchedule) -> None:
    """Remove a schedule; the reports it made stay in the archive."""
    require(user, Capability.PREPARE_REPORTS)
    schedule.delete()


def next_run(kind: str, today: date) -> date:
    """The day after the period containing ``today`` ends: the first day its report can be written."""
    return period_for(kind, today).end + timedelta(days=1)


def generate_due_reports(today: date | None = None) -> list[Report]:
    """Every active schedule whose next run has come gets the report of its last complete period (once: a period
    reported already is not reported again). Called by the daily task after the roll-ups are refreshed."""
    today = today or timezone.localdate()
    made: list[Report] = []
    for schedule in ReportSchedule.objects.filter(active=True, next_run_on__lte=today).select_related("department"):
        period = last_complete(schedule.kind, today)
        with transaction.atomic():
            locked = ReportSchedule.objects.select_for_update().get(pk=schedule.pk)
            if locked.next_run_on is None or locked.next_run_on > today:
                continue  # another worker took it
            locked.next_run_on = next_run(locked.kind, today)
            locked.save(update_fields=["next_run_on", "updated_at"])
            if Report.objects.filter(schedule=locked, period_start=period.start, period_end=period.end).exists():
                continue
            made.append(
                request_report(
                    None, locked.kind, locked.language, locked.department, period=period, schedule=locked, today=today
                )  # fmt: skip
            )
    return made
