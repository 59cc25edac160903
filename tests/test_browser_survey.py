"""A customer answers a survey on a phone-sized screen, in Chinese, in a real headless Chromium (issue 5)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from voxloop.feedback.models import Customer
from voxloop.surveys.building import add_question, save_survey
from voxloop.surveys.invitations import create_link_invitation
from voxloop.surveys.models import Response

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def csat_invitation(db):
    survey = save_survey(
        None, name="售后回访", kind="csat", languages=["zh-hans", "en"], branding={"logo_text": "好家电"},
        texts={"title_zh": "您对这次售后服务满意吗？", "thank_you_zh": "感谢您的评价，我们会继续改进！"},
    )  # fmt: skip
    add_question(survey, kind="csat", dimension="speed", text_zh="响应速度", text_en="Speed")
    add_question(
        survey, kind="text", text_zh="很抱歉，哪里让您不满意？", text_en="What went wrong?",
        show_if={"question": 1, "lte": 2}, required=True,
    )  # fmt: skip
    customer = Customer.objects.create(external_id="C-7", name="李女士", email="li@example.com", language="zh-hans")
    return create_link_invitation(survey, customer=customer)


def test_a_customer_answers_a_survey_on_a_phone_in_chinese(page, live_server, csat_invitation):
    page.set_viewport_size(PHONE)
    url = f"{live_server.url}/s/{csat_invitation.token}/"
    page.goto(url)
    assert page.locator("h1").inner_text() == "您对这次售后服务满意吗？"
    expect(page.get_by_text("非常不满意").first).to_be_visible()
    # Everything fits the phone's width: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    why = page.locator("#q3")
    expect(why).to_be_hidden()  # "why?" waits for a low score
    page.locator("#q1 label.score", has_text="4").click()
    expect(why).to_be_hidden()
    page.locator("#q1 label.score", has_text="1").click()
    expect(why).to_be_visible()
    # The score buttons are big enough to tap.
    assert page.locator("#q1 label.score").first.bounding_box()["height"] >= 44
    page.locator("#q2 label.score", has_text="2").click()
    page.get_by_role("button", name="提交").click()
    # The "why?" was required after a low score: the page says so and records nothing.
    expect(page.get_by_text("请回答这个问题。")).to_be_visible()
    assert Response.objects.count() == 0
    page.locator("#q3 textarea").fill("上门维修等了五天，电话也没人接")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("感谢您的评价，我们会继续改进！")).to_be_visible()
    response = Response.objects.get()
    assert (response.csat, response.language, response.comment) == (1, "zh-hans", "上门维修等了五天，电话也没人接")
    assert {a.dimension: a.number for a in response.answers.exclude(number=None)} == {"overall": 1, "speed": 2}
    # Within the edit window the customer can change the answer; it stays one response.
    page.get_by_text("修改我的回答").click()
    page.locator("#q1 label.score", has_text="3").click()
    expect(why).to_be_hidden()
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_text("感谢您的评价")).to_be_visible()
    assert list(Response.objects.values_list("csat", "comment")) == [(3, "")]


def test_a_manager_adds_a_why_question_in_the_builder(login_page, manager, live_server):
    survey = save_survey(None, name="关系型 NPS", kind="nps", languages=["zh-hans", "en"])
    page = login_page(manager)
    page.goto(f"{live_server.url}/surveys/")
    page.get_by_role("link", name="关系型 NPS").click()
    page.select_option("#id_kind", "text")
    page.fill("#id_text_zh", "我们哪里做得不够好？")
    page.fill("#id_text_en", "What should we have done better?")
    assert "1. " in page.locator("#id_show_if_question").inner_text()  # the survey's score question, by its text
    page.select_option("#id_show_if_question", "1")
    page.select_option("#id_show_if_lte", "6")
    page.get_by_role("button", name="添加问题").click()
    expect(page.get_by_text("问题已添加。")).to_be_visible()
    expect(page.get_by_text("我们哪里做得不够好？")).to_be_visible()
    why = survey.questions.get(order=2)
    assert (why.kind, why.show_if) == ("text", {"question": 1, "lte": 6})
