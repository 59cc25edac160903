"""Canned replies: safe rendering of the five variables, errors at save time, the manager pages and the picker."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from voxloop.cases.macros import MacroError, case_values, render_macro, save_macro, variables_in
from voxloop.cases.models import CannedReply
from voxloop.cases.services import open_case

VALUES = {
    "customer_name": "王先生",
    "case_number": "C0000042",
    "agent_name": "小李",
    "tracking_url": "https://voxloop.example/t/abc/",
    "due_time": "2026-11-25 18:00",
}


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def test_all_variables_render():
    body = "{customer_name}您好，工单{case_number}由{agent_name}处理，预计{due_time}前解决，进度：{tracking_url}"
    assert render_macro(body, VALUES) == (
        "王先生您好，工单C0000042由小李处理，预计2026-11-25 18:00前解决，进度：https://voxloop.example/t/abc/"
    )
    assert variables_in(body) == ["customer_name", "case_number", "agent_name", "due_time", "tracking_url"]


def test_double_braces_are_literal_and_values_are_not_interpreted_again():
    assert render_macro("{{literal}} {customer_name}", {"customer_name": "{case_number}"}) == "{literal} {case_number}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Hi {name}", "Unknown variable {name}"),
        ("{customer_name.__class__}", "Unknown variable {customer_name.__class__}"),
        ("{0}", "Unknown variable {0}"),
        ("{customer_name!r}", "Unknown variable"),
        ("Dear {customer_name", "A single { or }"),
        ("oops }", "A single { or }"),
    ],
)
def test_unknown_variables_and_stray_braces_are_refused(body, message):
    with pytest.raises(MacroError) as exc:
        variables_in(body)
    assert message in exc.value.message


def test_no_template_engine_on_macro_text():
    # Django template syntax is just text here: nothing is evaluated.
    body = "{% load static %}{{ case.tracking_token }} {customer_name}"
    with pytest.raises(MacroError):
        render_macro(body, VALUES)  # "{% load static %}" reads as an unknown variable: refused, never run
    assert render_macro("{{ case.tracking_token }}", VALUES) == "{ case.tracking_token }"


def test_save_macro_checks_title_and_body(db):
    with pytest.raises(MacroError) as exc:
        save_macro(None, title="致歉", body="您好 {nme}")
    assert "Unknown variable {nme}" in exc.value.message
    with pytest.raises(MacroError):
        save_macro(None, title="", body="hello")
    macro = save_macro(None, title="致歉", body="  您好 {customer_name}  ")
    assert macro.body == "您好 {customer_name}"


def test_case_values_fill_from_the_case(make_feedback, staffed_team, team_agents):
    case = open_case([make_feedback()], team=staffed_team)
    agent = team_agents[0]
    agent.first_name = "Wang"
    agent.save()
    values = case_values(case, agent)
    assert values["case_number"] == case.number
    assert values["customer_name"] == "客户C-1"
    assert values["agent_name"] == "Wang"
    assert case.tracking_token in values["tracking_url"]
    assert values["tracking_url"].startswith("http")
    assert case.resolution_due_at is not None
    assert values["due_time"][:4] == str(case.resolution_due_at.year)


def test_macro_pages_for_managers_only(client, staffed_team, team_agents):
    agent = team_agents[0]
    client.force_login(agent)
    assert client.get(reverse("cases:macros")).status_code == 403
    assert client.post(reverse("cases:macro_new"), {"title": "x", "body": "y"}).status_code == 403
    client.force_login(staffed_team.department.manager)
    response = client.post(reverse("cases:macro_new"), {"title": "致歉", "body": "您好 {nmae}", "is_active": "on"})
    assert response.status_code == 400
    assert "Unknown variable {nmae}" in response.content.decode()
    assert not CannedReply.objects.exists()
    response = client.post(
        reverse("cases:macro_new"),
        {
            "title": "致歉",
            "body": "{customer_name}您好，工单{case_number}已受理。",
            "team": staffed_team.pk,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    macro = CannedReply.objects.get()
    assert macro.team == staffed_team
    assert "致歉" in client.get(reverse("cases:macros")).content.decode()
    response = client.post(
        reverse("cases:macro_edit", args=[macro.pk]), {"title": "致歉2", "body": "{agent_name}", "is_active": ""}
    )
    assert response.status_code == 302
    macro.refresh_from_db()
    assert (macro.title, macro.is_active, macro.team) == ("致歉2", False, None)


def test_picker_on_the_case_page_offers_the_rendered_macro(client, make_feedback, staffed_team, team_agents):
    case = open_case([make_feedback()], team=staffed_team)
    save_macro(None, title="受理", body="{customer_name}您好，工单{case_number}已受理。", team=staffed_team)
    save_macro(None, title="停用", body="x", is_active=False)
    other = type(staffed_team).objects.create(name="别的组")
    save_macro(None, title="别组", body="y", team=other)
    client.force_login(team_agents[0])
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert 'id="macro-picker"' in html
    assert f'data-body="客户C-1您好，工单{case.number}已受理。"' in html
    assert "停用" not in html
    assert "别组" not in html
