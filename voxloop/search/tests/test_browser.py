"""The top-bar search in a real Chromium, in Chinese and in English."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from voxloop.cases.models import Case
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _store(*texts: str) -> None:
    ingest_feedback(
        [
            FeedbackInput(
                text=text,
                channel="webform",
                received_at=datetime(2026, 11, 2, 9, n, tzinfo=UTC),
                source="browser",
                external_id=str(n),
            )
            for n, text in enumerate(texts)
        ]
    )


def test_top_bar_search_in_chinese_and_english(settings, login_page, agent, live_server):
    settings.ANALYZE_ON_INGEST = False
    _store("這個月的賬單不對<i>!</i>", "账单金额重复扣款", "物流太慢了")
    page = login_page(agent)

    box = page.get_by_role("search").first.locator("input[name=q]")
    box.fill("账单")
    box.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#search-summary")).to_contain_text("2 条结果")
    expect(page.locator("#search-feedback h2")).to_contain_text("反馈")
    marks = page.locator("#search-feedback mark")
    expect(marks).to_have_count(2)
    assert set(marks.all_inner_texts()) == {"账单", "賬單"}
    # The customer's markup is shown as text, never rendered.
    assert page.locator("#search-feedback i").count() == 0
    expect(page.locator("#search-feedback")).to_contain_text("<i>!</i>")

    page.select_option("select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    box = page.get_by_role("search").first.locator("input[name=q]")
    box.fill("物流 太慢")
    box.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#search-summary")).to_contain_text("1 result for")
    expect(page.locator("#search-feedback h2")).to_contain_text("Feedback")
    # Adjacent matched words are marked as one stretch.
    expect(page.locator("#search-feedback mark")).to_have_text(["物流太慢"])


@pytest.mark.parametrize(
    ("language", "viewport", "summary"),
    [
        ("zh-hans", {"width": 1440, "height": 900}, "2 条结果（“配网 失败”）"),
        ("en", {"width": 390, "height": 844}, "2 results for “配网 失败”"),
    ],
)
def test_feedback_inbox_search_shows_the_count_and_marks_the_words(
    settings, login_page, agent, live_server, language, viewport, summary
):
    settings.ANALYZE_ON_INGEST = False
    _store("App配网总是失败，重置也没用", "配網失敗三次了", "物流太慢了")
    page = login_page(agent)
    page.set_viewport_size(viewport)
    if language == "en":
        page.select_option("select[name=language]", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/feedback/?q=配网+失败")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#inbox-summary")).to_have_text(summary)
    expect(page.locator("tr.inbox-row")).to_have_count(2)
    marks = page.locator("tr.inbox-row mark")
    # Both words marked in both rows, the Traditional spelling too; adjacent matches as one stretch.
    assert sorted(marks.all_inner_texts()) == ["失败", "配網失敗", "配网"]
    page.screenshot(path=f"/tmp/desk/feedback-search-{language}-{viewport['width']}.png", full_page=True)


@pytest.mark.parametrize(
    ("language", "viewport", "summary"),
    [
        ("zh-hans", {"width": 1440, "height": 900}, "此列表中有 1 个工单匹配“配网 失败”"),
        ("en", {"width": 390, "height": 844}, "1 case matches “配网 失败” in this list"),
    ],
)
def test_case_list_search_box_counts_and_marks(
    settings, login_page, agent, team, live_server, language, viewport, summary
):
    settings.ANALYZE_ON_INGEST = False
    Case.objects.create(number="C0000501", title="App配网总是失败，客户很着急", team=team)
    Case.objects.create(number="C0000502", title="退款一直没到账", team=team)
    page = login_page(agent)
    page.set_viewport_size(viewport)
    if language == "en":
        page.select_option("select[name=language]", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/cases/?tab=all")
    box = page.locator("form.filters input[name=q]")
    box.fill("配网 失败")
    box.press("Enter")
    page.wait_for_load_state("networkidle")
    expect(page.locator("#inbox-summary")).to_have_text(summary)
    expect(page.locator("tr.case-row")).to_have_count(1)
    expect(page.locator("tr.case-row mark")).to_have_text(["配网", "失败"])
    page.screenshot(path=f"/tmp/desk/case-search-{language}-{viewport['width']}.png", full_page=True)
