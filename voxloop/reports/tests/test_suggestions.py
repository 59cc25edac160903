"""The suggestions a reader gets: a complaint topic that rose beyond noise with nobody on it asks for an action;
once an action covers it, the suggestion goes and the action's state shows in the report instead."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.accounts.models import Department, Role, User
from voxloop.actions import services as actions
from voxloop.actions.models import ActionStatus
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Feedback
from voxloop.metrics import services as rollups
from voxloop.reports.periods import period_for
from voxloop.reports.snapshot import ReportScope, build_snapshot
from voxloop.reports.suggestions import build_suggestions

SH = ZoneInfo("Asia/Shanghai")
NOVEMBER = period_for("month", date(2026, 11, 1))
NOW = datetime(2026, 12, 1, 6, tzinfo=SH)


def complaints(month: int, topic: str, count: int) -> None:
    rows = [Feedback(channel="email", source="test", external_id=f"{month}-{topic}-{i}", text=f"{topic} 投诉 {i}",
                     received_at=datetime(2026, month, 1 + i % 28, 10, tzinfo=SH), kind="complaint",
                     sentiment="negative", sentiment_score=-0.6, analysis_status="done")
            for i in range(count)]  # fmt: skip
    created = Feedback.objects.bulk_create(rows)
    FeedbackTopic.objects.bulk_create([FeedbackTopic(feedback=f, code=topic, top_code=topic) for f in created])


@pytest.fixture
def rising_logistics(db):
    """Logistics goes from 10 of 50 complaints in October to 40 of 50 in November; price the other way."""
    complaints(10, "logistics", 10)
    complaints(10, "price", 40)
    complaints(11, "logistics", 40)
    complaints(11, "price", 10)
    rollups.rebuild()


@pytest.fixture
def manager(db):
    return User.objects.create_user("mgr", password="x", role=Role.MANAGER, first_name="Zhou")


@pytest.fixture
def logistics_department(manager):
    return Department.objects.create(name="物流部", name_en="Logistics", manager=manager)


def suggestion_keys(snapshot):
    return [s["key"] for s in snapshot["suggestions"]]


def test_a_rising_topic_without_an_action_asks_for_one(rising_logistics):
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "zh-hans", now=NOW)
    changes = {c["key"]: c for c in snapshot["problems"]["changes"]}
    assert changes["logistics"]["direction"] == "up" and changes["logistics"]["p"] < 0.05
    first = snapshot["suggestions"][0]
    assert first["key"] == "open-action:logistics" and first["topic"] == "logistics"
    assert "物流配送" in first["text"]  # the topic by its name, not its code
    assert "20.0%" in first["reason"] and "80.0%" in first["reason"]
    assert first["url"].startswith("/feedback/")
    english = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    assert english["suggestions"][0]["text"] == "Open an improvement action for “Logistics and delivery”."


def test_an_open_action_on_the_topic_silences_the_rule_and_is_reported(rising_logistics, manager,
                                                                       logistics_department):  # fmt: skip
    action = actions.create_action(manager, title="换快递公司", department=logistics_department, owner=manager,
                                   due_date=date(2026, 11, 20), topics=["logistics"], today=date(2026, 11, 2))  # fmt: skip
    actions.approve_action(manager, action)
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW)
    assert "open-action:logistics" not in suggestion_keys(snapshot)
    rows = {a["title"]: a for a in snapshot["actions"]}
    row = rows["换快递公司"]
    assert row["state"] == ActionStatus.APPROVED and row["state_label"] == "Approved"
    assert row["owner"] == "Zhou" and row["due"] == "2026-11-20" and row["url"] == f"/actions/{action.pk}/"
    # Past its due date and not implemented: the report asks to chase it.
    assert "overdue-actions" in suggestion_keys(snapshot)
    with translation.override("zh-hans"):
        zh = build_snapshot(NOVEMBER, ReportScope(), "zh-hans", now=NOW)
    assert zh["actions"][0]["state_label"] != "Approved"


def test_a_department_report_lists_its_own_actions_only(rising_logistics, manager, logistics_department):
    other = Department.objects.create(name="售后服务部", name_en="After-sales")
    actions.create_action(manager, title="物流整改", department=logistics_department, owner=manager,
                          due_date=date(2026, 12, 20), topics=["logistics"], today=date(2026, 11, 2))  # fmt: skip
    actions.create_action(manager, title="售后整改", department=other, owner=manager,
                          due_date=date(2026, 12, 20), topics=["repair"], today=date(2026, 11, 2))  # fmt: skip
    snapshot = build_snapshot(NOVEMBER, ReportScope(department_id=other.pk), "en", now=NOW)
    assert [a["title"] for a in snapshot["actions"]] == ["售后整改"]


def test_rules_from_status_and_problems(db):
    """The KPI, repeat-complaint and alert rules, on a snapshot's sections as the renderer stores them."""
    status = {"kpis": [
        {"key": "sla_compliance", "name": "SLA compliance", "display": "71.0%", "n": 400, "light": "red",
         "previous": {"display": "80.0%"}, "change": {"significant": True, "p": 0.0004}, "url": "/metrics/"},
        {"key": "fcr_rate", "name": "First-contact resolution", "display": "60.0%", "n": 50, "light": "green",
         "previous": {"display": "62.0%"}, "change": {"significant": False, "p": 0.4}, "url": "/metrics/"},
        {"key": "repeat_rate", "name": "Repeat-complaint rate", "display": "18.0%", "n": 300, "value": 0.18,
         "target": 0.15, "target_display": "15.0%", "light": "amber", "change": None, "url": "/metrics/"},
    ]}  # fmt: skip
    problems = {"basis": "complaint_topics", "pareto": [], "changes": [], "drivers": [], "emerging": [],
                "repeat": {"top": [{"label": "物流配送", "n": 20}]},
                "alerts": [{"title": "Feedback volume · Topic: 物流配送", "acknowledged": False, "url": "/alerts/1/"},
                           {"title": "NPS", "acknowledged": True, "url": "/alerts/2/"}]}  # fmt: skip
    with translation.override("en"):
        out = build_suggestions(status, problems, None, date(2026, 12, 1))
    keys = [s["key"] for s in out]
    assert keys == ["kpi:sla_compliance", "repeat-complaints", "review-alerts"]
    assert "71.0%" in out[0]["reason"] and "80.0%" in out[0]["reason"]
    assert "物流配送" in out[1]["text"] and "15.0%" in out[1]["reason"]
    assert out[2]["text"] == "Review the 1 early-warning alerts nobody has acknowledged."


def test_no_findings_no_suggestions(db):
    snapshot = build_snapshot(NOVEMBER, ReportScope(), "en", now=NOW - timedelta(days=400))
    assert snapshot["suggestions"] == [] and snapshot["actions"] == []
