"""'My performance' (issue 18.9): an agent's own numbers against their team's median, over 7/30/90 days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.metrics import performance, services
from voxloop.metrics.days import local_day
from voxloop.metrics.tests.conftest import make_case, make_response


@pytest.fixture
def team_of_three(people) -> dict:
    """Wang (the assignee) and Li (the replier) in one team with Zhou; each handled cases in the last days."""
    team = people["team"]
    zhou = User.objects.create_user("zhou-agent", password="x", role=Role.AGENT)
    for user in (people["assignee"], people["replier"], zhou):
        user.teams.add(team)
    return {**people, "zhou": zhou}


def handled(agent, team, policy, count: int, *, hours_to_reply: int, days_ago: int = 2, reopened: int = 0) -> list:
    now = timezone.now()
    cases = []
    for i in range(count):
        opened = now - timedelta(days=days_ago, minutes=i)
        cases.append(make_case(opened, policy=policy, replies=[opened + timedelta(hours=hours_to_reply)],
                               resolved=opened + timedelta(hours=hours_to_reply + 1), status="resolved",
                               team=team, assignee=agent, reopen_count=1 if i < reopened else 0))  # fmt: skip
    return cases


@pytest.fixture
def worked(team_of_three, policy, csat_survey) -> dict:
    t = team_of_three
    wang_cases = handled(t["assignee"], t["team"], policy, 4, hours_to_reply=1, reopened=1)
    handled(t["replier"], t["team"], policy, 2, hours_to_reply=3)
    handled(t["zhou"], t["team"], policy, 1, hours_to_reply=5)
    handled(t["assignee"], t["team"], policy, 5, hours_to_reply=1, days_ago=60)  # only in the 90-day view
    make_response(csat_survey, timezone.now() - timedelta(days=1), csat=5, case=wang_cases[0], agent=t["assignee"])
    make_response(csat_survey, timezone.now() - timedelta(days=1), csat=3, case=wang_cases[1], agent=t["replier"])
    services.rebuild()
    return t


def by_key(rows) -> dict:
    return {r.kpi.key: r for r in rows}


def test_own_numbers_against_the_team_median(worked):
    rows = by_key(performance.performance(worked["assignee"], 30, local_day(timezone.now())))
    assert rows["cases_opened"].mine.value == 4
    assert rows["cases_opened"].team_median == 2  # 4, 2, 1
    assert rows["cases_opened"].better is True
    assert rows["reopen_rate"].mine.value == pytest.approx(0.25)
    assert rows["reopen_rate"].better is False  # the others reopened none: lower is better
    assert rows["csat_mean"].mine.value == 5
    assert rows["csat_mean"].team_median == 4  # 5 (Wang), 3 (Li); Zhou has no answers
    assert rows["frt_business_median"].mine.value is not None


def test_the_period_changes_the_numbers(worked):
    today = local_day(timezone.now())
    assert by_key(performance.performance(worked["assignee"], 7, today))["cases_opened"].mine.value == 4
    assert by_key(performance.performance(worked["assignee"], 90, today))["cases_opened"].mine.value == 9


def test_an_agent_opens_their_own_page_but_not_the_panel(client, worked):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(worked["assignee"])
    assert client.get(reverse("metrics:panel")).status_code == 403
    response = client.get(reverse("metrics:mine"), {"days": "30"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "My performance" in html and "Cases handled" in html and "Team median" in html
    assert "better than the median" in html and "worse than the median" in html
    assert client.get(reverse("metrics:mine"), {"days": "12"}).status_code == 400


def test_analysts_have_no_own_performance(client, analyst):
    client.force_login(analyst)
    assert client.get(reverse("metrics:mine")).status_code == 403


def test_an_agent_without_a_team_sees_no_median(client, db, policy):
    loner = User.objects.create_user("loner", password="x", role=Role.AGENT)
    rows = by_key(performance.performance(loner, 30, local_day(timezone.now())))
    assert rows["cases_opened"].mine.value == 0
    assert rows["cases_opened"].team_median is None


def test_my_performance_in_chinese(client, worked):
    client.force_login(worked["assignee"])
    html = client.get(reverse("metrics:mine"), {"days": "7"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for text in ("我的绩效", "处理的工单", "团队中位数", "最近 7 天"):
        assert text in html, text
