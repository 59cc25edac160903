"""The foundation in a real headless Chromium: log in, filter the inbox, read an item, send the
public form on a phone, import a GBK CSV through the UI, switch language."""

from pathlib import Path

import pytest

from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback, ImportBatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def add(text, channel="review", **extra):
    item = prepare_feedback({"text": text, "received_at": "2025-03-05 10:00", **extra}, channel=channel, source="b")
    return ingest_feedback([item]).created[0]


def test_agent_filters_inbox_in_chinese_and_sees_script_as_text(login_page, agent, live_server):
    add("物流太慢了，等了一个星期", phone="13800138000")
    add("客服态度很好", channel="hotline")
    evil = add('<script>document.title="pwned"</script>差评')
    page = login_page(agent)
    assert page.url.endswith("/feedback/")
    page.fill("form.filters input[name=q]", "物流")  # the inbox's own filter, not the top bar's search
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    rows = page.locator("tr.inbox-row")
    assert rows.count() == 1
    assert "物流太慢了" in rows.first.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)
    page.goto(f"{live_server.url}/feedback/{evil}/")
    assert page.title() != "pwned"
    assert '<script>document.title="pwned"</script>' in page.locator(".feedback-text").inner_text()


def test_correcting_sentiment_is_one_click(login_page, agent, live_server):
    pk = add("还行吧")
    page = login_page(agent)
    page.goto(f"{live_server.url}/feedback/{pk}/")
    page.click("button[data-field=sentiment][value=negative]")
    page.wait_for_selector("button[data-field=sentiment][value=negative].selected")
    assert Feedback.objects.get(pk=pk).sentiment == "negative"
    assert Feedback.objects.get(pk=pk).corrections.get().user == agent


def test_public_form_on_a_phone_in_chinese(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)  # fmt: skip
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/f/")
    assert page.locator("h1").inner_text() == "告诉我们您的想法" or page.locator("h1").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    page.check("input[name=rating][value='2']")
    page.fill("textarea[name=text]", "在手机上反馈：安装师傅迟到了两个小时 😠")
    page.fill("input[name=phone]", "13912345678")
    page.click("button[type=submit]")
    page.wait_for_selector(".thanks")
    context.close()
    assert not errors
    item = Feedback.objects.get()
    assert (item.channel, item.rating, item.customer.phone) == ("webform", 2, "13912345678")
    assert item.text.endswith("😠")


def test_import_a_gbk_csv_through_the_ui(login_page, agent, live_server, tmp_path):
    path = tmp_path / "淘宝评价.csv"
    path.write_bytes(
        "评价ID,评价内容,评价时间,评分\nT1,包装很好,2025-03-05 10:00,5\nT2,,2025-03-05 11:00,1\n".encode("gbk")
    )
    page = login_page(agent)
    page.goto(f"{live_server.url}/imports/new/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=channel]", "review")
    page.fill("input[name=source]", "taobao-ui")
    page.click("form.card button[type=submit]")
    page.wait_for_selector("form.mapping-form")
    assert page.locator("select[name=map_text]").input_value() == "评价内容"
    assert "包装很好" in page.locator("table.preview").inner_text()  # decoded from GBK
    page.click("form.mapping-form button[type=submit]")
    page.wait_for_selector("[data-status=completed]")
    assert page.locator("dd.accepted").inner_text() == "1"
    assert page.locator("dd.rejected").inner_text() == "1"
    assert "empty_text" in page.locator("table.quarantine").inner_text()
    # The reason was written by the import worker; the Chinese page gives it in Chinese.
    assert "列“评价内容”：反馈内容为空。" in page.locator("table.quarantine").inner_text()
    batch = ImportBatch.objects.get()
    assert (batch.encoding, batch.accepted_count, batch.rejected_count) == ("gb18030", 1, 1)


def test_language_switch_to_english(login_page, agent, live_server):
    page = login_page(agent)
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert "Feedback inbox" in page.locator("h1").inner_text()
