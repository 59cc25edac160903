"""The report's workflow as its users meet it: generate → draft → edit → approve → send, refusals with reasons,
an archive that does not change once sent, each recipient's scope and masking, skips, retries and the log."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from pypdf import PdfReader

from voxloop.accounts.models import AuditAction, AuditLog, Role
from voxloop.accounts.permissions import PolicyDenied
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.notify.services import send_due_messages
from voxloop.notify.tests.test_smtp import smtp  # noqa: F401 - the real-socket SMTP server fixture
from voxloop.reports import services
from voxloop.reports.models import (
    DeliveryStatus,
    FileFormat,
    Report,
    ReportDelivery,
    ReportKind,
    ReportLanguage,
    ReportSchedule,
    ReportState,
    ReportVariant,
)
from voxloop.reports.periods import period_for
from voxloop.reports.services import Recipients, ReportError, ReportErrorCode, ScheduleData, TextEdits
from voxloop.reports.tests.fixtures import PHONE, department_with_manager, last_month, person, seed_complaints

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_english():
    """Refusals and skip reasons are read in English here; the pages show them in both languages."""
    with translation.override("en"):
        yield


@pytest.fixture
def admin():
    return person("ada-admin", Role.ADMIN)


@pytest.fixture
def analyst():
    return person("ana-analyst", Role.ANALYST)


@pytest.fixture
def period():
    p = last_month()
    seed_complaints(p, per_day=1)
    return p


def generate(user, period, language=ReportLanguage.ZH_HANS, department=None, schedule=None) -> Report:
    report = services.request_report(user, ReportKind.MONTH, language, department, period=period, schedule=schedule)
    assert report.state == ReportState.GENERATING
    return services.generate_report(report.pk)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


def deliver(report: Report) -> None:
    services.deliver_report(report.pk)
    send_due_messages()


@pytest.mark.slow
def test_generate_edit_approve_send_and_the_archive_stays_as_sent(admin, period):
    report = generate(admin, period)
    assert report.state == ReportState.DRAFT and report.progress == 100
    assert report.snapshot["period"]["start"] == period.start.isoformat()
    assert report.title == report.snapshot["title"] and "2026" in report.title or str(period.start.year) in report.title
    assert services.report_file(report, FileFormat.PDF).startswith(b"%PDF")

    suggestion_keys = [s["key"] for s in report.snapshot["suggestions"]]
    edits = TextEdits(summary="本月投诉集中在快递延误。", narrative="快递延误是首要原因。",
                      suggestions={k: f"建议{i}" for i, k in enumerate(suggestion_keys)})  # fmt: skip
    report = services.edit_report(report, admin, edits)
    assert report.snapshot["status"]["summary"] == "本月投诉集中在快递延误。"
    assert report.snapshot["problems"]["narrative"] == "快递延误是首要原因。"
    assert [s["text"] for s in report.snapshot["suggestions"]] == [f"建议{i}" for i in range(len(suggestion_keys))]
    # The files are rendered from the edited text.
    assert "本月投诉集中在快递延误" in pdf_text(services.report_file(report, FileFormat.PDF))

    report = services.approve_report(report, admin)
    assert report.state == ReportState.APPROVED and report.approved_by == admin
    with pytest.raises(ReportError) as refused:
        services.edit_report(report, admin, TextEdits(summary="改一下"))
    assert refused.value.code == ReportErrorCode.WRONG_STATE
    assert "only drafts" in refused.value.message

    report = services.send_report(report, admin, Recipients(users=[admin]))
    assert report.state == ReportState.SENT and report.sent_by == admin
    archived = json.dumps(Report.objects.get(pk=report.pk).snapshot, sort_keys=True)
    archived_pdf = services.report_file(report, FileFormat.PDF)
    deliver(report)

    # More data arrives and the report is asked for again: the archive is what was sent.
    seed_complaints(period, per_day=1)
    report.refresh_from_db()
    assert json.dumps(report.snapshot, sort_keys=True) == archived
    assert services.report_file(report, FileFormat.PDF) == archived_pdf
    for action in (lambda: services.edit_report(report, admin, TextEdits(summary="x")),
                   lambda: services.approve_report(report, admin),
                   lambda: services.send_report(report, admin, Recipients(users=[admin]))):  # fmt: skip
        with pytest.raises(ReportError) as refused:
            action()
        assert refused.value.code == ReportErrorCode.WRONG_STATE
        assert "已发送" in refused.value.message or "Sent" in refused.value.message


def test_refusals_name_the_rule(admin, analyst, period):
    viewer = person("vic-viewer", Role.VIEWER)
    with pytest.raises(PolicyDenied, match="prepare service-quality reports"):
        services.request_report(viewer, ReportKind.MONTH, ReportLanguage.EN, period=period)
    report = generate(admin, period)
    with pytest.raises(PolicyDenied, match="approve and send"):
        services.approve_report(report, analyst)  # analysts prepare, managers and administrators approve
    with pytest.raises(ReportError, match="only approved reports") as refused:
        services.send_report(report, admin, Recipients(users=[admin]))
    assert refused.value.code == ReportErrorCode.WRONG_STATE
    services.approve_report(report, admin)
    with pytest.raises(ReportError, match="at least one recipient"):
        services.send_report(report, admin, Recipients())
    with pytest.raises(ReportError, match="not-an-address is not an e-mail address"):
        services.send_report(report, admin, Recipients(addresses=["not-an-address"]))
    with pytest.raises(ReportError, match="period that has ended"):
        services.request_report(admin, ReportKind.MONTH, ReportLanguage.EN,
                                period=period_for(ReportKind.MONTH, timezone.localdate()))  # fmt: skip
    draft = generate(admin, period)
    with pytest.raises(ReportError, match="no suggestion nope"):
        services.edit_report(draft, admin, TextEdits(suggestions={"nope": "x"}))


@pytest.mark.slow
def test_each_recipient_gets_their_scope_and_masking(admin, analyst, period):
    after_sales, after_sales_manager = department_with_manager("售后服务部", "max-manager")
    _empty_department, idle_manager = department_with_manager("展厅", "ida-manager")
    no_address = person("nora-noemail", Role.MANAGER, email="")
    report = services.approve_report(generate(admin, period), admin)
    services.send_report(report, admin, Recipients(
        users=[admin, analyst, after_sales_manager, idle_manager, no_address], addresses=["board@example.org"],
    ))  # fmt: skip
    deliver(report)
    rows = {d.user.username if d.user else d.address: d for d in report.deliveries.select_related("variant")}

    # The administrator sees contacts: an unmasked copy of the whole organisation, and the export is audited.
    assert rows["ada-admin"].status == DeliveryStatus.SENT and rows["ada-admin"].see_contacts
    admin_copy = rows["ada-admin"].variant
    assert admin_copy is not None and PHONE[:-3] in json.dumps(admin_copy.snapshot, ensure_ascii=False)
    assert AuditLog.objects.filter(user=admin, action=AuditAction.EXPORT_PERSONAL_DATA,
                                   object_id=str(report.pk)).exists()  # fmt: skip
    # The analyst has no right to contacts: the masked report, in the e-mail and in its PDF.
    assert rows["ana-analyst"].status == DeliveryStatus.SENT and not rows["ana-analyst"].see_contacts
    assert rows["ana-analyst"].variant is None
    sent_to_analyst = next(m for m in mail.outbox if m.to == ["ana-analyst@example.com"])
    attached = sent_to_analyst.attachments[0]
    assert attached[2] == "application/pdf"
    text = pdf_text(attached[1])
    assert report.snapshot["period"]["label"] in text and PHONE[:-3] not in text and "王小明" not in text
    assert PHONE[:-3] not in json.dumps(report.snapshot, ensure_ascii=False)
    assert not AuditLog.objects.filter(user=analyst, action=AuditAction.EXPORT_PERSONAL_DATA).exists()
    # A department's manager gets their department's report ...
    assert rows["max-manager"].department == after_sales
    manager_copy = rows["max-manager"].variant
    assert manager_copy is not None and manager_copy.snapshot["scope"]["department"]["id"] == after_sales.pk
    # ... and where nothing happened in the department that period, nothing is sent: skipped, with why.
    assert rows["ida-manager"].status == DeliveryStatus.SKIPPED
    assert rows["ida-manager"].reason == "nothing to report in this scope for the period"
    assert rows["nora-noemail"].status == DeliveryStatus.SKIPPED and rows["nora-noemail"].reason == "no e-mail address"
    # Outside VoxLoop nobody sees contacts.
    assert rows["board@example.org"].status == DeliveryStatus.SENT and not rows["board@example.org"].see_contacts

    # One e-mail per recipient that was sent, each with the PDF attached.
    def sent(address: str) -> bool:
        return (rows.get(address.split("@")[0]) or rows[address]).status == DeliveryStatus.SENT

    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        a for a in ("ada-admin@example.com", "ana-analyst@example.com", "board@example.org",
                    "max-manager@example.com") if sent(a)
    )  # fmt: skip


def test_a_deferred_address_is_retried_with_backoff_and_logged(admin, period, smtp):  # noqa: F811
    smtp.defer.add("ada-admin@example.com")
    report = services.approve_report(generate(admin, period), admin)
    services.send_report(report, admin, Recipients(users=[admin]))
    services.deliver_report(report.pk)
    start = timezone.now()
    send_due_messages(now=start)
    delivery = ReportDelivery.objects.get(report=report)
    assert delivery.status == DeliveryStatus.QUEUED and delivery.attempts == 1
    assert "451" in delivery.last_error
    assert delivery.message_id is not None
    message = OutgoingMessage.objects.get(pk=delivery.message_id)
    assert message.next_attempt_at is not None and message.next_attempt_at > start  # backoff: not again at once
    smtp.defer.clear()
    send_due_messages(now=message.next_attempt_at + timedelta(seconds=1))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.sent_at is not None
    recipients, data = smtp.messages[-1]
    assert recipients == ["ada-admin@example.com"] and b"application/pdf" in data


def test_a_refused_address_fails_and_the_report_says_no_one_got_it(admin, period, smtp):  # noqa: F811
    smtp.refuse.add("ada-admin@example.com")
    report = services.approve_report(generate(admin, period), admin)
    services.send_report(report, admin, Recipients(users=[admin]))
    deliver(report)
    delivery = ReportDelivery.objects.get(report=report)
    assert delivery.status == DeliveryStatus.FAILED and "550" in delivery.last_error
    report.refresh_from_db()
    assert report.state == ReportState.FAILED and report.error == "No recipient could be sent the report."


def test_send_me_a_test_leaves_the_draft_a_draft(admin, period):
    report = generate(admin, period)
    delivery = services.send_test(report, admin)
    deliver(report)
    delivery.refresh_from_db()
    assert delivery.test and delivery.status == DeliveryStatus.SENT
    assert mail.outbox[-1].to == ["ada-admin@example.com"] and mail.outbox[-1].subject.startswith(
        "[测试] "
    )  # in the report's language
    report.refresh_from_db()
    assert report.state == ReportState.DRAFT


def test_a_schedule_without_approval_sends_by_itself_once_per_period(admin, analyst, period):
    schedule = services.save_schedule(admin, ScheduleData(
        name="Monthly", kind=ReportKind.MONTH, language=ReportLanguage.EN, department=None,
        recipients=Recipients(roles=[Role.ANALYST]), approval_required=False,
    ))  # fmt: skip
    assert schedule.next_run_on is not None and schedule.next_run_on > timezone.localdate()
    today = period.end + timedelta(days=1)
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_on=today)
    made = services.generate_due_reports(today)
    assert len(made) == 1
    report = services.generate_report(made[0].pk)
    assert report.state == ReportState.SENT and report.approved_at is not None and report.approved_by is None
    assert report.language == "en" and report.deliveries.get().user == analyst
    schedule.refresh_from_db()
    assert schedule.next_run_on > today
    ReportSchedule.objects.filter(pk=schedule.pk).update(next_run_on=today)
    assert services.generate_due_reports(today) == []  # that period is reported already


def test_schedule_form_errors_are_specific(admin):
    base: dict[str, Any] = {
        "name": "Weekly",
        "kind": ReportKind.WEEK,
        "language": ReportLanguage.ZH_HANS,
        "department": None,
    }
    with pytest.raises(ReportError, match="at least one recipient"):
        services.save_schedule(admin, ScheduleData(**base, recipients=Recipients()))
    with pytest.raises(ReportError, match="no role boss"):
        services.save_schedule(admin, ScheduleData(**base, recipients=Recipients(roles=["boss"])))
    with pytest.raises(ReportError, match="x@ is not an e-mail address"):
        services.save_schedule(admin, ScheduleData(**base, recipients=Recipients(addresses=["ok@example.com", "x@"])))


def test_a_failed_generation_is_kept_with_its_reason(admin):
    report = Report.objects.create(kind="month", period_start=timezone.localdate() - timedelta(days=40),
                                   period_end=timezone.localdate() - timedelta(days=45), language="xx")  # fmt: skip
    report = services.generate_report(report.pk)
    assert report.state == ReportState.FAILED and report.error
    assert OutgoingMessage.objects.filter(status=MessageStatus.PENDING).count() == 0


def test_the_whole_organisation_copy_and_the_reports_own_files_are_kept_once(admin, period):
    # NULL is distinct in a plain unique index: the organisation-wide copy (no department) and the report's own
    # files (no variant) have partial constraints of their own.
    report = generate(admin, period)
    ReportVariant.objects.create(report=report, department=None, see_contacts=True, snapshot={})
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportVariant.objects.create(report=report, department=None, see_contacts=True, snapshot={})
    own_pdfs = report.files.filter(variant__isnull=True, format=FileFormat.PDF)
    assert own_pdfs.count() == 1
    first = own_pdfs.get()
    # A second render replaces the stored file in place rather than adding a second one.
    services._store_file(report, None, FileFormat.PDF, b"%PDF-again")
    assert own_pdfs.count() == 1 and bytes(own_pdfs.get().content) == b"%PDF-again" and own_pdfs.get().pk == first.pk
