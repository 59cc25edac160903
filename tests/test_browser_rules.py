"""Rules and SLA settings in a real headless Chromium, in Chinese: an admin builds a rule from rows and
loads a holiday list."""

import importlib

import pytest
from django.apps import apps

from voxloop.automation.models import AutomationRule
from voxloop.cases.models import BusinessCalendar, Holiday

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def defaults(db):
    if BusinessCalendar.objects.filter(is_default=True).exists():
        return  # still there from the migrations (a transactional test flushes them afterwards)
    importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies").create_defaults(apps, None)


def test_admin_builds_a_rule_and_loads_holidays(login_page, admin_user, live_server, defaults):
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/settings/rules/automation/new/")
    assert "自动化规则" in page.locator("h1").inner_text()
    page.fill("#rule-form input[name=name]", "差评开工单")
    page.select_option("select[name=cond-0-field]", "sentiment")
    page.select_option("select[name=cond-0-op]", "eq")
    page.select_option("select[name=cond-0-values]", "sentiment:negative")  # chosen from the list, not typed
    page.select_option("select[name=open_case]", "important")
    page.click("#rule-form button[name=save]")
    page.wait_for_load_state("networkidle")
    assert "差评开工单" in page.locator("#automation-rules").inner_text()
    rule = AutomationRule.objects.get(name="差评开工单")
    assert rule.conditions == [{"field": "sentiment", "op": "eq", "value": "negative"}]
    assert rule.actions == [{"type": "open_case", "severity": "important"}]

    calendar = BusinessCalendar.objects.get(is_default=True)
    before = list(Holiday.objects.filter(calendar=calendar).values_list("date", "kind", "name"))
    page.goto(f"{live_server.url}/settings/rules/sla/calendars/{calendar.pk}/")
    page.fill("#holiday-upload textarea[name=text]", "2027-01-01,holiday,元旦\n2027-13-01,holiday,错\n")
    page.click("#holiday-upload button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "第 2 行" in page.locator("#holiday-errors").inner_text()
    # Nothing changed: the library's 2027 days stay as they were, and the bad list added none of its own.
    assert list(Holiday.objects.filter(calendar=calendar).values_list("date", "kind", "name")) == before
