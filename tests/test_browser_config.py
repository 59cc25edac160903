"""Configuration without JSON in a real headless Chromium, desktop and phone, Chinese and English: the rule
builder's value lists follow the chosen field, and users and teams are edited in the product."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps

from voxloop.accounts.models import Role, Team, User
from voxloop.analysis.models import Topic
from voxloop.automation.models import AutomationRule
from voxloop.cases.models import EscalationLevel
from voxloop.insights.models import Touchpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/config")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def taxonomy(db):
    """The shipped topics (a transactional test before this one flushed the migrations' data)."""
    if not Topic.objects.exists():
        importlib.import_module("voxloop.analysis.migrations.0002_default_taxonomy").seed(apps, None)


@pytest.fixture
def open_page(browser, live_server):
    """A signed-in page in a given language and viewport; fails on console errors like the shared fixture."""
    contexts = []
    errors: list[str] = []

    def _open(user, *, locale: str, viewport: dict):
        context = browser.new_context(locale=locale, viewport=viewport, extra_http_headers={"Accept-Language": locale})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, f"browser console errors: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def visible_values(page, row: int) -> list[str]:
    return page.eval_on_selector_all(
        f"select[name=cond-{row}-values] option",
        "options => options.filter(o => !o.parentElement.hidden).map(o => o.value)",
    )


def test_rule_builder_lists_each_fields_values(open_page, admin_user, live_server):
    page = open_page(admin_user, locale="zh-CN", viewport=DESKTOP)
    page.goto(f"{live_server.url}/settings/rules/automation/new/")
    assert not page.is_visible("select[name=cond-0-values]")  # no field chosen yet: no list
    page.fill("#rule-form input[name=name]", "投诉或差评的电话")
    page.select_option("select[name=cond-0-field]", "kind")
    assert set(visible_values(page, 0)) == {"kind:complaint", "kind:praise", "kind:suggestion", "kind:question",
                                            "kind:other"}  # fmt: skip
    assert not page.is_visible("input[name=cond-0-value]")  # a listed field is not typed
    page.select_option("select[name=cond-0-values]", "kind:complaint")
    page.select_option("select[name=cond-0-group]", "A")
    page.select_option("select[name=cond-1-field]", "sentiment")
    assert "负面" in page.locator("select[name=cond-1-values]").inner_text()
    page.select_option("select[name=cond-1-values]", "sentiment:negative")
    page.select_option("select[name=cond-1-group]", "A")
    page.select_option("select[name=cond-2-field]", "topics")
    assert "topics:logistics" in visible_values(page, 2)
    assert all(v.startswith("topics:") for v in visible_values(page, 2))
    page.select_option("select[name=cond-2-values]", ["topics:logistics", "topics:refund"])
    page.select_option("select[name=open_case]", "important")
    shot(page, "rule-builder-zh-desktop")
    page.click("#rule-form button[name=save]")
    page.wait_for_load_state("networkidle")
    rule = AutomationRule.objects.get(name="投诉或差评的电话")
    assert rule.conditions == [
        {"any": [{"field": "kind", "op": "eq", "value": "complaint"}, {"field": "sentiment", "op": "eq", "value": "negative"}]},
        {"field": "topics", "op": "any", "value": ["logistics", "refund"]},
    ]  # fmt: skip
    listing = page.locator("#automation-rules tr", has_text="投诉或差评的电话").inner_text()
    assert "类型 等于 投诉" in listing and "物流配送" in listing and "complaint" not in listing
    # Opened again, the rule shows as rows with its values chosen, not as JSON.
    page.goto(f"{live_server.url}/settings/rules/automation/{rule.pk}/")
    assert page.eval_on_selector("select[name=cond-1-values]", "s => [...s.selectedOptions].map(o => o.value)") == [
        "sentiment:negative"
    ]
    assert not page.locator("details[open] textarea[name=advanced]").count()


def test_rule_builder_on_a_phone_in_english(open_page, admin_user, live_server):
    User.objects.filter(pk=admin_user.pk).update(language="en")
    page = open_page(admin_user, locale="en-US", viewport=PHONE)
    page.goto(f"{live_server.url}/settings/rules/automation/new/")
    page.select_option("select[name=cond-0-field]", "rating")
    assert not page.is_visible("select[name=cond-0-values]")  # a number is typed
    page.fill("input[name=cond-0-value]", "two")
    page.select_option("select[name=open_case]", "normal")
    page.fill("#rule-form input[name=name]", "Low ratings")
    page.click("#rule-form button[name=save]")
    page.wait_for_load_state("networkidle")
    assert "Row 1: rating needs a number, e.g. 4." in page.locator("#conditions").inner_text()
    assert not AutomationRule.objects.filter(name="Low ratings").exists()
    # The page itself does not scroll sideways on a phone (the rows' table scrolls inside its box).
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "rule-builder-en-phone")


def test_admin_adds_an_agent_with_languages_skills_and_a_team(open_page, admin_user, live_server):
    team = Team.objects.create(name="物流组", name_en="Logistics")
    page = open_page(admin_user, locale="zh-CN", viewport=DESKTOP)
    page.goto(f"{live_server.url}/settings/people/")
    assert "用户和团队" in page.locator("h1").inner_text()
    page.click("text=新建用户")
    page.fill("input[name=username]", "zhao-lei")
    page.fill("input[name=first_name]", "赵磊")
    page.select_option("select[name=role]", Role.AGENT)
    page.check(f"#field-teams input[value='{team.pk}']")
    page.check("#field-languages_spoken input[value=zh]")
    page.check("#field-languages_spoken input[value=en]")
    page.check("#field-skills input[value=logistics]")
    assert "物流配送" in page.locator("#field-skills").inner_text()
    page.fill("input[name=password]", "Lumen-Harbor-42")
    shot(page, "user-form-zh-desktop")
    page.click("#people-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    user = User.objects.get(username="zhao-lei")
    assert (user.languages_spoken, user.skills, list(user.teams.all())) == (["zh", "en"], ["logistics"], [team])
    row = page.locator("#people-users tr", has_text="赵磊").inner_text()
    assert "物流组" in row and "中文、英语" in row and "物流配送" in row and "在岗" in row
    shot(page, "people-zh-desktop")


def test_users_and_teams_pages_on_a_phone_in_english(open_page, admin_user, agent, team, live_server):
    User.objects.filter(pk=admin_user.pk).update(language="en")
    page = open_page(admin_user, locale="en-US", viewport=PHONE)
    page.goto(f"{live_server.url}/settings/people/")
    assert "Users and teams" in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    shot(page, "people-en-phone")
    page.goto(f"{live_server.url}/settings/people/teams/{team.pk}/")
    page.select_option("select[name=lead]", str(agent.pk))
    page.click("#people-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert Team.objects.get(pk=team.pk).lead == agent
    page.goto(f"{live_server.url}/settings/people/users/{agent.pk}/")
    page.check("#field-working_status input[value=away]")
    shot(page, "user-form-en-phone")
    page.click("#people-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert User.objects.get(pk=agent.pk).is_away
    assert "Away" in page.locator("#people-users").inner_text()


def test_metrics_value_list_follows_the_cut(open_page, analyst, live_server):
    logistics = Team.objects.create(name="物流组", name_en="Logistics")
    page = open_page(analyst, locale="zh-CN", viewport=DESKTOP)
    page.goto(f"{live_server.url}/metrics/")
    page.select_option("select[name=cut]", "team")
    shown = page.eval_on_selector_all(
        "#cut-value optgroup:not([hidden]) option", "options => options.map(o => o.textContent)"
    )
    assert shown == ["物流组"]
    page.select_option("#cut-value", str(logistics.pk))
    page.click("form:has(select[name=cut]) button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "物流组" in page.content()
    shot(page, "metrics-cut-zh-desktop")


def test_setup_checklist_in_both_languages(open_page, admin_user, live_server):
    for locale, viewport, title in (("zh-CN", DESKTOP, "配置清单"), ("en-US", PHONE, "Setup checklist")):
        page = open_page(admin_user, locale=locale, viewport=viewport)
        page.goto(f"{live_server.url}/settings/rules/")
        page.click("#setup-checklist-link")
        assert title in page.locator("h1").inner_text()
        assert page.locator("#check-routing[data-ok='0']").count() == 1  # a flushed database routes nothing
        shot(page, f"checklist-{locale}")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_metrics_journey_editor_and_sla_pages_fit_a_phone(open_page, admin_user, agent, live_server, locale):
    """At 390 px no page is wider than the screen (a wide table scrolls inside its card) and every column of
    the escalation chain, "Reaches for cases without a team" included, is on screen without scrolling."""
    if not Touchpoint.objects.exists():
        importlib.import_module("voxloop.insights.migrations.0002_default_touchpoints").seed(apps, None)
    EscalationLevel.objects.all().delete()
    EscalationLevel.objects.create(level=1, target=EscalationLevel.Target.TEAM_LEAD)
    EscalationLevel.objects.create(
        level=2, target=EscalationLevel.Target.NAMED_USER, user=agent, after_breach_minutes=240
    )
    User.objects.filter(pk=admin_user.pk).update(language="zh-hans" if locale == "zh-CN" else "en")
    page = open_page(admin_user, locale=locale, viewport=PHONE)
    for url in ("/metrics/", "/insights/journey/edit/", "/settings/rules/sla/"):
        page.goto(f"{live_server.url}{url}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{url} is {width} px wide on a {PHONE['width']} px phone"
    for cell in page.locator("#escalation-levels td.unteamed").all():
        box = cell.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
        assert cell.is_visible()
    label = "没有团队的工单通知谁" if locale == "zh-CN" else "Reaches for cases without a team"
    row = page.locator("#escalation-levels tbody tr").nth(1)
    assert row.evaluate("r => getComputedStyle(r.querySelector('td.unteamed'), '::before').content").strip('"') == label
    shot(page, f"sla-escalation-{locale}-phone")
