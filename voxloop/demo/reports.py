"""The demo's service-quality reports: a monthly schedule, and the last two months' reports generated, approved and sent,
with its delivery log (one recipient without an address, skipped), so the archive and the comparison have
something to show. Everything goes through voxloop.reports.services. Idempotent: a second run adds nothing.

The demo e-mails go to the in-memory mail backend: their delivery log reads "sent" without printing the PDFs
into the terminal; set up SMTP (docs/settings.md) to send real ones.
"""

from __future__ import annotations

from django.db.models import Q
from django.test.utils import override_settings
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.notify.services import send_due_messages
from voxloop.reports import services
from voxloop.reports.models import Report, ReportKind, ReportLanguage, ReportSchedule
from voxloop.reports.periods import ReportPeriod, last_complete
from voxloop.reports.services import Recipients, ScheduleData

SCHEDULE_NAME = "月度服务质量评估报告"


def load_demo_reports() -> Report | None:
    """Last month's report (and the one before), sent; None when the demo has no administrator or the report exists already."""
    admin = User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True).order_by("pk").first()
    if admin is None:
        return None
    schedule = ReportSchedule.objects.filter(name=SCHEDULE_NAME).first()
    if schedule is None:
        schedule = services.save_schedule(admin, ScheduleData(
            name=SCHEDULE_NAME, kind=ReportKind.MONTH, language=ReportLanguage.ZH_HANS, department=None,
            recipients=Recipients(users=[admin], roles=[Role.MANAGER, Role.ANALYST],
                                  addresses=["quality-board@example.com"]),
        ))  # fmt: skip
    latest = last_complete(ReportKind.MONTH, timezone.localdate())
    if Report.objects.filter(schedule=schedule, period_start=latest.start).exists():
        return None
    # The month before too, so "compare with the previous report" has something to compare with.
    for period in (latest.previous(), latest):
        report = _send(admin, schedule, period)
    return report


def _send(admin: User, schedule: ReportSchedule, period: ReportPeriod) -> Report:
    report = services.request_report(admin, schedule.kind, schedule.language, None, period=period, schedule=schedule)
    report = services.generate_report(report.pk)
    report = services.approve_report(report, admin)
    report = services.send_report(report, admin)
    services.deliver_report(report.pk)
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        send_due_messages(ids=report.deliveries.exclude(message=None).values_list("message_id", flat=True))
    report.refresh_from_db()
    return report
