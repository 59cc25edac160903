"""In Chromium, in both languages: an agent is assigned a case, sees the bell's count, opens the list and marks
the notification read; the bell follows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from voxloop.cases import outbox
from voxloop.cases.models import Severity
from voxloop.cases.services import assign_case, open_case
from voxloop.cases.tests.conftest import MONDAY_9

SHOTS = Path(os.environ.get("VOXLOOP_SCREENSHOTS", "/tmp/vx-notif/shots"))

TEXTS = {
    "zh-hans": {"list": "通知", "item": "分配给你", "mark": "标为已读", "empty": "没有未读通知"},
    "en": {"list": "Notifications", "item": "assigned case", "mark": "Mark as read", "empty": "Nothing unread"},
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_agent_sees_the_bell_opens_the_list_and_marks_read(
    login_page, live_server, page, team_agents, staffed_team, make_feedback, language
):
    wang = team_agents[0]
    wang.set_password("pw-for-tests")
    wang.save()
    case = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    assign_case(case, wang, actor=staffed_team.department.manager, now=MONDAY_9)
    outbox.process_case_events()
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    login_page(wang)
    page.goto(f"{live_server.url}/cases/")
    expect(page.locator("#bell .bell-count")).to_have_text("1")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"bell-{language}-desktop.png"))
    page.click("#bell")
    page.wait_for_load_state("networkidle")
    words = TEXTS[language]
    expect(page.locator("h1")).to_have_text(words["list"])
    item = page.locator(".notify-item.unread")
    expect(item).to_have_count(1)
    expect(item.locator(".notify-text")).to_contain_text(words["item"])
    expect(item.locator(".notify-text")).to_contain_text(case.number)
    page.screenshot(path=str(SHOTS / f"list-{language}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#bell")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"list-{language}-phone.png"), full_page=True)
    page.click(f"button.mark-read:has-text('{words['mark']}')")
    page.wait_for_load_state("networkidle")
    expect(page.locator(".notify-item.unread")).to_have_count(0)
    expect(page.locator("p.empty")).to_contain_text(words["empty"])
    expect(page.locator("#bell .bell-count")).to_have_count(0)
    # A new assignment shows up on the bell without a reload (htmx polls the count).
    other = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    assign_case(other, wang, actor=staffed_team.department.manager, now=MONDAY_9)
    outbox.process_case_events()
    page.evaluate("htmx.ajax('GET', '/notifications/bell/', {target: '#bell', swap: 'outerHTML'})")
    expect(page.locator("#bell .bell-count")).to_have_text("1")
