"""The reports pages in a real Chromium, on a phone (390×844) in Chinese and English and on a desktop: the
archive, the preview, edit → approve → send with its delivery log, the comparison, "generate now" following its
progress, and the schedule editor. Screenshots go to /tmp/reports-pages/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail

from voxloop.accounts.models import Role
from voxloop.reports import services
from voxloop.reports.models import DeliveryStatus, Report, ReportKind, ReportSchedule, ReportState
from voxloop.reports.tests.fixtures import last_month, person, seed_complaints

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/reports-pages")
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
SLOW = 120_000  # ms: a click that renders a PDF (approve, send) waits for it


def open_page(browser, live_server, user, language: str, device: str):
    context = browser.new_context(locale=LANGUAGES[language], viewport=VIEWPORTS[device], is_mobile=device == "phone")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    context.set_default_timeout(SLOW)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return context, page, errors


def fits(page, device: str) -> None:
    """The page's own content needs no sideways scrolling (a table scrolls in its own box). The top bar is the
    site's: at 1280 px an administrator's English bar with every entry is wider than the window (see the report)."""
    width = VIEWPORTS[device]["width"]
    wider = page.evaluate(
        """w => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > w + 1
              && !e.closest('.table-scroll')).slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)""",
        width,
    )
    assert not wider, wider
    if device == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


@pytest.fixture
def people():
    return person("ada-admin", Role.ADMIN), person("ana-analyst", Role.ANALYST)


@pytest.fixture
def drafts(people):
    """Last month's draft and the month before's, so the comparison has two reports."""
    admin = people[0]
    period = last_month()
    seed_complaints(period.previous(), per_day=1)
    seed_complaints(period, per_day=2)
    made = []
    for p in (period.previous(), period):
        report = services.request_report(admin, ReportKind.MONTH, "zh-hans", period=p)
        made.append(services.generate_report(report.pk))
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_preview_edit_approve_send_on_a_phone(browser, live_server, people, drafts, language):
    SHOTS.mkdir(parents=True, exist_ok=True)
    admin, analyst = people
    report = drafts[-1]
    context, page, errors = open_page(browser, live_server, admin, language, "phone")
    try:
        page.goto(f"{live_server.url}/reports/")
        cards = page.locator("#report-list .report-card")
        assert cards.count() == 2
        assert page.locator(f"[data-report='{report.pk}'] [data-state=draft]").inner_text() == (
            "草稿" if language == "zh-hans" else "Draft"
        )
        assert page.locator(f"[data-report='{report.pk}'] a.compare").count() == 1
        fits(page, "phone")
        page.screenshot(path=str(SHOTS / f"list-phone-{language}.png"), full_page=True)

        page.click(f"[data-report='{report.pk}'] a.report-title")
        frame = page.frame_locator("#report-frame")
        frame.locator("body").wait_for()
        assert report.snapshot["period"]["label"] in frame.locator("body").inner_text()
        fits(page, "phone")
        page.screenshot(path=str(SHOTS / f"draft-phone-{language}.png"), full_page=True)

        page.fill("#id_summary", "本月快递延误投诉明显增多，需要与承运商沟通。")
        page.click("#save-text")
        page.wait_for_load_state("networkidle")
        assert page.locator(".messages").inner_text() == (
            "文字已保存。" if language == "zh-hans" else "The text is saved."
        )
        page.frame_locator("#report-frame").locator("body").wait_for()
        assert "本月快递延误投诉明显增多" in page.frame_locator("#report-frame").locator("body").inner_text()

        page.click("#approve")
        page.wait_for_load_state("networkidle")
        assert page.locator("#report-state").inner_text() == ("已审批" if language == "zh-hans" else "Approved")
        assert page.locator("#edit-form").count() == 0  # approved: the text is final

        page.locator("#send-form input[value='analyst']").check()
        page.fill("#id_external_addresses", "board@example.org")
        page.click("#send-form button#send")
        page.wait_for_load_state("networkidle")
        assert page.locator("#report-state").inner_text() == ("已发送" if language == "zh-hans" else "Sent")
        rows = page.locator("#deliveries tbody tr")
        assert rows.count() == 2
        statuses = sorted(rows.locator("[data-status]").evaluate_all("els => els.map(e => e.dataset.status)"))
        assert statuses == ["sent", "sent"]
        log = page.locator("#deliveries").inner_text()
        assert "ana-analyst@example.com" in log and "board@example.org" in log
        assert ("联系方式已脱敏" if language == "zh-hans" else "contacts masked") in log
        assert sorted(m.to[0] for m in mail.outbox) == ["ana-analyst@example.com", "board@example.org"]
        fits(page, "phone")
        page.screenshot(path=str(SHOTS / f"sent-phone-{language}.png"), full_page=True)

        page.click("#compare")
        page.wait_for_load_state("networkidle")
        assert page.locator("#compare-table tbody tr").count() == len(report.snapshot["status"]["kpis"])
        page.screenshot(path=str(SHOTS / f"compare-phone-{language}.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()
    assert Report.objects.get(pk=report.pk).state == ReportState.SENT
    assert set(Report.objects.get(pk=report.pk).deliveries.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.slow
def test_generate_now_follows_the_progress(browser, live_server, people):
    admin = people[0]
    seed_complaints(last_month(), per_day=1)
    # A report being generated (its task has not run yet): the page polls until it is a draft.
    waiting = Report.objects.create(kind="month", period_start=last_month().start, period_end=last_month().end,
                                    language="en", progress=40, created_by=admin)  # fmt: skip
    context, page, errors = open_page(browser, live_server, admin, "en", "desktop")
    try:
        page.goto(f"{live_server.url}/reports/{waiting.pk}/")
        bar = page.locator("#report-progress [role=progressbar]")
        assert bar.get_attribute("aria-valuenow") == "40"
        page.screenshot(path=str(SHOTS / "generating-desktop-en.png"), full_page=True)
        services.generate_report(waiting.pk)
        page.wait_for_selector("#report-state[data-state=draft]")
        page.frame_locator("#report-frame").locator("body").wait_for()

        # "Generate now" from the list: the report of the last complete week, in English.
        page.goto(f"{live_server.url}/reports/")
        page.select_option("#id_kind", "week")
        page.select_option("#id_language", "en")
        page.click("#generate-form button[type=submit]")
        page.wait_for_selector("#report-state[data-state=draft]")
        week = Report.objects.get(kind="week")
        assert page.url.endswith(f"/reports/{week.pk}/") and week.state == ReportState.DRAFT
        page.screenshot(path=str(SHOTS / "generated-desktop-en.png"), full_page=True)
        assert not errors, errors
    finally:
        context.close()


@pytest.mark.parametrize(("language", "device"), [("zh-hans", "phone"), ("en", "phone"), ("en", "desktop")])
def test_schedule_editor(browser, live_server, people, language, device):
    admin, _analyst = people
    context, page, errors = open_page(browser, live_server, admin, language, device)
    try:
        page.goto(f"{live_server.url}/reports/")
        page.click("#new-schedule")
        page.fill("#id_name", "季度服务质量报告")
        page.select_option("#id_kind", "quarter")
        page.locator("#field-recipient_roles input[value='manager']").check()
        page.fill("#id_external_addresses", "quality@example.com\nnot-an-address")
        page.locator("#id_approval_required").uncheck()
        page.click("#save-schedule")
        page.wait_for_load_state("networkidle")
        error = page.locator("#schedule-form [role=alert]").inner_text()
        assert error == ("not-an-address 不是有效的邮箱地址。" if language == "zh-hans"
                         else "not-an-address is not an e-mail address.")  # fmt: skip
        fits(page, device)
        page.screenshot(path=str(SHOTS / f"schedule-error-{device}-{language}.png"), full_page=True)
        page.fill("#id_external_addresses", "quality@example.com")
        page.click("#save-schedule")
        page.wait_for_load_state("networkidle")
        schedule = ReportSchedule.objects.get()
        assert (schedule.kind, schedule.recipient_roles, schedule.external_addresses, schedule.approval_required) == (
            "quarter",
            ["manager"],
            ["quality@example.com"],
            False,
        )
        card = page.locator(f"[data-schedule='{schedule.pk}']").inner_text()
        assert ("自动发送" if language == "zh-hans" else "Sent by itself") in card
        page.screenshot(path=str(SHOTS / f"schedules-{device}-{language}.png"), full_page=True)
        page.click(f"[data-schedule='{schedule.pk}'] a.report-title")
        assert page.locator("#id_name").input_value() == "季度服务质量报告"
        assert page.locator("#field-recipient_roles input[value='manager']").is_checked()
        assert not errors, errors
    finally:
        context.close()
