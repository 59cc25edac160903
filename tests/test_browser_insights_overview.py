"""Overview and Trends in a real headless Chromium: KPI sparklines and charts draw on canvas without console
errors, and a card, a table row or a clicked bar opens exactly the feedback behind it."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from voxloop.metrics import services
from voxloop.metrics.days import local_day
from voxloop.metrics.tests.conftest import make_feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def data(db):
    """Two days ago: 3 negative logistics items and 1 positive quality item; five days ago: 2 neutral items."""
    importlib.import_module("voxloop.analysis.migrations.0002_default_taxonomy").seed(apps, None)
    moment = timezone.now() - timedelta(days=2)
    for i in range(3):
        make_feedback(moment, sentiment="negative", kind="complaint", topics=("logistics.delay",), channel="email",
                      text=f"快递太慢了 第{i}次")  # fmt: skip
    make_feedback(moment, sentiment="positive", kind="praise", topics=("quality",), channel="email", text="质量很好")
    for i in range(2):
        make_feedback(moment - timedelta(days=3), sentiment="neutral", channel="email", text=f"普通咨询 {i}")
    services.rebuild()
    return local_day(moment)


def _charts_drawn(page, keys: list[str]) -> None:
    for key in keys:
        page.wait_for_selector(f'[data-insight-chart="{key}"][data-rendered="true"] canvas')
    assert page.locator("[data-insight-chart] canvas").count() >= len(keys)


def _click_item(page, key: str, series: int, index: int, point: str) -> None:
    """Click data item ``index`` of series ``series`` where ECharts draws it (``point``: JS for [x, y] in data
    coordinates, given ``item`` and ``index``)."""
    x, y = page.evaluate(
        """([key, series, index, point]) => {
            const el = document.querySelector(`[data-insight-chart="${key}"]`);
            el.scrollIntoView({block: "center"});
            const chart = echarts.getInstanceByDom(el);
            const item = chart.getOption().series[series].data[index];
            const xy = chart.convertToPixel({seriesIndex: series}, eval(point));
            const box = el.getBoundingClientRect();
            return [box.left + xy[0], box.top + xy[1]];
        }""",
        [key, series, index, point],
    )
    with page.expect_navigation():
        page.mouse.click(x, y)
    page.wait_for_load_state("networkidle")


def test_overview_cards_draw_and_the_negative_share_card_opens_the_negative_items(login_page, analyst, data,
                                                                                   live_server):  # fmt: skip
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/?period=7")
    _charts_drawn(page, ["kpi-feedback_items", "kpi-negative_share", "kpi-nps", "kpi-sla_compliance", "volume"])
    assert page.locator("[data-kpi] [data-insight-chart] canvas").count() == 8  # one sparkline per card
    assert page.locator("[data-kpi=feedback_items] .kpi-value").inner_text().strip() == "6"
    assert page.locator("[data-kpi=negative_share] .kpi-value").inner_text().strip() == "50.0%"
    page.click("[data-kpi=negative_share] .kpi-value")
    page.wait_for_load_state("networkidle")
    assert "/feedback/" in page.url and "sentiment=negative" in page.url
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 3 and "质量很好" not in rows and "普通咨询" not in rows


def test_overview_volume_bar_opens_that_days_items(login_page, analyst, data, live_server):
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/?period=7")
    _charts_drawn(page, ["volume"])
    index = page.evaluate(
        """(day) => echarts.getInstanceByDom(document.querySelector('[data-insight-chart="volume"]'))
                 .getOption().xAxis[0].data.indexOf(day)""",
        data.isoformat(),
    )
    assert index >= 0
    _click_item(page, "volume", 0, index, "[index, item.value / 2]")
    assert f"date_from={data.isoformat()}" in page.url and f"date_to={data.isoformat()}" in page.url
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 3 and "质量很好" in rows and "普通咨询" not in rows


def test_trends_charts_draw_and_a_heatmap_row_and_a_sentiment_bar_drill_down(login_page, analyst, data,
                                                                             live_server):  # fmt: skip
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/trends/?period=30")
    _charts_drawn(page, ["topics", "sentiment", "channels", "topic-sentiment", "compare"])
    # The heatmap's table: the logistics row opens that topic's items.
    table = page.locator("#chart-topic-sentiment details")
    table.locator("summary").click()
    with page.expect_navigation():
        table.locator("tbody tr").first.locator("a").click()
    page.wait_for_load_state("networkidle")
    assert "topic=logistics" in page.url
    assert page.locator("#inbox-rows").inner_text().count("快递太慢了") == 3
    # The sentiment chart's negative bar of that day opens the negative items of that day.
    page.goto(f"{live_server.url}/insights/trends/?period=30")
    _charts_drawn(page, ["sentiment"])
    index = page.evaluate(
        """(day) => echarts.getInstanceByDom(document.querySelector('[data-insight-chart="sentiment"]'))
                 .getOption().xAxis[0].data.indexOf(day)""",
        data.isoformat(),
    )
    _click_item(page, "sentiment", 0, index, "[index, item.value / 2]")
    assert "sentiment=negative" in page.url
    rows = page.locator("#inbox-rows").inner_text()
    assert rows.count("快递太慢了") == 3 and "质量很好" not in rows


def test_trends_compares_two_products_from_the_form(login_page, analyst, data, live_server):
    from voxloop.feedback.models import Product

    kettle = Product.objects.create(code="K", name="水壶")
    cup = Product.objects.create(code="C", name="杯子")
    make_feedback(timezone.now() - timedelta(days=1), sentiment="negative", product=kettle, text="水壶漏水")
    services.rebuild()
    page = login_page(analyst)
    page.goto(f"{live_server.url}/insights/trends/?period=30")
    form = page.locator("[data-compare-form]")
    form.locator("select[name=compare]").select_option("products")
    form.locator("select[name=product_a]").select_option(str(kettle.pk))
    form.locator("select[name=product_b]").select_option(str(cup.pk))
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "compare=products" in page.url
    _charts_drawn(page, ["compare"])
    assert "水壶 对比 杯子" in page.locator("#chart-compare h2").inner_text()  # the zh-CN browser's language
