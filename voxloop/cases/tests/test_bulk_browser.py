"""Bulk actions on the case list in a real Chromium: in Chinese on a desktop, in English on a phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.cases.models import Case, CaseStatus, Severity
from voxloop.cases.services import open_case, resolve_case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/desk")


@pytest.fixture
def two_cases(make_feedback, team, manager) -> tuple[Case, Case]:
    now = timezone.now()
    working = open_case([make_feedback("快递三天没到")], Severity.NORMAL, team=team, now=now)
    resolved = open_case([make_feedback("包装破损", customer_id="C-2")], Severity.NORMAL, team=team, now=now)
    resolve_case(resolved, manager, root_cause="logistics", resolution="已补发")
    return working, resolved


@pytest.mark.parametrize(
    ("language", "viewport", "expected"),
    [
        (
            "zh-hans",
            {"width": 1440, "height": 900},
            ("已完成 1 行", "1 行被拒绝", "工单不能在此从 已解决 变为 等待客户回复"),
        ),
        ("en", {"width": 390, "height": 844}, ("Done for 1 row", "Refused for 1 row", "cannot go from Resolved to")),
    ],
)
def test_status_change_for_two_cases_reports_what_was_done_and_refused(
    settings, login_page, live_server, manager, two_cases, language, viewport, expected
):
    settings.ANALYZE_ON_INGEST = False
    working, resolved = two_cases
    page = login_page(manager)
    if language == "en":
        page.select_option("select[name=language]", "en")  # the top bar's language switch
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.set_viewport_size(viewport)
    page.goto(f"{live_server.url}/cases/?tab=all")
    page.wait_for_load_state("networkidle")
    bar = page.locator("#bulk-form")
    # Only the field of the chosen action shows.
    bar.locator("select[name=action]").select_option("status")
    expect(bar.locator("select[name=status]")).to_be_visible()
    expect(bar.locator("input[name=tag]")).to_be_hidden()
    page.check(f'input[name=ids][value="{working.pk}"]')
    page.check(f'input[name=ids][value="{resolved.pk}"]')
    expect(bar.locator(".bulk-count")).to_contain_text("2")
    bar.locator("select[name=status]").select_option(CaseStatus.PENDING_CUSTOMER)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"bulk-bar-{language}-{viewport['width']}.png"), full_page=True)
    bar.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    summary = page.locator(".bulk-summary")
    done, refused_head, reason = expected
    expect(summary).to_contain_text(done)
    expect(summary.locator(".bulk-refs")).to_have_text(working.number)
    expect(summary).to_contain_text(refused_head)
    expect(summary.locator(".bulk-refused li")).to_contain_text(resolved.number)
    expect(summary.locator(".bulk-refused li")).to_contain_text(reason)
    page.screenshot(path=str(SHOTS / f"bulk-summary-{language}-{viewport['width']}.png"), full_page=True)
    assert Case.objects.get(pk=working.pk).status == CaseStatus.PENDING_CUSTOMER
    assert Case.objects.get(pk=resolved.pk).status == CaseStatus.RESOLVED
    # Select-all picks every row of the page.
    page.check("[data-bulk-all]")
    assert page.locator("input[name=ids]:checked").count() == page.locator("input[name=ids]").count()
