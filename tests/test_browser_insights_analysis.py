"""Root causes, drivers and the journey map in a real headless Chromium: the charts draw on canvas without
console errors, and clicking a bar or point lands on the feedback, cases or responses behind it."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from voxloop.analysis.models import FeedbackTopic, Topic
from voxloop.cases.models import Case, CaseFeedback
from voxloop.metrics import services
from voxloop.metrics.tests.conftest import make_case, make_feedback, make_response
from voxloop.surveys.models import Survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(db):
    """A transactional test starts with empty tables: put back the taxonomy and the journey's touchpoints."""
    importlib.import_module("voxloop.analysis.migrations.0002_default_taxonomy").seed(apps, None)
    importlib.import_module("voxloop.insights.migrations.0002_default_touchpoints").seed(apps, None)
    assert Topic.objects.filter(code="logistics").exists()


@pytest.fixture
def data(seeded):
    moment = timezone.now() - timedelta(days=2)
    for i in range(6):
        make_feedback(moment, kind="complaint", sentiment="negative", score=-0.7, topics=("logistics.delay",),
                      text=f"快递太慢了 第{i}次")  # fmt: skip
    for i in range(2):
        make_feedback(moment, kind="complaint", sentiment="negative", score=-0.4, topics=("quality",),
                      text=f"质量一般 {i}")  # fmt: skip
    make_feedback(moment, kind="praise", sentiment="positive", score=0.9, topics=("logistics",), text="物流很快，点赞")
    survey = Survey.objects.create(name="NPS", kind="nps", languages=["zh-hans"])
    for i, nps in enumerate([1, 2, 3, 9, 10, 10, 9, 10]):
        case = make_case(moment, resolved=moment + timedelta(hours=2), status="resolved")
        on_logistics = i < 3
        Case.objects.filter(pk=case.pk).update(number=f"DRV-{'L' if on_logistics else 'O'}{i}",
                                               root_cause="logistics" if on_logistics else "quality")  # fmt: skip
        item = make_feedback(moment, topics=("logistics",) if on_logistics else (), text=f"回访 {i}")
        CaseFeedback.objects.create(case=case, feedback=item)
        make_response(survey, moment, nps=nps, case=case)
    services.rebuild()


MIXED_PRAISE = "东西不错，就是物流慢了点"


def _praise_with_a_delivery_complaint() -> None:
    """A praise overall whose delivery-delay topic is negative in its own words (aspect sentiment): the Pareto
    and the journey count it as a delivery complaint, so the drill list must show it too."""
    item = make_feedback(timezone.now() - timedelta(days=2), kind="praise", sentiment="positive", score=0.6,
                         topics=("logistics.delay",), text=MIXED_PRAISE)  # fmt: skip
    FeedbackTopic.objects.filter(feedback=item).update(sentiment="negative", sentiment_score=-0.6)
    services.rebuild()


def _charts_drawn(page, keys: list[str]) -> None:
    for key in keys:
        page.wait_for_selector(f'[data-insight-chart="{key}"][data-rendered="true"] canvas')
    assert page.locator("[data-insight-chart] canvas").count() >= len(keys)


def _click_item(page, key: str, series: int, index: int) -> None:
    """Click data item ``index`` of series ``series`` of a chart where ECharts drew it (the middle of a bar,
    the centre of a point), as a user would."""
    x, y = page.evaluate(
        """([key, series, index]) => {
            const el = document.querySelector(`[data-insight-chart="${key}"]`);
            el.scrollIntoView({block: "center"});
            const chart = echarts.getInstanceByDom(el);
            const layout = chart.getModel().getSeriesByIndex(series).getData().getItemLayout(index);
            const xy = Array.isArray(layout) ? layout : [layout.x + layout.width / 2, layout.y + layout.height / 2];
            const box = el.getBoundingClientRect();
            return [box.left + xy[0], box.top + xy[1]];
        }""",
        [key, series, index],
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    page.wait_for_load_state("networkidle")


def test_root_causes_bar_opens_the_complaints_behind_it(login_page, analyst, data, live_server):
    _praise_with_a_delivery_complaint()
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/root-causes/?level=sub")
    _charts_drawn(page, ["complaint_topics", "case_root_causes"])
    # the first bar (delivery delay: 6 complaints and the praise that complains about it): click its middle
    _click_item(page, "complaint_topics", 0, 0)
    # complaints about the topic by its own polarity, as the bar counts them, not by the item's kind
    assert "/feedback/" in page.url and "topic=logistics.delay" in page.url and "aspect=complaint" in page.url
    assert page.locator("select[name=aspect]").input_value() == "complaint"
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 6 and MIXED_PRAISE in rows
    assert page.locator("#inbox-rows tr.inbox-row").count() == 7
    assert "质量一般" not in rows and "点赞" not in rows


def test_root_cause_bar_opens_its_cases(login_page, analyst, data, live_server):
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/root-causes/")
    _charts_drawn(page, ["case_root_causes"])
    _click_item(page, "case_root_causes", 0, 0)  # quality: 5 of 8 cases
    assert "/metrics/cases/" in page.url and "root_cause=quality" in page.url
    listing = page.locator("table").last.inner_text()
    assert listing.count("DRV-O") == 5 and "DRV-L" not in listing


def test_drivers_point_opens_the_responses_mentioning_the_topic(login_page, analyst, data, live_server):
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/drivers/")
    _charts_drawn(page, ["drivers"])
    assert page.locator("[data-metric-switch] a[data-metric=csat]").count() == 1
    _click_item(page, "drivers", 0, 0)
    assert "/metrics/responses/" in page.url and "value=logistics" in page.url
    listing = page.locator("table").last.inner_text()
    assert listing.count("DRV-L") == 3 and "DRV-O" not in listing


def test_journey_touchpoint_then_pain_point_then_feedback(login_page, analyst, data, live_server):
    _praise_with_a_delivery_complaint()
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/journey/")
    _charts_drawn(page, ["journey", "pain_points"])
    intro = page.locator(".intro").inner_text()
    assert "counts once per topic" in intro or "各计一次" in intro  # the double-counting rule is stated
    index = page.evaluate(
        """() => echarts.getInstanceByDom(document.querySelector('[data-insight-chart="journey"]'))
                 .getOption().series[0].data.findIndex(d => d.url.includes('touchpoint=delivery'))"""
    )
    _click_item(page, "journey", 0, index)
    assert "touchpoint=delivery" in page.url
    assert page.locator("[data-focus=delivery]").count() == 1
    _charts_drawn(page, ["pain_points"])
    _click_item(page, "pain_points", 0, 0)
    # the topic negative by its own polarity, as the pain point counts it, not the item's overall label
    assert "/feedback/" in page.url and "topic=logistics" in page.url and "aspect=negative" in page.url
    assert page.locator("select[name=aspect]").input_value() == "negative"
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 6 and MIXED_PRAISE in rows and "点赞" not in rows
    assert page.locator("#inbox-rows tr.inbox-row").count() == 7


def test_admin_picks_journey_topics_by_name(login_page, admin_user, seeded, live_server):
    page = login_page(admin_user)
    page.goto(f"{live_server.url}/insights/journey/")
    page.click("[data-journey-edit]")
    page.wait_for_load_state("networkidle")
    # topics are chosen by name: the delivery row's list shows the taxonomy's names, logistics chosen
    row = page.locator("tr", has=page.locator("input[name$='-code'][value=delivery]"))
    field = row.locator("select[name$=topic_codes]")
    assert field.locator("option:checked").all_inner_texts() == ["物流配送"]  # the page's language: Chinese
    field.select_option(value=[])
    page.click("#journey-editor button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "请至少选择一个话题。" in page.locator("#journey-editor").inner_text()
    field.select_option(label=["物流配送", "物流配送 › 运输破损"])
    page.click("#journey-editor button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/insights/journey/"), page.locator("#journey-editor").inner_text()[:1500]
    from voxloop.insights.models import Touchpoint

    assert Touchpoint.objects.get(code="delivery").topic_codes == ["logistics", "logistics.damage"]


def test_under_a_channel_filter_drivers_and_journey_drill_to_that_channel(login_page, analyst, data, live_server):
    """One more response about logistics whose case came in through the app (NPS 0), and one negative logistics
    item from the app: with the email filter, neither is behind a point or a bar."""
    moment = timezone.now() - timedelta(days=2)
    case = make_case(moment)
    Case.objects.filter(pk=case.pk).update(number="DRV-APP")
    CaseFeedback.objects.create(case=case, feedback=make_feedback(moment, channel="app", topics=("logistics",)))
    make_response(Survey.objects.get(name="NPS"), moment, nps=0, case=case)
    make_feedback(moment, channel="app", sentiment="negative", score=-0.9, topics=("logistics",), text="APP物流太慢")
    services.rebuild()
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/drivers/?channel=email")
    _charts_drawn(page, ["drivers"])
    assert page.locator("[data-unavailable]").count() == 0
    _click_item(page, "drivers", 0, 0)
    assert "/insights/drivers/responses/" in page.url and "channel=email" in page.url and "about=logistics" in page.url
    listing = page.locator("#drill-rows").inner_text()
    assert listing.count("DRV-L") == 3 and "DRV-APP" not in listing and "DRV-O" not in listing
    page.goto(f"{live_server.url}/insights/journey/?channel=email&touchpoint=delivery")
    _charts_drawn(page, ["journey", "pain_points"])
    _click_item(page, "pain_points", 0, 0)
    assert "/feedback/" in page.url and "channel=email" in page.url and "topic=logistics" in page.url
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 6 and "APP物流太慢" not in rows
