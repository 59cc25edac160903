"""Helpers for the workflow tests: last month's complaints (with a phone number in the text), the roll-ups over
them, and the people who receive reports."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback
from voxloop.metrics import services as metrics_services
from voxloop.reports.models import ReportKind
from voxloop.reports.periods import ReportPeriod, last_complete

PHONE = "13812345678"
NAME = "王小明"


def last_month() -> ReportPeriod:
    return last_complete(ReportKind.MONTH, timezone.localdate())


def seed_complaints(period: ReportPeriod, per_day: int = 3) -> int:
    """Complaints about late delivery every day of ``period``, each from its own customer whose name and phone
    are in the text; then the roll-ups, as the daily task leaves them."""
    tz = timezone.get_current_timezone()
    rows = []
    day = period.start
    i = Feedback.objects.filter(source="report-test").count()  # a second batch gets ids of its own
    while day <= period.end:
        for k in range(per_day):
            i += 1
            customer = Customer.objects.create(name=f"{NAME}{i}", phone=f"{PHONE[:-3]}{i:03d}")
            at = timezone.make_aware(datetime.combine(day, time(10)) + timedelta(minutes=k), tz)
            rows.append(Feedback(
                channel="webform", source="report-test", external_id=f"r{i}", received_at=at, customer=customer,
                text=f"我是{customer.name}，电话{customer.phone}，快递五天还没到，太慢了，非常失望。",
                kind="complaint", sentiment="negative", sentiment_score=-0.9, analysis_status=AnalysisStatus.DONE,
            ))  # fmt: skip
        day += timedelta(days=1)
    created = Feedback.objects.bulk_create(rows)
    FeedbackTopic.objects.bulk_create(
        FeedbackTopic(feedback_id=f.pk, code="delivery.late", top_code="delivery", sentiment="negative")
        for f in created
    )
    metrics_services.rebuild()
    return len(created)


def person(username: str, role: str, *, email: str | None = None, team: Team | None = None, **extra) -> User:
    user = User.objects.create_user(
        username=username, password="pw", role=role, email=f"{username}@example.com" if email is None else email,
        **extra,
    )  # fmt: skip
    if team is not None:
        user.teams.add(team)
    return user


def department_with_manager(name: str, username: str, role: str = Role.MANAGER) -> tuple[Department, User]:
    department = Department.objects.create(name=name, name_en=name)
    team = Team.objects.create(name=f"{name}-组", department=department)
    manager = person(username, role, team=team)
    department.manager = manager
    department.save(update_fields=["manager"])
    return department, manager
