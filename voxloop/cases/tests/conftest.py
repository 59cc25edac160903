"""Fixtures for case tests: feedback stored through the one ingest path, and a fully staffed team."""

from __future__ import annotations

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone, translation

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.cases.models import Case, EscalationLevel, Severity
from voxloop.cases.services import open_case
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

SH = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


# Monday 23 November 2026, 09:00 in Shanghai: the start of a working week.
MONDAY_9 = sh(2026, 11, 23, 9, 0)


@pytest.fixture(autouse=True)
def english_messages():
    """Messages are asserted in English; test_messages_are_translated checks the Chinese ones."""
    with translation.override("en"):
        yield


@pytest.fixture
def sla_defaults(db) -> None:
    """The default calendar, policies and escalation chain come from a data migration; a transactional test
    flushes them, so put them back."""
    from django.apps import apps

    from voxloop.cases.models import SLAPolicy

    if not SLAPolicy.objects.exists():
        create_defaults = importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies")
        create_defaults.create_defaults(apps, None)


@pytest.fixture
def make_feedback(db, sla_defaults):
    counter = iter(range(1, 10_000))

    def _make(text: str = "快递三天了还没到，客服也不回复", customer_id: str = "C-1", segment: str = "") -> int:
        n = next(counter)
        result = ingest_feedback(
            [
                FeedbackInput(
                    text=text,
                    channel="webform",
                    received_at=MONDAY_9,
                    source="test",
                    external_id=f"fb-{n}",
                    customer_id=customer_id,
                    customer_name=f"客户{customer_id}",
                )
            ]
        )
        pk = result.created[0]
        if segment:
            from voxloop.feedback.models import Feedback

            customer = Feedback.objects.get(pk=pk).customer
            assert customer is not None
            customer.segment = segment
            customer.save(update_fields=["segment"])
        return pk

    return _make


@pytest.fixture
def staffed_team(db, sla_defaults) -> Team:
    """A team with a lead, in a department with a manager, and a named executive at escalation level 3."""
    manager = User.objects.create_user("mei-manager", password="x", role=Role.MANAGER)
    lead = User.objects.create_user("li-lead", password="x", role=Role.AGENT)
    executive = User.objects.create_user("zhao-exec", password="x", role=Role.MANAGER)
    department = Department.objects.create(name="服务部", manager=manager)
    team = Team.objects.create(name="售后组", department=department, lead=lead)
    lead.teams.add(team)
    EscalationLevel.objects.filter(level=3).update(user=executive)
    return team


@pytest.fixture
def team_agents(staffed_team) -> tuple[User, User]:
    a = User.objects.create_user("wang-agent", password="x", role=Role.AGENT)
    b = User.objects.create_user("zhang-agent", password="x", role=Role.AGENT)
    a.teams.add(staffed_team)
    b.teams.add(staffed_team)
    return a, b


@pytest.fixture
def on_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locking between connections is tested on PostgreSQL (VOXLOOP_TEST_DATABASE_URL)")


@pytest.fixture
def wang(team_agents) -> User:
    return team_agents[0]


@pytest.fixture
def outsider(db) -> User:
    """An agent of another team in another department."""
    other = Team.objects.create(name="物流组", department=Department.objects.create(name="物流部"))
    user = User.objects.create_user("chen-other", password="x", role=Role.AGENT)
    user.teams.add(other)
    return user


@pytest.fixture
def team_case(make_feedback, staffed_team) -> Case:
    case = open_case([make_feedback()], Severity.IMPORTANT, team=staffed_team, now=timezone.now())
    customer = case.customer
    assert customer is not None
    customer.email = "wang.xiaoming@example.com"
    customer.phone = "13812345678"
    customer.save(update_fields=["email", "phone"])
    return case
