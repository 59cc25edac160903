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
    # Values are named as people read them (the taxonomy's name for a topic), not by their codes.
    assert "物流差评" in page and "sentiment is Negative and topics any of Logistics and delivery, refund.slow" in page


def test_a_wrong_value_is_named_and_nothing_is_saved(admin_client_, no_rules):
    data = form_data([("sentiment", "eq", "furious")], open_case="normal")
    response = admin_client_.post(reverse("automation:automation_new"), data)
    assert response.status_code == 200
    assert "Row 1: “furious” is not a value of sentiment; choose from the list." in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_a_rule_without_actions_is_refused(admin_client_, no_rules):
    response = admin_client_.post(reverse("automation:automation_new"), form_data([("kind", "eq", "complaint")]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose at least one thing to do: open a case, set a team, add tags" in page
    assert "[{" not in page.split('id="rule-errors"')[1].split("</div>")[0]  # no JSON in the message


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
    assert formset.initial and not form.initial["advanced"]  # the shipped rule is shown as rows, not JSON
    for i, row in enumerate(formset.initial or []):
        data.update({f"cond-{i}-field": row["field"], f"cond-{i}-op": row["op"], f"cond-{i}-value": row["value"],
                     f"cond-{i}-values": row["values"], f"cond-{i}-group": row["group"]})  # fmt: skip
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


def test_values_are_chosen_from_lists_and_rows_group_into_alternatives(admin_client_, no_rules):
    page = admin_client_.get(reverse("automation:automation_new")).content.decode()
    for option in ('value="sentiment:negative"', 'value="topics:logistics"', 'value="channel:hotline"',
                   'value="urgency:urgent"', 'value="kind:complaint"', 'value="customer_segment:at_risk"',
                   'value="survey_band:detractor"', 'value="survey_kind:nps"', 'value="language:en"'):  # fmt: skip
        assert option in page, option
    assert "Logistics and delivery" in page and "NPS detractor (0–6)" in page
    data = form_data([], open_case="normal")
    data.update({
        "cond-0-field": "kind", "cond-0-op": "eq", "cond-0-values": ["kind:complaint"], "cond-0-group": "A",
        "cond-1-field": "sentiment", "cond-1-op": "eq", "cond-1-values": ["sentiment:negative"], "cond-1-group": "A",
        "cond-2-field": "channel", "cond-2-op": "eq", "cond-2-values": ["channel:hotline", "channel:chat"],
    })  # fmt: skip
    assert admin_client_.post(reverse("automation:automation_new"), data).status_code == 302
    assert AutomationRule.objects.get().conditions == [
        {"any": [{"field": "kind", "op": "eq", "value": "complaint"}, {"field": "sentiment", "op": "eq", "value": "negative"}]},
        {"field": "channel", "op": "in", "value": ["hotline", "chat"]},  # two ticked under "is": "is one of"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"cond-0-field": "sentiment", "cond-0-op": "eq"}, "Row 1: Choose at least one value of sentiment from the list."),
        ({"cond-0-field": "rating", "cond-0-op": "gte", "cond-0-value": "five"}, "Row 1: rating needs a number, e.g. 4."),
        ({"cond-0-field": "rating", "cond-0-op": "contains", "cond-0-value": "4"},
         "Row 1: “contains” does not apply to rating; choose “at least”, “at most”, “is”."),
        ({"cond-0-op": "eq", "cond-0-value": "negative"}, "Row 1: Choose a field for this row, or empty the row."),
    ],
)  # fmt: skip
def test_row_problems_are_named_in_words(admin_client_, no_rules, row, message):
    data = {**form_data([], open_case="normal"), **row}
    response = admin_client_.post(reverse("automation:automation_new"), data)
    assert message in response.content.decode()
    assert not AutomationRule.objects.exists()


def test_advanced_json_errors_name_the_place_in_words(admin_client_, no_rules):
    advanced = '[{"field": "sentiment", "op": "eq", "value": "negative"}, {"any": [{"field": "kind", "op": "eq", "value": "rant"}]}]'
    response = admin_client_.post(
        reverse("automation:automation_new"), form_data([], open_case="normal", advanced=advanced)
    )
    page = response.content.decode()
    assert "Condition 2 › alternative 1: &#x27;rant&#x27; is not a valid kind" in page
    assert "conditions[1]" not in page


def test_the_editor_speaks_chinese(client, admin_user, no_rules):
    client.force_login(admin_user)
    data = form_data([("sentiment", "eq", "很生气")], open_case="normal")
    page = client.post(reverse("automation:automation_new"), data, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "第 1 行：“很生气”不是情感的可选值，请从列表中选择。" in page
    page = client.get(reverse("automation:automation_new"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "物流配送" in page and "贬损者" in page
