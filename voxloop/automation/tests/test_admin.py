"""Rules are edited in the Django admin: invalid JSON is refused with the reason, a catch-all rule is saved with
a warning, and messages come in Chinese for Chinese users."""

from __future__ import annotations

import json

import pytest
from django.utils import translation

from voxloop.automation.models import AutomationRule, RoutingRule
from voxloop.automation.rules import RuleValidationError, compile_conditions

ADD_URL = "/admin/automation/automationrule/add/"


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    return client


def post_rule(client, conditions, actions, name="规则"):
    return client.post(
        ADD_URL,
        {
            "name": name,
            "enabled": "on",
            "order": "10",
            "conditions": json.dumps(conditions),
            "actions": json.dumps(actions),
        },
        follow=True,
    )


def test_admin_refuses_an_invalid_rule_and_says_why(admin_client_, no_rules):
    response = post_rule(admin_client_, [{"field": "mood", "op": "eq", "value": "x"}], [{"type": "open_case"}])
    assert response.status_code == 200
    body = response.content.decode()
    # The admin speaks the installation's default language, Simplified Chinese.
    assert "conditions[0]：未知字段 &#x27;mood&#x27;" in body
    assert "actions[0]：open_case 需要 severity。" in body
    assert not AutomationRule.objects.exists()


def test_admin_saves_a_catch_all_rule_with_a_warning(admin_client_, no_rules, admin_user):
    response = post_rule(admin_client_, [], [{"type": "open_case", "severity": "normal"}], name="全部")
    body = response.content.decode()
    assert "此规则没有条件：它会匹配每一条已分析的反馈。" in body
    saved = AutomationRule.objects.get(name="全部")
    assert saved.created_by == admin_user


def test_admin_rule_list_and_routing_pages_open(admin_client_, default_rules):
    listing = admin_client_.get("/admin/automation/automationrule/")
    assert listing.status_code == 200
    assert "Urgent signals open urgent cases" in listing.content.decode()
    assert admin_client_.get("/admin/automation/routingrule/add/").status_code == 200
    assert admin_client_.get("/admin/automation/rulefiring/").status_code == 200


def test_routing_rule_validation(db):
    from django.core.exceptions import ValidationError

    from voxloop.accounts.models import Team

    team = Team.objects.create(name="组")
    with pytest.raises(ValidationError, match="operator 'gte' does not apply to language"):
        RoutingRule(name="x", team=team, conditions=[{"field": "language", "op": "gte", "value": 1}]).full_clean()


def test_messages_are_translated_to_chinese():
    with translation.override("zh-hans"):
        with pytest.raises(RuleValidationError) as exc:
            compile_conditions([{"field": "mood", "op": "eq", "value": "x"}])
        assert "未知字段" in exc.value.messages[0]
        assert str(AutomationRule._meta.verbose_name) == "自动化规则"
