"""Where actions show outside their own pages: the charts' annotation feed, the prefilled "create action" links
that lower pages ask voxloop.core.annotations for, and the Pareto chart's flags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import services
from voxloop.actions.tests.fixtures import implement
from voxloop.core.annotations import annotations_between, create_action_link
from voxloop.insights.root_causes import CauseBreakdown, pareto_chart
from voxloop.stats.pareto import pareto


@pytest.fixture
def implemented(db, manager, agent):
    department = Department.objects.create(name="物流部", manager=manager)
    action = services.create_action(manager, title="换快递", department=department, owner=agent,
                                    due_date=timezone.localdate(), topics=["logistics"])  # fmt: skip
    implement(manager, agent, action, timezone.localdate() - timedelta(days=10))
    return action


def test_the_feed_marks_actions_implemented_in_the_period(client, analyst, implemented):
    client.force_login(analyst)
    today = timezone.localdate()
    body = client.get("/actions/annotations/", {"first": (today - timedelta(days=30)).isoformat(),
                                                 "last": today.isoformat()}).json()  # fmt: skip
    assert body["items"] == [{"day": implemented.implemented_on.isoformat(), "label": "换快递",
                              "url": f"/actions/{implemented.pk}/", "topics": ["logistics"]}]  # fmt: skip
    before = client.get("/actions/annotations/", {"first": "2020-01-01", "last": "2020-02-01"}).json()
    assert before["items"] == []
    assert client.get("/actions/annotations/", {"first": "soon", "last": "later"}).status_code == 400
    services.cancel_action(implemented.department.manager, implemented, "重复")
    assert annotations_between(today - timedelta(days=30), today) == []  # a cancelled action is no mark


def test_create_links_prefill_the_form(client, manager, db):
    url = create_action_link("alert", topics=["logistics"], channels=["email", "chat"], title="物流延迟", ref="7")
    assert url.startswith("/actions/new/?origin=alert")
    rendered = Template('{% load improvement_links %}{% create_action_url "case" topics="quality.broken" %}').render(
        Context()
    )
    assert rendered.startswith("/actions/new/?origin=case&amp;topics=quality.broken")
    client.force_login(manager)
    form = client.get(url).content.decode()
    assert 'value="logistics"' in form and 'value="物流延迟"' in form and 'value="alert"' in form
    assert form.count("checked") >= 2  # both channels ticked


def test_the_pareto_chart_flags_the_causes_that_have_an_action(implemented):
    today = timezone.localdate()
    rows = pareto({"logistics": 30, "quality": 10})
    data = CauseBreakdown(available=True, total=40, previous_total=0, rows=rows, changes=[],
                          labels={"logistics": "物流", "quality": "质量"})  # fmt: skip
    chart = pareto_chart("complaint_topics", "t", data, {}, "", annotations_between(today - timedelta(days=30), today))
    flags = chart.option["series"][0]["markPoint"]["data"]
    assert len(flags) == 1 and flags[0]["coord"][0] == 0 and flags[0]["url"] == f"/actions/{implemented.pk}/"
