"""The demo's service-quality reports: the last two months', sent and archived with its delivery log, and a schedule."""

import pytest

from voxloop.demo.generator import ensure_users
from voxloop.demo.reports import SCHEDULE_NAME, load_demo_reports
from voxloop.reports.models import DeliveryStatus, Report, ReportSchedule, ReportState
from voxloop.reports.tests.fixtures import last_month, seed_complaints

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_last_months_report_is_sent_with_its_log_and_a_schedule():
    ensure_users()
    seed_complaints(last_month(), per_day=1)
    report = load_demo_reports()
    assert report is not None and report.state == ReportState.SENT
    assert (report.period_start, report.period_end) == (last_month().start, last_month().end)
    assert report.schedule == ReportSchedule.objects.get(name=SCHEDULE_NAME)
    statuses = set(report.deliveries.values_list("status", flat=True))
    assert DeliveryStatus.SENT in statuses and DeliveryStatus.QUEUED not in statuses
    assert report.deliveries.filter(address="quality-board@example.com", status=DeliveryStatus.SENT).exists()
    assert load_demo_reports() is None  # idempotent
    assert Report.objects.count() == 2 and ReportSchedule.objects.count() == 1
    # The month before is archived too, so the comparison with the previous report has one to show.
    earlier = Report.objects.get(period_start=last_month().previous().start)
    assert earlier.sent_at is not None and report.sent_at is not None
    assert earlier.state == ReportState.SENT and earlier.sent_at <= report.sent_at
