"""One view of the customer (issue 18.6) and the reply composer that tells the truth (issue 18.8): the
customer page, the case page's customer panel, the feedback page's case, where a reply goes before it is
sent, its preview, and the tracking link on the case page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.cases.models import Case, CaseStatus, Severity
from voxloop.cases.services import open_case, resolve_case
from voxloop.feedback.models import Customer
from voxloop.surveys.models import Response, Survey, SurveyKind


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def cases_of_one_customer(make_feedback, staffed_team, wang) -> tuple[Case, Case, Case]:
    """An old resolved case, an open one and the newest open one, all of customer C-9."""
    now = timezone.now()
    old = open_case([make_feedback(customer_id="C-9")], Severity.NORMAL, team=staffed_team, now=now - timedelta(days=9))
    resolve_case(old, wang, root_cause="logistics", resolution="重新发货", now=now - timedelta(days=8))
    first = open_case(
        [make_feedback(customer_id="C-9")], Severity.NORMAL, team=staffed_team, now=now - timedelta(days=2)
    )
    newest = open_case([make_feedback(customer_id="C-9")], Severity.URGENT, team=staffed_team, now=now)
    return old, first, newest


def case_numbers_in(html: str, *cases: Case) -> list[str]:
    """The given cases' numbers in the order they appear in the page."""
    found = sorted((html.find(f">{c.number}<"), c.number) for c in cases if html.find(f">{c.number}<") >= 0)
    return [number for _pos, number in found]


def test_customer_page_lists_their_cases_open_first_and_their_survey_answers(client, wang, cases_of_one_customer):
    old, first, newest = cases_of_one_customer
    customer = newest.customer
    survey = Survey.objects.create(name="售后满意度", kind=SurveyKind.CSAT)
    Response.objects.create(survey=survey, customer=customer, submitted_at=timezone.now(), channel="email",
                            csat=2, comment="处理太慢", editable_until=timezone.now())  # fmt: skip
    client.force_login(wang)
    html = client.get(reverse("feedback:customer", args=[customer.pk])).content.decode()
    section = html[html.index('id="customer-cases"') :]
    assert case_numbers_in(section, old, first, newest) == [newest.number, first.number, old.number]
    assert "Cases (3)" in html
    assert "售后满意度" in html and "CSAT 2/5" in html and "处理太慢" in html


def test_an_agent_of_another_team_sees_none_of_the_customers_cases(client, outsider, cases_of_one_customer):
    customer = cases_of_one_customer[0].customer
    client.force_login(outsider)
    html = client.get(reverse("feedback:customer", args=[customer.pk])).content.decode()
    assert "Cases (0)" in html
    assert not case_numbers_in(html, *cases_of_one_customer)


def test_case_page_customer_panel_names_the_other_open_cases(client, wang, cases_of_one_customer):
    old, first, newest = cases_of_one_customer
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[newest.pk])).content.decode()
    assert "This customer has 1 other open case." in html
    section = html[html.index('id="customer-cases"') :]
    assert case_numbers_in(section, old, first, newest) == [newest.number, first.number, old.number]
    assert "(this case)" in section
    assert "Recent feedback" in html


def test_feedback_page_shows_the_case_it_belongs_to(client, wang, outsider, cases_of_one_customer):
    newest = cases_of_one_customer[2]
    item = newest.feedback_items.get()
    client.force_login(wang)
    html = client.get(reverse("feedback:detail", args=[item.pk])).content.decode()
    assert f'href="/cases/{newest.pk}/"' in html and newest.number in html
    client.force_login(outsider)
    html = client.get(reverse("feedback:detail", args=[item.pk])).content.decode()
    assert newest.number not in html
    assert "belongs to a case of a team you do not work in" in html


def test_composer_names_the_channel_and_address_before_sending(client, wang, team_case):
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert 'data-route="email"' in html
    assert "Will be sent by email to wang.xiaoming@example.com" in html
    assert "Send reply" in html


def test_composer_says_before_sending_when_no_channel_reaches_the_customer(client, wang, team_case):
    Customer.objects.filter(pk=team_case.customer_id).update(email="")
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert 'data-route="none"' in html
    assert "This reply will not reach the customer by any channel." in html
    assert "The customer has no email address" in html
    assert "Save reply to the tracking page" in html
    assert team_case.tracking_token in html and "Copy link" in html


def test_route_follows_the_opt_out_rule_of_the_sender(wang, team_case):
    """An opted-out customer who wrote to us (web form) still gets replies, as notify sends them."""
    from voxloop.cases import delivery

    route = delivery.reply_route(team_case)
    assert (route.channel, route.address) == ("email", "wang.xiaoming@example.com")
    Customer.objects.filter(pk=team_case.customer_id).update(opted_out=True)
    case = Case.objects.select_related("customer").get(pk=team_case.pk)
    assert delivery.reply_route(case).will_send
    case.feedback_items.update(channel="review")  # built from a review only: nothing goes out
    route = delivery.reply_route(case)
    assert not route.will_send and "opted out" in route.not_sent_reason


def test_preview_shows_what_the_customer_reads_and_sends_nothing(client, wang, team_case):
    from voxloop.notify.models import OutgoingMessage

    before = OutgoingMessage.objects.count()
    client.force_login(wang)
    response = client.post(reverse("cases:reply_preview", args=[team_case.pk]), {"reply-text": "您好，已为您补发。"},
                           HTTP_HX_REQUEST="true")  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "您好，已为您补发。" in html and team_case.number in html  # the subject names the case
    assert team_case.tracking_token in html  # the mail carries the tracking link
    assert OutgoingMessage.objects.count() == before
    empty = client.post(reverse("cases:reply_preview", args=[team_case.pk]), {"reply-text": " "}).content.decode()
    assert "Write the reply first" in empty


def test_tracking_link_is_on_the_case_page_for_who_works_the_case(client, wang, analyst, team_case):
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert f"/t/{team_case.tracking_token}" in html or team_case.tracking_token in html
    client.force_login(analyst)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert team_case.tracking_token not in html
    assert "Send reply" not in html


def test_outsider_cannot_preview(client, outsider, team_case):
    client.force_login(outsider)
    assert client.post(reverse("cases:reply_preview", args=[team_case.pk]), {"reply-text": "x"}).status_code == 404


def test_customer_view_and_composer_in_chinese(wang, team_case):
    Customer.objects.filter(pk=team_case.customer_id).update(email="")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    for text in (
        "此回复无法通过任何渠道送达客户",
        "客户没有邮箱地址",
        "复制链接",
        "进度链接",
        "保存回复到进度页面",
        "本工单",
    ):
        assert text in html, text


def test_composer_in_a_browser_previews_and_copies(login_page, live_server, wang, team_case):
    Customer.objects.filter(pk=team_case.customer_id).update(email="")
    wang.set_password("pw-for-tests")
    wang.save()
    page = login_page(wang)
    page.goto(f"{live_server.url}/cases/{team_case.pk}/")
    expect(page.locator('.reply-route[data-route="none"]')).to_be_visible()
    page.fill("#id_reply-text", "您好，请在进度页面查看处理结果。")
    page.click("#reply-box button:has-text('预览')")
    expect(page.locator("#reply-preview .mail-preview")).to_contain_text("您好，请在进度页面查看处理结果。")
    expect(page.locator("#reply-preview")).to_contain_text("不会发送给客户")
    page.locator("#reply-box .copy-link").click()
    expect(page.locator("#reply-box .copy-link")).to_have_text("已复制")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(".tracking-card .tracking-url")).to_be_visible()
    assert team_case.status in (CaseStatus.NEW, CaseStatus.OPEN)
