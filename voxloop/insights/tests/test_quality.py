"""The analysis-quality page: agreement with people's corrections over time, per label and per topic, the
topic confusion, the model version, and the items without a topic as a work list; zh and en; desktop and
phone in Chromium."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.analysis.models import Correction, Topic
from voxloop.insights.quality import quality
from voxloop.metrics.queries import Period
from voxloop.metrics.tests.conftest import make_feedback

SH = ZoneInfo("Asia/Shanghai")
PARAMS = {"period": "custom", "start": "2026-03-01", "end": "2026-03-31"}
SHOTS = Path(os.environ.get("VOXLOOP_SCREENSHOTS", "/tmp/analysis"))


def at(day: int) -> datetime:
    return datetime(2026, 3, day, 12, tzinfo=SH)


def correct(item, field: str, value, day: int) -> None:
    c = Correction.objects.create(feedback=item, field=field, old_value=None, new_value=value, model_version="test")
    Correction.objects.filter(pk=c.pk).update(created_at=at(day))


@pytest.fixture
def corrected(db):
    """Week of 2 March: 4 sentiment corrections, the model right on 1 (it says negative, people too) and wrong on
    3; week of 16 March: 2, both right. Topics: the model said logistics where people said quality (twice) and
    price where people agreed. Plus two analysed items without any topic, one with a phone number in it."""
    for code, zh, en in [("logistics", "物流配送", "Logistics and delivery"), ("quality", "产品质量", "Product quality"),
                         ("price", "价格与费用", "Price")]:  # fmt: skip
        Topic.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en})
    items = []
    for i, (model, person) in enumerate([("negative", "negative"), ("positive", "negative"), ("neutral", "negative"),
                                         ("positive", "neutral")]):  # fmt: skip
        item = make_feedback(at(3), sentiment=model, kind="praise", topics=("logistics",))
        correct(item, "sentiment", person, 3 + i % 2)
        items.append(item)
    for _ in range(2):
        item = make_feedback(at(17), sentiment="positive", topics=("price",))
        correct(item, "sentiment", "positive", 17)
        correct(item, "topics", ["price"], 17)
    correct(items[1], "topics", ["quality"], 4)
    correct(items[2], "topics", ["quality.defect"], 4)
    make_feedback(at(20), sentiment="negative", text="机器坏了，请联系13812345678")
    make_feedback(at(21), sentiment="neutral", text="请问怎么安装")
    return items


def test_agreement_over_time_per_label_per_topic_and_confusion(corrected):
    result = quality(Period(date(2026, 3, 1), date(2026, 3, 31)))
    assert result.corrections == 10
    week1, week3 = date(2026, 3, 2), date(2026, 3, 16)
    sentiment = result.over_time["sentiment"]
    assert (sentiment[week1].n, sentiment[week1].agree) == (4, 1) and sentiment[week3].rate == 1.0
    assert result.per_label[("sentiment", "negative")].n == 3 and result.per_label[("sentiment", "negative")].agree == 1
    assert result.per_label[("sentiment", "positive")].rate == 1.0
    assert result.per_topic["logistics"].precision == 0.0 and result.per_topic["quality"].recall == 0.0
    assert result.per_topic["price"].precision == 1.0 and result.per_topic["price"].recall == 1.0
    assert result.confusions == {("logistics", "quality"): 2}  # a sub-topic counts as its top-level topic
    assert result.untopiced_total == 2
    assert [i["text"] for i in result.untopiced][0].startswith("请问怎么安装")  # newest first
    assert "13812345678" not in result.untopiced[1]["text"]  # masked


@pytest.mark.parametrize(("language", "words"), [
    ("en", ["Analysis quality", "corrections over time", "Topic confusion",
            "Items without a topic", "Logistics and delivery → Product quality"]),
    ("zh-hans", ["分析质量", "与人工更正的一致率（随时间）", "主题混淆", "没有主题的条目", "物流配送 → 产品质量"]),
])  # fmt: skip
def test_page_in_both_languages_linked_from_the_insights_navigation(client, analyst, corrected, language, words):
    client.force_login(analyst)
    with translation.override(language):
        response = client.get("/insights/quality/", PARAMS, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    body = response.content.decode()
    for word in words[:4]:
        assert word in body, word
    options = json.loads(json.dumps(response.context["chart_options"]))
    assert options["topic_confusion"]["yAxis"]["data"] == [words[4]]
    assert 'href="/insights/quality/"' in body  # the insights tab bar links the page
    assert "机器坏了" in body and "13812345678" not in body
    # the per-label bars open the inbox with that label
    assert "sentiment=negative" in options["agreement_per_label"]["series"][0]["data"][0]["url"]
    csv = client.get("/insights/quality/", {**PARAMS, "export": "csv", "chart": "topic_confusion"})
    assert csv.status_code == 200


def test_without_corrections_the_page_says_what_to_do(client, analyst, db):
    client.force_login(analyst)
    response = client.get("/insights/quality/", PARAMS, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Nobody corrected an analysis in this period" in response.content.decode()


def test_roles_without_the_insights_capability_are_refused(client, agent, db):
    client.force_login(agent)
    assert client.get("/insights/quality/", PARAMS).status_code == 403


def test_a_bad_period_is_a_message_not_an_error(client, analyst, db):
    client.force_login(analyst)
    response = client.get("/insights/quality/", {"period": "custom", "start": "2026-13-45"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    response = client.get("/insights/quality/", {**PARAMS, "channel": "email"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "clear the filter" in response.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_analyst_reads_the_page_on_desktop_and_phone(login_page, live_server, page, analyst, corrected, language):
    from playwright.sync_api import expect

    analyst.set_password("pw-for-tests")
    analyst.save()
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    login_page(analyst)
    page.goto(f"{live_server.url}/insights/?period=custom&start=2026-03-01&end=2026-03-31")
    page.click("nav.subnav a[href='/insights/quality/']")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("分析质量" if language == "zh-hans" else "Analysis quality")
    page.goto(f"{live_server.url}/insights/quality/?period=custom&start=2026-03-01&end=2026-03-31")
    page.wait_for_load_state("networkidle")
    expect(page.locator("[data-insight-chart='agreement_over_time'] canvas").first).to_be_visible()
    expect(page.locator("[data-insight-chart='topic_confusion'] canvas").first).to_be_visible()
    expect(page.locator("#untopiced .work-list tbody tr")).to_have_count(2)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"quality-{language}-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#untopiced")).to_be_visible()
    page.screenshot(path=str(SHOTS / f"quality-{language}-phone.png"), full_page=True)
    wide = page.evaluate(
        "[...document.querySelectorAll('main *, .subnav, header *')].filter(e => e.getBoundingClientRect().right > 392)"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width}px): {wide}"
    page.click("#untopiced .work-list a >> nth=0")
    page.wait_for_load_state("networkidle")
    assert "/feedback/" in page.url
