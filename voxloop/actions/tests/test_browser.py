"""The action page in a real Chromium: desktop and phone, Chinese and English; the effect chart draws, the table
is one click away, and a status button moves the action. Screenshots go to /tmp/actions/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import services
from voxloop.actions.models import ActionStatus, ImprovementAction
from voxloop.actions.tests.fixtures import implement, seed_feedback
from voxloop.metrics.services import rebuild

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = Path("/tmp/actions")
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def log_in(page, live_server, user) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def signed_in(browser, live_server, user, language: str):
    """A desktop page signed in as ``user`` in ``language`` (zh-CN, or en chosen in the top bar), and the list
    its page errors collect into."""
    context = browser.new_context(locale=language, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, user)
    if language == "en":
        with page.expect_navigation():
            page.select_option("select[name=language]", "en")
    return context, page, errors


@pytest.fixture
def measured(manager, agent):
    department = Department.objects.create(name="物流部", name_en="Logistics", manager=manager)
    today = timezone.localdate()
    implemented = today - timedelta(days=35)
    seed_feedback(implemented - timedelta(days=95), 130, per_day=25, rate_before=0.25, rate_after=0.1,
                  change_on=implemented, seed=4)  # fmt: skip
    action = services.create_action(manager, title="更换快递承运商", department=department, owner=agent,
                                    due_date=today - timedelta(days=40), topics=["delivery"])  # fmt: skip
    implement(manager, agent, action, implemented)
    services.measure_now(agent, action)
    return action


@pytest.mark.parametrize("language", ["zh-CN", "en"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_action_page_draws_the_effect_and_closes(browser, live_server, measured, manager, language, device):
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(locale=language, viewport=VIEWPORTS[device], is_mobile=device == "phone")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(page, live_server, manager)
        if language == "en":
            with page.expect_navigation():
                page.select_option("select[name=language]", "en")
        page.goto(f"{live_server.url}/actions/{measured.pk}/")
        page.wait_for_selector("[data-insight-chart=effect][data-rendered=true]", timeout=10000)
        verdict = page.locator("#verdict").inner_text()
        assert verdict == ("Effective" if language == "en" else "有效")
        explained = page.locator("#verdict-explained").inner_text()
        assert ("Complaints fell by" in explained) if language == "en" else ("投诉每千条减少了" in explained)
        assert "None" not in page.locator("main").inner_text()
        assert not page.locator("#effect-table table").is_visible()
        page.click("#effect-table summary")
        assert page.locator("#effect-table tbody tr").count() == 125  # 90 days before + 35 after
        page.screenshot(path=str(SHOTS / f"action-{device}-{language}.png"), full_page=True)
        # the page is no wider than the phone: nothing to scroll sideways but the table's own box
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORTS[device]["width"] + 1
        page.click("button[data-transition=close_effective]")
        page.wait_for_load_state("networkidle")
        assert ImprovementAction.objects.get(pk=measured.pk).status == ActionStatus.CLOSED_EFFECTIVE
        page.goto(f"{live_server.url}/actions/?tab=all&status=all")
        page.screenshot(path=str(SHOTS / f"list-{device}-{language}.png"), full_page=True)
    finally:
        context.close()
    assert not errors, errors


def test_trends_chart_marks_the_intervention_date(browser, live_server, manager, agent):
    SHOTS.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    implemented = today - timedelta(days=10)
    seed_feedback(today - timedelta(days=28), 28, per_day=6, rate_before=0.5, rate_after=0.2,
                  change_on=implemented, seed=8)  # fmt: skip
    rebuild(since=today - timedelta(days=30), until=today)
    department = Department.objects.create(name="物流部", manager=manager)
    action = services.create_action(manager, title="换快递", department=department, owner=agent,
                                    due_date=today, topics=["delivery"])  # fmt: skip
    implement(manager, agent, action, implemented)
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        log_in(page, live_server, manager)
        page.goto(f"{live_server.url}{reverse('dashboards:trends')}?period=30")
        marked = page.wait_for_selector("[data-insight-chart=topics][data-annotations]", timeout=10000)
        assert marked.get_attribute("data-annotations") == "1"
        page.screenshot(path=str(SHOTS / "trends-annotation.png"), full_page=True)
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_notice_preview_counts_previews_each_language_and_sends(browser, live_server, manager, agent, language):
    """The "we fixed it" page in Chromium: the count with every reason for skipping, a preview per customer
    language, and the send button, which logs each notice."""
    from django.core import mail

    from voxloop.actions.models import FixNotice
    from voxloop.analysis.models import FeedbackTopic
    from voxloop.feedback.models import Customer, Feedback

    SHOTS.mkdir(parents=True, exist_ok=True)
    department = Department.objects.create(name="物流部", name_en="Logistics", manager=manager)
    today = timezone.localdate()
    for i, (name, email, lang, opted_out) in enumerate([
        ("王芳", "wang@example.com", "zh-CN", False), ("Jane", "jane@example.com", "en", False),
        ("Out", "out@example.com", "", True), ("Nobody", "", "", False),
    ]):  # fmt: skip
        customer = Customer.objects.create(name=name, email=email, language=lang, opted_out=opted_out)
        item = Feedback.objects.create(
            channel="webform", source="t", external_id=f"n{i}", text="快递太慢", kind="complaint", customer=customer,
            received_at=timezone.now() - timedelta(days=10),
        )  # fmt: skip
        FeedbackTopic.objects.create(feedback=item, code="delivery", top_code="delivery")
    action = services.create_action(manager, title="更换快递承运商", department=department, owner=agent,
                                    due_date=today, topics=["delivery"])  # fmt: skip
    ImprovementAction.objects.filter(pk=action.pk).update(
        status=ActionStatus.CLOSED_EFFECTIVE, public_note="我们更换了快递公司，现在两天内送达。"
    )
    context, page, errors = signed_in(browser, live_server, manager, language)
    try:
        page.goto(f"{live_server.url}/actions/{action.pk}/")
        page.click("#notices-link")
        page.wait_for_selector("#notice-preview")
        assert page.locator("[data-count=recipients] strong").inner_text() == "2"
        # Both have an e-mail address and nothing else: the page says which channel the two notices take.
        assert page.locator("#notice-channels").inner_text() == ("(2 by email)" if language == "en" else "(通过电子邮件：2)")
        assert page.locator("[data-count=opted_out]").inner_text() == "1"
        assert page.locator("[data-count=no_address]").inner_text() == "1"
        previews = page.locator(".notice-preview")
        assert previews.count() == 2
        assert "You told us, we fixed it" in page.locator("[data-language=en]").inner_text()
        assert "尊敬的" in page.locator("[data-language=zh-hans]").inner_text()
        heading = page.locator("h1").inner_text()
        assert heading == ("You told us, we fixed it" if language == "en" else "您反馈的问题，我们已经改进")
        page.screenshot(path=str(SHOTS / f"notices-{language}.png"), full_page=True)
        page.click("#send-notices")
        page.wait_for_selector("#notice-log")
        assert FixNotice.objects.filter(action=action, status="sent").count() == 2 and len(mail.outbox) == 2
        assert page.locator("[data-count=already_told]").inner_text() == "2"
        assert page.locator("#send-notices").count() == 0  # nobody left to tell
        assert not errors
    finally:
        context.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_customers_answers_overrule_the_verdict_on_the_action_page(browser, live_server, manager, agent, language):
    """Ten customers told of the fix answer "is it fixed for you?", eight of them "no": the page shows the
    verdict turned inconclusive, the counts with their interval, and the warning saying why."""
    from datetime import date

    from voxloop.actions.tests.fixtures import answer_notices, told_action

    SHOTS.mkdir(parents=True, exist_ok=True)
    today = date(2026, 6, 1)
    action = told_action(manager, agent, today, 12)
    answer_notices(action, [1, 2, 1, 1, 3, 2, 1, 1, 2, 5])
    services.measure_effect(action, today=today)
    context, page, errors = signed_in(browser, live_server, manager, language)
    try:
        page.goto(f"{live_server.url}/actions/{action.pk}/")
        page.wait_for_selector("[data-insight-chart=effect][data-rendered=true]", timeout=10000)
        assert page.locator("#verdict").inner_text() == ("Inconclusive" if language == "en" else "尚无定论")
        said = page.locator("#confirmation").inner_text()
        if language == "en":
            assert "10 customers told of the fix answered" in said and "8 not fixed" in said
            assert "Most say it is not fixed" in said
        else:
            assert "10 位已获告知的客户" in said and "8 位说未解决" in said and "多数人说问题没有解决" in said
        assert page.locator("#effect-warnings li").count() >= 1
        page.locator("#effect").screenshot(path=str(SHOTS / f"confirmation-{language}.png"))
    finally:
        context.close()
    assert not errors, errors
