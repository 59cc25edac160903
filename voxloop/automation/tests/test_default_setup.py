"""The routing set-up shipped for the first start (automation migration 0003): default teams, routing by
language and topic, a named person on the last escalation level; it only adds what an install lacks."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.automation.models import RoutingRule
from voxloop.automation.routing import pick_team
from voxloop.automation.rules import Facts
from voxloop.cases.models import EscalationLevel

shipped = importlib.import_module("voxloop.automation.migrations.0003_default_teams_and_routing")


def ship() -> None:
    shipped.create_defaults(apps, None)


@pytest.fixture
def chain(sla_defaults) -> list[EscalationLevel]:
    return list(EscalationLevel.objects.order_by("level"))


def test_first_start_routes_by_language_and_topic(db):
    ship()
    names = set(Team.objects.values_list("name", flat=True))
    assert {"售后服务组", "物流组", "投诉处理组", "英文支持组"} <= names
    assert Team.objects.get(name="英文支持组").name_en == "English support"
    assert set(Team.objects.values_list("department__name", flat=True)) == {"客户服务部"}

    def team_for(**facts) -> str | None:
        team = pick_team(Facts(feedback_id=1, **facts))
        return team.name if team else None

    assert team_for(language="en", topics=("logistics.delay",), kind="complaint") == "英文支持组"
    assert team_for(language="zh-hans", topics=("logistics.delay",)) == "物流组"
    assert team_for(language="zh-hans", topics=("repair.installation",)) == "售后服务组"
    assert team_for(language="zh-hans", topics=("attitude",), kind="complaint") == "投诉处理组"
    assert team_for(language="zh-hans", topics=("price",), kind="praise") is None  # the shared queue


def test_an_admins_own_rule_comes_before_the_shipped_ones(db):
    ship()
    vip = Team.objects.create(name="VIP 组")
    RoutingRule.objects.create(name="物流 VIP", conditions=[{"field": "topics", "op": "any", "value": ["logistics"]}],
                               team=vip)  # fmt: skip
    assert pick_team(Facts(feedback_id=1, language="zh", topics=("logistics",))) == vip


def test_running_again_or_on_a_configured_install_adds_nothing(db):
    team = Team.objects.create(name="物流组", name_en="Delivery desk")
    own = RoutingRule.objects.create(name="全部到物流组", conditions=[], team=team)
    ship()
    ship()
    assert list(RoutingRule.objects.all()) == [own]  # an install that routes keeps its own rules only
    assert Team.objects.get(name="物流组").name_en == "Delivery desk"  # an existing team keeps its settings
    assert Team.objects.filter(name="英文支持组").count() == 1
    assert Department.objects.filter(name="客户服务部").count() == 1


def test_the_last_level_names_the_first_administrator_unless_it_names_someone(chain):
    named = [level for level in chain if level.target == EscalationLevel.Target.NAMED_USER]
    assert named and all(level.user_id is None for level in named)
    admin = User.objects.create_user("root-admin", password="x", role=Role.ADMIN)
    ship()
    assert {level.user_id for level in EscalationLevel.objects.filter(target="named_user")} == {admin.pk}
    other = User.objects.create_user("ceo", password="x", role=Role.MANAGER)
    EscalationLevel.objects.filter(target="named_user").update(user=other)
    ship()
    assert {level.user_id for level in EscalationLevel.objects.filter(target="named_user")} == {other.pk}
    assert Department.objects.get(name="客户服务部").manager == admin
