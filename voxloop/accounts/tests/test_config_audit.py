"""The configuration audit: creating, changing or deleting rules, SLA policies, calendars, escalation levels,
webhooks, users (role, teams, password), teams and departments leaves an entry saying who, when and what changed
(before/after), searchable on the administrator's audit page."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from voxloop.accounts.config_audit import SECRET_MARK
from voxloop.accounts.models import ConfigAction, ConfigChange, Department, Role, Team
from voxloop.automation.models import AutomationRule, RoutingRule
from voxloop.cases.models import BusinessCalendar, EscalationLevel, Holiday, SLAPolicy
from voxloop.cases.tests.conftest import sla_defaults  # noqa: F401 - the shipped calendar and policies
from voxloop.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

ADMIN_IP = "198.51.100.20"


@pytest.fixture
def admin_client(client, admin_user, sla_defaults):  # noqa: F811
    client.force_login(admin_user)
    client.defaults.update(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=ADMIN_IP)
    ConfigChange.objects.all().delete()  # fixtures' own set-up is not what these tests look at
    return client


def entries(object_type: str) -> list[ConfigChange]:
    return list(ConfigChange.objects.filter(object_type=object_type).order_by("id"))


def rule_form(**fields) -> dict:
    data = {"name": "物流差评", "enabled": "on", "order": "10", "match": "all", "advanced": "", "tags": "物流",
            "cond-TOTAL_FORMS": "1", "cond-INITIAL_FORMS": "0", "cond-MIN_NUM_FORMS": "0", "cond-MAX_NUM_FORMS": "30",
            "cond-0-field": "sentiment", "cond-0-op": "eq", "cond-0-value": "negative"}  # fmt: skip
    return {**data, **fields}


def test_an_automation_rule_created_toggled_and_deleted_in_the_editor(admin_client, admin_user):
    assert admin_client.post(reverse("automation:automation_new"), rule_form()).status_code == 302
    rule = AutomationRule.objects.get(name="物流差评")
    admin_client.post(reverse("automation:toggle", args=["automation", rule.pk]))
    admin_client.post(reverse("automation:delete", args=["automation", rule.pk]))

    created, changed, deleted = entries("automation.automationrule")
    assert [e.action for e in (created, changed, deleted)] == [ConfigAction.CREATED, ConfigAction.CHANGED,
                                                               ConfigAction.DELETED]  # fmt: skip
    assert {(e.user, e.username, e.ip_address, e.object_id) for e in (created, changed, deleted)} == {
        (admin_user, "alice-admin", ADMIN_IP, str(rule.pk))
    }
    assert created.path == reverse("automation:automation_new")
    assert created.object_repr == "物流差评"
    assert created.changes["conditions"] == [None, [{"field": "sentiment", "op": "eq", "value": "negative"}]]
    assert changed.changes == {"enabled": [True, False]}
    assert deleted.changes["name"] == ["物流差评", None]


def test_a_routing_rule_change(admin_client, team):
    rule = RoutingRule.objects.create(name="English", conditions=[], team=team)
    other = Team.objects.create(name="二线")
    rule.team, rule.order = other, 5
    rule.save()
    created, changed = entries("automation.routingrule")
    assert created.username == "" and created.action == ConfigAction.CREATED  # outside a request: the system
    assert changed.changes == {"order": [100, 5], "team": [team.pk, other.pk]}


def test_an_sla_policy_edited_on_its_page(admin_client):
    policy = SLAPolicy.objects.filter(is_active=True).first()
    assert policy is not None  # the migrations' default policies
    data = {"name": policy.name, "severity": policy.severity, "calendar": policy.calendar_id,
            "first_response_0": "45", "first_response_1": "minutes",
            "resolution_0": str(policy.resolution_minutes), "resolution_1": "minutes",
            "warn_share": str(policy.warn_share), "is_active": "on", "customer_segment": ""}  # fmt: skip
    assert admin_client.post(reverse("sla:policy_edit", args=[policy.pk]), data).status_code == 302
    [entry] = entries("cases.slapolicy")
    assert entry.action == ConfigAction.CHANGED
    assert entry.changes == {"first_response_minutes": [policy.first_response_minutes, 45]}
    assert entry.username == "alice-admin"


def test_a_business_calendar_and_its_holidays(admin_client):
    days = {f"hours_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "makeup")}
    data = {"name": "上海客服", "time_zone": "Asia/Shanghai", **days, "hours_mon": "09:00-18:00"}
    assert admin_client.post(reverse("sla:calendar_new"), data).status_code == 302
    calendar = BusinessCalendar.objects.get(name="上海客服")
    [created] = entries("cases.businesscalendar")
    assert created.changes["working_hours"] == [None, {"mon": [["09:00", "18:00"]]}]
    Holiday.objects.create(calendar=calendar, date=date(2027, 10, 1), name="国庆节")
    [holiday] = entries("cases.holiday")
    assert holiday.action == ConfigAction.CREATED
    assert holiday.changes["date"] == [None, "2027-10-01"]


def test_an_escalation_level(admin_client, manager):
    level = EscalationLevel.objects.order_by("level").first()
    assert level is not None
    level.after_breach_minutes = 90
    level.user = manager
    level.save()
    [entry] = entries("cases.escalationlevel")
    assert entry.changes["after_breach_minutes"][1] == 90
    assert entry.changes["user"][1] == manager.pk


def test_a_webhook_created_edited_and_its_secret_rotated_without_the_secret_in_the_log(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    url = reverse("webhooks:new")
    assert admin_client.post(url, {"url": "http://10.0.0.5/a", "is_active": "on"}).status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    edit = reverse("webhooks:edit", args=[endpoint.pk])
    admin_client.post(edit, {"url": "http://10.0.0.5/b", "description": "CRM", "is_active": "on"})
    old_secret = endpoint.secret
    admin_client.post(reverse("webhooks:rotate_secret", args=[endpoint.pk]))
    created, changed, rotated = entries("webhooks.webhookendpoint")
    assert created.changes["url"] == [None, "http://10.0.0.5/a"]
    assert changed.changes == {"description": ["", "CRM"], "url": ["http://10.0.0.5/a", "http://10.0.0.5/b"]}
    assert rotated.changes == {"secret": [SECRET_MARK, SECRET_MARK]}
    endpoint.refresh_from_db()
    stored = str(list(ConfigChange.objects.values_list("changes", flat=True)))
    assert old_secret not in stored and endpoint.secret not in stored


def test_a_users_role_teams_and_password_but_not_their_logins(admin_client, agent, team):
    ConfigChange.objects.all().delete()  # the fixtures' users and teams
    agent.role = Role.MANAGER
    agent.save()
    second = Team.objects.create(name="二线")
    agent.teams.add(second)
    second.members.remove(agent)  # from the team's side too
    agent.set_password("a-new-password")
    agent.save()
    admin_client.post(reverse("login"), {"username": agent.username, "password": "a-new-password"})
    changes = [e.changes for e in entries("accounts.user") if e.object_id == str(agent.pk)]
    assert changes == [
        {"role": [Role.AGENT, Role.MANAGER]},
        {"teams": [[team.pk], [team.pk, second.pk]]},
        {"teams": [[team.pk, second.pk], [team.pk]]},
        {"password": [SECRET_MARK, SECRET_MARK]},
    ]


def test_teams_and_departments(admin_client, team):
    ConfigChange.objects.all().delete()  # the fixtures' users and teams
    team.name_en = "First line"
    team.save()
    department = Department.objects.create(name="质量部")
    department.delete()
    [team_entry] = entries("accounts.team")
    assert team_entry.changes == {"name_en": ["Front line", "First line"]}
    assert [e.action for e in entries("accounts.department")] == [ConfigAction.CREATED, ConfigAction.DELETED]


def test_the_audit_page_searches_configuration_changes_in_both_languages(admin_client, client, manager, team):
    team.name_en = "First line"
    team.save()
    policy = SLAPolicy.objects.first()
    assert policy is not None
    policy.warn_share = 0.7
    policy.save()
    page = admin_client.get(reverse("audit_log"), {"kind": "config", "type": "cases.slapolicy"}).content.decode()
    assert "Configuration changes" in page
    assert policy.name in page and "0.7" in page
    assert "First line" not in page
    page = admin_client.get(reverse("audit_log"), {"kind": "config", "q": "一线"}).content.decode()
    assert "First line" in page and "Front line" in page
    page = admin_client.get(reverse("audit_log"), {"kind": "config", "action": "deleted"}).content.decode()
    assert "No entries match." in page
    zh = admin_client.get(reverse("audit_log"), {"kind": "config"}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "配置变更" in zh and "修改" in zh and "之前" in zh
    client.force_login(manager)
    assert client.get(reverse("audit_log"), {"kind": "config"}).status_code == 403


def test_every_tracked_model_is_found_and_connected():
    from django.db.models.signals import post_save

    from voxloop.accounts.config_audit import TRACKED, tracked_models

    found = tracked_models()
    assert sorted(m._meta.model_name or "" for m in found) == sorted(TRACKED)
    assert all(post_save.has_listeners(model) for model in found)


@pytest.mark.browser
def test_an_administrator_finds_a_webhook_change_in_the_browser(login_page, admin_user, live_server, tmp_path):
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/settings/webhooks/new/")
    page.fill("input[name=url]", "https://hooks.example.com/voxloop")
    page.fill("input[name=description]", "客服系统")
    page.click("#endpoint-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/accounts/audit/")
    page.click("#audit-kinds >> text=配置变更")
    page.select_option("select[name=type]", "webhooks.webhookendpoint")
    page.click("#config-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "config-audit.png"), full_page=True)
    table = page.inner_text("#config-changes")
    assert "alice-admin" in table and "新建" in table and "客服系统" in table
    assert "https://hooks.example.com/voxloop" in table
    assert len(page.locator("#config-changes > tbody > tr").all()) == 1
    assert "否" in table  # a yes/no field (personal data off), in the reader's language
