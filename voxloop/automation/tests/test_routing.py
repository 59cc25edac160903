"""Routing rules pick the team; inside it, assignment by load, skills, languages and availability."""

from __future__ import annotations

import pytest

from voxloop.accounts.models import Role, Team, User
from voxloop.automation.models import AutomationRule, RoutingRule
from voxloop.automation.routing import pick_agent
from voxloop.automation.services import apply_rules
from voxloop.automation.tests.conftest import NOW
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind, Severity
from voxloop.cases.services import open_case


@pytest.fixture
def open_all(no_rules) -> AutomationRule:
    return AutomationRule.objects.create(
        name="all", conditions=[], actions=[{"type": "open_case", "severity": "normal"}]
    )


@pytest.fixture
def logistics_team(db) -> Team:
    return Team.objects.create(name="物流组", name_en="Logistics")


@pytest.fixture
def english_team(db) -> Team:
    return Team.objects.create(name="国际组", name_en="International")


def member(username: str, team: Team, **fields) -> User:
    user = User.objects.create_user(username, password="x", role=Role.AGENT, **fields)
    user.teams.add(team)
    return user


def case_of(item) -> Case:
    return CaseFeedback.objects.get(feedback=item).case


def test_routing_rules_pick_the_team_in_order(open_all, make_item, logistics_team, english_team):
    RoutingRule.objects.create(name="english", order=1, team=english_team,
                               conditions=[{"field": "language", "op": "eq", "value": "en"}])  # fmt: skip
    RoutingRule.objects.create(name="logistics", order=2, team=logistics_team,
                               conditions=[{"field": "topics", "op": "any", "value": ["logistics"]}])  # fmt: skip
    en_late = make_item("parcel late", language="en", topics=["logistics.delay"], customer="A")
    zh_late = make_item("快递慢", topics=["logistics.delay"], customer="B")
    zh_quality = make_item("坏了", topics=["quality"], customer="C")

    apply_rules([en_late.pk, zh_late.pk, zh_quality.pk], now=NOW)

    assert case_of(en_late).team == english_team  # the first matching rule wins
    assert case_of(zh_late).team == logistics_team
    assert case_of(zh_quality).team is None  # no rule: no team, the general unassigned queue
    assert case_of(zh_quality).assignee is None


def test_set_team_action_overrides_routing(no_rules, make_item, logistics_team, english_team):
    RoutingRule.objects.create(name="all logistics", team=logistics_team, conditions=[])
    AutomationRule.objects.create(
        name="vip to international",
        conditions=[],
        actions=[{"type": "open_case", "severity": "important"}, {"type": "set_team", "team": "International"}],
    )
    item = make_item()
    apply_rules([item.pk], now=NOW)
    assert case_of(item).team == english_team


def test_new_cases_go_to_the_least_loaded_agent_weighted_by_severity(open_all, make_item, logistics_team):
    RoutingRule.objects.create(name="all", team=logistics_team, conditions=[])
    busy = member("busy", logistics_team)
    light = member("light", logistics_team)
    # busy holds one urgent case (weight 4); light holds three normal ones (weight 3).
    for severity, agent, n in ((Severity.URGENT, busy, 1), (Severity.NORMAL, light, 3)):
        for _ in range(n):
            case = open_case([make_item(analysed=False, customer="").pk], severity, team=logistics_team, now=NOW)
            Case.objects.filter(pk=case.pk).update(assignee=agent, status=CaseStatus.OPEN)

    first = make_item(customer="X1")
    apply_rules([first.pk], now=NOW)
    assert case_of(first).assignee == light  # 3 < 4
    second = make_item(customer="X2")
    apply_rules([second.pk], now=NOW)
    assert case_of(second).assignee == busy  # now 4 vs 4: the tie goes to the longest-standing agent
    third = make_item(customer="X3")
    apply_rules([third.pk], now=NOW)
    assert case_of(third).assignee == light

    assigned = CaseEvent.objects.filter(case=case_of(first), kind=EventKind.ASSIGNED).get()
    assert assigned.payload["to_user_id"] == light.pk  # assigned through assign_case: on the timeline
    assert case_of(first).status == CaseStatus.OPEN


def test_resolved_cases_do_not_count_as_load(logistics_team, make_item, sla_defaults):
    a = member("a", logistics_team)
    b = member("b", logistics_team)
    done = open_case([make_item(analysed=False).pk], team=logistics_team, now=NOW)
    Case.objects.filter(pk=done.pk).update(assignee=a, status=CaseStatus.RESOLVED)
    assert pick_agent(logistics_team) == a  # a has nothing open; the tie goes to a (older account)
    Case.objects.filter(pk=done.pk).update(status=CaseStatus.OPEN)
    assert pick_agent(logistics_team) == b


def test_away_agents_are_skipped_and_nobody_available_means_the_queue(open_all, make_item, logistics_team):
    RoutingRule.objects.create(name="all", team=logistics_team, conditions=[])
    away = member("away", logistics_team, is_away=True)
    present = member("present", logistics_team)
    first = make_item(customer="Q1")
    apply_rules([first.pk], now=NOW)
    assert case_of(first).assignee == present

    present.is_away = True
    present.save()
    second = make_item(customer="Q2")
    result = apply_rules([second.pk], now=NOW)
    assert result.unassigned == 1
    case = case_of(second)
    assert case.team == logistics_team and case.assignee is None and case.status == CaseStatus.NEW
    assert away.assigned_cases.count() == 0


def test_inactive_accounts_and_other_teams_are_never_chosen(logistics_team, english_team):
    member("gone", logistics_team, is_active=False)
    member("elsewhere", english_team)
    assert pick_agent(logistics_team) is None


def test_language_matching(open_all, make_item, english_team):
    RoutingRule.objects.create(name="all", team=english_team, conditions=[])
    zh_only = member("zh-only", english_team, languages_spoken=["zh-Hans"])
    en_speaker = member("en-speaker", english_team, languages_spoken=["en", "zh"])
    en_item = make_item("late again", language="en", customer="E1")
    zh_item = make_item("又晚了", language="zh", customer="Z1")
    apply_rules([en_item.pk], now=NOW)
    apply_rules([zh_item.pk], now=NOW)
    assert case_of(en_item).assignee == en_speaker
    assert case_of(zh_item).assignee == zh_only  # both speak Chinese; en-speaker already has a case
    ja_item = make_item("遅い", language="ja", customer="J1")
    apply_rules([ja_item.pk], now=NOW)
    assert case_of(ja_item).assignee is None  # nobody reads Japanese: left in the queue


def test_agents_without_listed_languages_take_any_language(english_team):
    anyone = member("anyone", english_team)
    assert pick_agent(english_team, language="ja") == anyone


def test_skills_are_preferred_over_a_lighter_load(open_all, make_item, logistics_team, sla_defaults):
    RoutingRule.objects.create(name="all", team=logistics_team, conditions=[])
    generalist = member("generalist", logistics_team, skills=[])
    specialist = member("specialist", logistics_team, skills=["refund", "logistics.damage"])
    held = open_case([make_item(analysed=False, customer="").pk], team=logistics_team, now=NOW)
    Case.objects.filter(pk=held.pk).update(assignee=specialist, status=CaseStatus.OPEN)

    damaged = make_item("箱子破了", topics=["logistics.damage"], customer="S1")
    late = make_item("还没到", topics=["logistics.delay"], customer="S2")
    apply_rules([damaged.pk, late.pk], now=NOW)

    assert case_of(damaged).assignee == specialist  # skilled, though busier
    assert case_of(late).assignee == generalist  # nobody has the skill: load decides
    assert pick_agent(logistics_team, topics=["refund.partial"]) == specialist  # a skill covers its sub-topics
    assert generalist.pk != specialist.pk
