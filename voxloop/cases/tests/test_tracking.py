"""The customer's tracking page: what it shows and hides, its language, the same 404 for wrong and expired
tokens, rate limiting, and the form that adds information (un-pauses, reopens, or goes on as new feedback)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.automation.models import AutomationRule
from voxloop.automation.services import apply_rules
from voxloop.cases import tracking
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind, Severity
from voxloop.cases.services import add_reply, merge_cases, open_case, resolve_case, set_status
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


@pytest.fixture
def wang(db, team) -> User:
    user = User.objects.create_user(
        "wang-wei-agent", password="x", role=Role.AGENT, first_name="伟", last_name="王", email="wang.wei@corp.example"
    )
    user.teams.add(team)
    return user


@pytest.fixture
def case(make_feedback) -> Case:
    return open_case([make_feedback("快递三天了还没到")], Severity.URGENT, now=timezone.now())


def url(case: Case) -> str:
    return reverse("tracking:page", args=[case.tracking_token])


def test_page_shows_status_expected_time_and_public_replies_only(client, case, wang):
    add_reply(case, wang, "您好，已联系快递，明天送达。")
    add_reply(case, wang, "内部：客户很生气，注意语气", public=False)
    response = client.get(url(case), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert response.status_code == 200
    assert case.number in html
    assert "处理中" in html  # open after the first reply, in the customer's words
    assert "您好，已联系快递，明天送达。" in html
    assert "伟" in html
    # Never internal notes, never more of the agent than the first name.
    for secret in ("内部：客户很生气", "王", "wang-wei-agent", "wang.wei@corp.example"):
        assert secret not in html
    case.refresh_from_db()
    local_due = timezone.localtime(case.resolution_due_at, timezone.get_fixed_timezone(8 * 60))
    assert f"{local_due:%H:%M}" in html and "Asia/Shanghai" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert response.headers["Cache-Control"].startswith("max-age=0")
    assert response.headers["Referrer-Policy"] == "same-origin"  # the token never leaks through a link


def test_unknown_and_expired_tokens_get_the_same_plain_404(client, case, agent, make_feedback):
    resolve_case(case, agent, root_cause="logistics", resolution="已补发")
    set_status(case, CaseStatus.CLOSED, agent)
    assert client.get(url(case)).status_code == 200  # closed, but the link still works for a while
    Case.objects.filter(pk=case.pk).update(tracking_expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.get(url(case), HTTP_ACCEPT_LANGUAGE="en")
    unknown = client.get(reverse("tracking:page", args=["x" * 32]), HTTP_ACCEPT_LANGUAGE="en")
    too_long = client.get(reverse("tracking:page", args=["y" * 300]), HTTP_ACCEPT_LANGUAGE="en")
    assert expired.status_code == unknown.status_code == too_long.status_code == 404
    assert expired.content == unknown.content == too_long.content
    assert case.number.encode() not in expired.content
    posted = client.post(url(case), {"text": "还在吗"})
    assert posted.status_code == 404
    assert not CaseEvent.objects.filter(kind=EventKind.CUSTOMER_MESSAGE).exists()


def test_merged_case_link_shows_the_surviving_case(client, make_feedback):
    target = open_case([make_feedback("第一次", customer_id="C-M")])
    duplicate = open_case([make_feedback("第二次", customer_id="C-M")])
    merge_cases(target, [duplicate])
    html = client.get(url(duplicate)).content.decode()
    assert target.number in html and duplicate.number not in html


@pytest.mark.parametrize(
    ("case_language", "customer_language", "browser", "query", "expected"),
    [
        ("en", "zh-hans", "zh-hans", "", "In progress"),  # the case's language first
        ("", "en", "zh-hans", "", "In progress"),  # then the customer's
        ("", "", "en-US,en;q=0.9", "", "In progress"),  # then the browser's
        ("", "", "zh-CN,zh;q=0.9", "", "处理中"),
        ("en", "", "en", "?lang=zh-hans", "处理中"),  # the page's own switch wins
    ],
)
def test_page_speaks_the_customers_language(
    client, case, wang, case_language, customer_language, browser, query, expected
):
    add_reply(case, wang, "hello")
    Case.objects.filter(pk=case.pk).update(language=case_language)
    Customer.objects.filter(pk=case.customer_id).update(language=customer_language)
    response = client.get(url(case) + query, HTTP_ACCEPT_LANGUAGE=browser)
    assert expected in response.content.decode()
    assert response.headers["Content-Language"] == ("en" if expected == "In progress" else "zh-hans")


# --- the customer adds information ------------------------------------------------------------------------


def post(client: Client, case: Case, text: str, submission_id: str = "s-1", website: str = "", **headers):
    return client.post(url(case), {"text": text, "submission_id": submission_id, "website": website}, **headers)


def test_message_is_stored_as_feedback_linked_to_the_case(client, case):
    response = post(client, case, "订单号 A123，地址是北京市朝阳区")
    assert response.status_code == 302
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "订单号 A123" in page
    feedback = Feedback.objects.get(source="tracking")
    assert (feedback.channel, feedback.text) == ("webform", "订单号 A123，地址是北京市朝阳区")
    assert feedback.customer_id == case.customer_id
    assert feedback.thread_key == f"case:{case.pk}"
    assert CaseFeedback.objects.filter(case=case, feedback=feedback).exists()
    event = CaseEvent.objects.get(case=case, kind=EventKind.CUSTOMER_MESSAGE)
    assert event.payload["feedback_id"] == feedback.pk
    assert event.actor is None


def test_the_same_submission_twice_is_stored_once(client, case):
    post(client, case, "补充信息", submission_id="double-click")
    post(client, case, "补充信息", submission_id="double-click")
    assert Feedback.objects.filter(source="tracking").count() == 1
    assert CaseEvent.objects.filter(kind=EventKind.CUSTOMER_MESSAGE).count() == 1


def test_empty_message_gets_a_clear_error_and_a_honeypot_stores_nothing(client, case):
    response = post(client, case, "   ", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Please write your message before sending." in response.content.decode()
    too_long = post(client, case, "长" * 5001, submission_id="s-2")
    assert too_long.status_code == 400
    assert "5000" in too_long.content.decode()
    bot = post(client, case, "cheap pills", submission_id="s-3", website="http://spam.example")
    assert bot.status_code == 302
    assert not Feedback.objects.filter(source="tracking").exists()
    assert not CaseEvent.objects.filter(kind=EventKind.CUSTOMER_MESSAGE).exists()


def test_the_form_needs_its_csrf_token(case):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(case), {"text": "hello", "submission_id": "x"}).status_code == 403
    page = strict.get(url(case))
    token = page.cookies["csrftoken"].value
    ok = strict.post(url(case), {"text": "hello", "submission_id": "x", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_message_resumes_a_case_waiting_on_the_customer(client, case, agent):
    set_status(case, CaseStatus.PENDING_CUSTOMER, agent)
    post(client, case, "照片已经拍好了")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert case.paused_since is None


def test_message_reopens_a_resolved_case(client, case, agent):
    resolve_case(case, agent, root_cause="logistics", resolution="已补发")
    post(client, case, "还是没收到")
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert CaseEvent.objects.get(case=case, kind=EventKind.REOPENED).payload["reason"] == "customer_message"


def test_message_on_a_recently_closed_case_reopens_it(client, case, agent, settings):
    """The tracking page follows CLOSED_CASE_REOPEN_DAYS as an emailed reply does."""
    settings.CLOSED_CASE_REOPEN_DAYS = 7
    resolve_case(case, agent, root_cause="logistics", resolution="已补发")
    set_status(case, CaseStatus.CLOSED, agent)
    response = post(client, case, "又坏了")
    assert response["Location"].endswith("sent=1")
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    feedback = Feedback.objects.get(source="tracking")
    assert CaseFeedback.objects.filter(case=case, feedback=feedback).exists()


def test_message_on_a_case_closed_long_ago_opens_a_linked_follow_up(client, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 7
    resolve_case(case, agent, root_cause="logistics", resolution="已补发")
    set_status(case, CaseStatus.CLOSED, agent)
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=8))
    response = post(client, case, "又坏了")
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED  # closed stays closed
    follow_up = Case.objects.get(repeat_of=case)
    # the customer is taken to the new case's own page, told what happened, in their language
    assert reverse("tracking:page", args=[follow_up.tracking_token]) + "?" in response["Location"]
    assert response["Location"].endswith("sent=new")
    page = client.get(response["Location"]).content.decode()
    assert follow_up.number in page
    assert "新建了这个工单" in page  # the customer wrote in Chinese: told so in Chinese
    feedback = Feedback.objects.get(source="tracking")
    assert CaseFeedback.objects.filter(case=follow_up, feedback=feedback).exists()
    event = CaseEvent.objects.get(case=case, kind=EventKind.CUSTOMER_MESSAGE)
    assert (event.payload["linked"], event.payload["follow_up_case_id"]) == (False, follow_up.pk)


def test_with_no_reopen_window_every_message_on_a_closed_case_opens_a_follow_up(client, case, agent, settings):
    settings.CLOSED_CASE_REOPEN_DAYS = 0
    resolve_case(case, agent, root_cause="logistics", resolution="已补发")
    set_status(case, CaseStatus.CLOSED, agent)
    post(client, case, "又坏了")
    assert Case.objects.filter(repeat_of=case).count() == 1


def test_rules_see_a_linked_message_as_part_of_its_case(client, case):
    AutomationRule.objects.all().delete()
    rule = AutomationRule(
        name="all complaints", conditions=[{"field": "kind", "op": "eq", "value": "complaint"}],
        actions=[{"type": "open_case", "severity": "normal"}],
    )  # fmt: skip
    rule.full_clean()
    rule.save()
    post(client, case, "怎么还没到，太慢了")
    feedback = Feedback.objects.get(source="tracking")
    Feedback.objects.filter(pk=feedback.pk).update(kind="complaint", analysis_status=AnalysisStatus.DONE)
    FeedbackAnalysis.objects.create(feedback=feedback, kind="complaint", model_version="t", analysed_at=timezone.now())
    result = apply_rules([feedback.pk])
    assert result.cases_opened == []
    assert result.already_in_case == 1
    assert Case.objects.count() == 1


def test_message_text_is_shown_as_text(client, case):
    post(client, case, '<script>alert("x")</script>')
    html = client.get(url(case)).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_tracking_pages_are_rate_limited_whatever_the_token(client, case, settings):
    settings.TRACKING_RATE = "3/m"
    codes = [client.get(url(case)).status_code for _ in range(3)]
    codes.append(client.get(reverse("tracking:page", args=["guess"])).status_code)
    codes.append(post(client, case, "hello").status_code)
    assert codes == [200, 200, 200, 429, 429]
    assert not Feedback.objects.filter(source="tracking").exists()


def test_language_helpers():
    assert tracking.normalise_language("zh_CN") == "zh-hans"
    assert tracking.normalise_language("en-GB") == "en"
    assert tracking.normalise_language("fr") is None
    assert tracking.normalise_language("") is None
