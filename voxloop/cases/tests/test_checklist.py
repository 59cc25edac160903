"""The administrator's setup checklist: what is not configured yet (routing, escalation recipients, outgoing
mail, next year's holidays, agents without a team), in words, each with where to fix it."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
import time_machine
from django.apps import apps
from django.test import override_settings
from django.urls import reverse

from voxloop.accounts.models import Role, Team, User
from voxloop.cases.checklist import setup_checklist
from voxloop.cases.holidays import load_library_holidays
from voxloop.cases.models import BusinessCalendar, EscalationLevel, Holiday

shipped = importlib.import_module("voxloop.automation.migrations.0003_default_teams_and_routing")
SMTP = {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "smtp.example.com"}


def items() -> dict:
    return {item.key: item for item in setup_checklist()}


@time_machine.travel(date(2026, 12, 7), tick=False)
def test_a_fresh_install_lists_what_is_missing(sla_defaults):
    Holiday.objects.filter(date__year=2027).delete()
    found = items()
    assert not found["routing"].ok
    assert "No enabled routing rule" in found["routing"].problems[0]
    assert not found["escalation"].ok and "Level 3 names no active person." in found["escalation"].problems
    assert not found["mail"].ok and "No mail server" in found["mail"].problems[0]  # tests use the locmem backend
    assert not found["holidays"].ok and "no holidays for 2027" in found["holidays"].problems[0]
    assert found["holidays"].fix_url.endswith("#holidays")
    assert not found["people"].ok and "No agents yet" in found["people"].problems[0]


@time_machine.travel(date(2026, 12, 7), tick=False)
@override_settings(**SMTP)
def test_the_shipped_teams_staffed_leave_nothing_to_do(sla_defaults):
    admin = User.objects.create_user("boss", password="x", role=Role.ADMIN, email="boss@example.com")
    shipped.create_defaults(apps, None)  # teams, routing, the admin on the last level
    found = items()
    assert "Routing sends cases to “物流组”, but the team has no active member." in found["routing"].problems
    assert "Level 1 reaches nobody for team “物流组”: the team has no lead." in found["escalation"].problems
    agent = User.objects.create_user("li", password="x", role=Role.AGENT, email="li@example.com")
    for team in Team.objects.all():
        team.members.add(agent)
        Team.objects.filter(pk=team.pk).update(lead=admin)
    for calendar in BusinessCalendar.objects.all():
        load_library_holidays(calendar, [2026, 2027])
    found = items()
    assert [key for key, item in found.items() if not item.ok] == [], {k: i.problems for k, i in found.items()}
    EscalationLevel.objects.filter(target="named_user").update(user=None)
    assert not items()["escalation"].ok


@pytest.mark.parametrize(("lang", "words"), [("en", ["Setup checklist", "Routing rules", "To do"]),
                                        ("zh-hans", ["配置清单", "路由规则", "待处理", "没有启用的路由规则"])])  # fmt: skip
def test_the_page_is_for_administrators_in_their_language(client, admin_user, manager, sla_defaults, lang, words):
    client.force_login(admin_user)
    page = client.get(reverse("checklist:page"), HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    for word in words:
        assert word in page
    assert reverse("automation:list") in page
    client.force_login(manager)
    assert client.get(reverse("checklist:page")).status_code == 403
