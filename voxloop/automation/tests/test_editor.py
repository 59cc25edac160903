"""The rule editor in the product: admins build rules from condition rows and action fields, see problems
named, and try a rule on recent feedback before saving it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from voxloop.automation.models import AutomationRule, RoutingRule


@pytest.fixture
def admin_client_(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # messages are asserted in English
    return client


def form_data(rows, **fields):
    data = {
        "name": "物流差评",
        "enabled": "on",
        "order": "10",
        "match": "all",
        "advanced": "",
        "cond-TOTAL_FORMS": str(max(len(rows), 3)),
        "cond-INITIAL_FORMS": "0",
        "cond-MIN_NUM_FORMS": "0",
        "cond-MAX_NUM_FORMS": "30",
        **fields,
    }
    for i, (field, op, value) in enumerate(rows):
        data.update({f"cond-{i}-field": field, f"cond-{i}-op": op, f"cond-{i}-value": value})
    return data


def test_admin_builds_a_rule_from_rows(admin_client_, no_rules, team):
    rows = [("sentiment", "eq", "negative"), ("topics", "any", "logistics，refund.slow"), ("", "eq", "")]
    data = form_data(rows, open_case="urgent", merge_open="on", team=str(team.pk), tags="物流，差评", acknowledge="on")
    response = admin_client_.post(reverse("automation:automation_new"), data)
    assert response.status_code == 302
    rule = AutomationRule.objects.get()
    assert rule.conditions == [
        {"field": "sentiment", "op": "eq", "value": "negative"},
        {"field": "topics", "op": "any", "value": ["logistics", "refund.slow"]},
    ]
    assert rule.actions == [
        {"type": "open_case", "severity": "urgent"},
        {"type": "set_team", "team": team.pk},
        {"type": "add_tags", "tags": ["物流", "差评"]},
        {"type": "auto_acknowledge"},
    ]
    page = admin_client_.get(reverse("automation:list")).content.decode()
    assert "物流差评" in page and "sentiment is negative and topics any of logistics, refund.slow" in page


def test_a_wrong_value_is_named_and_nothing_is_saved(admin_client_, no_rules):
    data = form_data([("sentiment", "eq", "furious")], open_case="normal")
    response = admin_client_.post(reverse("automation:automation_new"), data)
    assert response.status_code == 200
    assert "&#x27;furious&#x27; is not a valid sentiment" in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_a_rule_without_actions_is_refused(admin_client_, no_rules):
    response = admin_client_.post(reverse("automation:automation_new"), form_data([("kind", "eq", "complaint")]))
    assert response.status_code == 200
    assert "give a non-empty list of actions" in response.content.decode()


def test_broken_json_conditions_say_where(admin_client_, no_rules):
    data = form_data([], open_case="normal", advanced='{"any": [')
    response = admin_client_.post(reverse("automation:automation_new"), data)
    assert response.status_code == 200
    assert "not valid JSON (line 1" in response.content.decode()


def test_a_catch_all_rule_is_saved_with_a_warning(admin_client_, no_rules):
    response = admin_client_.post(reverse("automation:automation_new"), form_data([], tags="all"), follow=True)
    assert "matches every analysed feedback item" in response.content.decode()
    assert AutomationRule.objects.get().conditions == []


def test_editing_a_shipped_rule_keeps_it_unchanged(admin_client_, default_rules):
    rule = next(r for r in default_rules if isinstance(r.conditions, list) and r.conditions)
    page = admin_client_.get(reverse("automation:automation_edit", args=[rule.pk]))
    form = page.context["form"]
    formset = page.context["formset"]
    data = {k: v for k, v in form.initial.items() if v not in (None, False)}
    data.update({"enabled": "on"} if rule.enabled else {})
    data.pop("team", None)
    data.update({"cond-TOTAL_FORMS": str(len(formset.forms)), "cond-INITIAL_FORMS": "0",
                 "cond-MIN_NUM_FORMS": "0", "cond-MAX_NUM_FORMS": "30"})  # fmt: skip
    for i, row in enumerate(formset.initial or []):
        data.update({f"cond-{i}-field": row["field"], f"cond-{i}-op": row["op"], f"cond-{i}-value": row["value"]})
    before = (rule.conditions, rule.actions)
    response = admin_client_.post(reverse("automation:automation_edit", args=[rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert (rule.conditions, rule.actions) == before


def test_preview_counts_matches_without_changing_anything(admin_client_, no_rules, make_item):
    make_item("快递丢了", sentiment="negative", topics=["logistics.lost"])
    make_item("很好用", sentiment="positive", kind="praise", topics=["quality"])
    make_item("没分析", analysed=False)
    data = form_data([("topics", "eq", "logistics")], open_case="normal", preview="1")
    response = admin_client_.post(reverse("automation:automation_new"), data)
    page = response.content.decode()
    assert "1 of the 2 most recent analysed items would match" in page
    assert "快递丢了" in page and "很好用" not in page.split('id="rule-preview"')[1]
    assert not AutomationRule.objects.exists()


def test_routing_rule_round_trip_and_toggle(admin_client_, no_rules, team):
    data = form_data([("language", "in", "en, ja")], name="English", team=str(team.pk), match="any")
    assert admin_client_.post(reverse("automation:routing_new"), data).status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.conditions == {"any": [{"field": "language", "op": "in", "value": ["en", "ja"]}]}
    admin_client_.post(reverse("automation:toggle", args=["routing", rule.pk]))
    rule.refresh_from_db()
    assert not rule.enabled


def test_only_admins_edit_rules(client, manager, no_rules):
    client.force_login(manager)
    assert client.get(reverse("automation:list")).status_code == 403
    assert client.post(reverse("automation:automation_new"), form_data([], tags="x")).status_code == 403
    assert not AutomationRule.objects.exists()
