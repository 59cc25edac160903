"""The customer's tracking page on a phone, in a real headless Chromium: read the progress in Chinese, add
information, switch to English; no sideways scrolling and no console errors (CSP included)."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from voxloop.accounts.models import Role, User
from voxloop.cases.models import CaseEvent, EventKind, Severity
from voxloop.cases.services import add_reply, open_case
from voxloop.cases.tests.conftest import make_feedback, sla_defaults  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def phone(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, errors
    context.close()


def test_customer_follows_and_adds_to_a_case_on_a_phone(phone, live_server, make_feedback):  # noqa: F811
    page, errors = phone
    agent = User.objects.create_user("wang", password="x", role=Role.AGENT, first_name="伟", last_name="王")
    case = open_case([make_feedback("洗衣机漏水，地板都泡了")], Severity.IMPORTANT)
    add_reply(case, agent, "您好，维修师傅明天上午上门。")

    page.goto(f"{live_server.url}/t/{case.tracking_token}/")
    assert case.number in page.locator("h1").inner_text()
    assert page.locator(".status").inner_text() == "处理中"
    assert "您好，维修师傅明天上午上门。" in page.locator("ul.conversation").inner_text()
    assert "客服 伟" in page.locator("ul.conversation").inner_text()
    assert "王" not in page.locator("main").inner_text()
    expect(page.locator(".expected")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tracking-phone.png"), full_page=True)

    page.fill("textarea[name=text]", "补充：漏水是从底部流出来的，照片稍后发")
    page.click("button[type=submit]")
    page.wait_for_selector(".notice")
    assert "补充：漏水是从底部流出来的" in page.locator("ul.conversation li.customer").inner_text()
    assert CaseEvent.objects.filter(case=case, kind=EventKind.CUSTOMER_MESSAGE).count() == 1

    page.click("a[lang=en]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".status").inner_text() == "In progress"
    assert page.locator("html").get_attribute("lang") == "en"

    response = page.goto(f"{live_server.url}/t/not-a-real-token/")
    assert response.status == 404
    errors[:] = [e for e in errors if "404" not in e]  # the browser logs the 404 itself
    assert not errors, errors
