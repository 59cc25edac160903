"""The Trends page: topic, sentiment and channel series, the topic x sentiment heatmap, comparisons, time
buckets, and drill links that find the items behind each point."""

from __future__ import annotations

from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from voxloop.feedback.models import Product
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.insights import trends
from voxloop.insights.filters import parse_filters
from voxloop.metrics import services
from voxloop.metrics.queries import Period, PeriodError
from voxloop.metrics.tests.conftest import MONDAY, make_feedback, sh

TWO_DAYS = "period=custom&start=2026-11-23&end=2026-11-24"
LOGISTICS, QUALITY = "Logistics and delivery", "Product quality"  # the seeded taxonomy's English names


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def data(db):
    """Monday: A logistics negative (email), B logistics + quality negative (app), C quality positive (email).
    Tuesday: D logistics neutral (email, product kettle), E no topic positive (app, product cup).
    Sunday 22 (the previous period of the two days is Sat 21 - Sun 22): F logistics negative."""
    kettle = Product.objects.create(code="K", name="水壶", name_en="Kettle")
    cup = Product.objects.create(code="C", name="杯子", name_en="Cup")
    items = {
        "A": make_feedback(sh(23, 9), sentiment="negative", channel="email", topics=("logistics.delay",), text="A",
                           product=kettle),
        "B": make_feedback(sh(23, 10), sentiment="negative", channel="app", topics=("logistics", "quality"), text="B",
                           product=kettle),
        "C": make_feedback(sh(23, 11), sentiment="positive", channel="email", topics=("quality",), text="C",
                           product=cup),
        "D": make_feedback(sh(24, 9), sentiment="neutral", channel="email", topics=("logistics",), text="D",
                           product=kettle),
        "E": make_feedback(sh(24, 10), sentiment="positive", channel="app", text="E", product=cup),
        "F": make_feedback(sh(22, 10), sentiment="negative", channel="email", topics=("logistics",), text="F",
                           product=kettle),
    }  # fmt: skip
    services.rebuild(since=sh(20, 0).date(), until=sh(25, 0).date())
    return items, kettle, cup


def get(client: Client, user, query: str):
    client.force_login(user)
    response = client.get(reverse("dashboards:trends") + "?" + query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:800]
    return response


def charts_of(response) -> dict:
    return {c.key: c for c in response.context["page"].charts}


def items_at(url: str) -> set[str]:
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    return {f.text for f in filter_feedback(InboxFilters.from_params(params))}


def series(chart, name: str) -> list:
    entry = next(s for s in chart.option["series"] if s["name"] == name)
    return entry["data"]


def test_time_buckets_are_days_up_to_90_then_iso_weeks():
    days = trends.time_buckets(Period(date(2026, 1, 1), date(2026, 3, 31)))
    assert len(days) == 90 and days[0].label == "2026-01-01"
    weeks = trends.time_buckets(Period(date(2026, 1, 1), date(2026, 4, 30)))
    assert weeks[0] == trends.Bucket(date(2026, 1, 1), date(2026, 1, 4), "2026-W01")  # Thursday to Sunday
    assert weeks[1].start == date(2026, 1, 5) and weeks[-1].end == date(2026, 4, 30)
    blocks = trends.time_buckets(Period(date(2026, 1, 1), date(2026, 4, 30)), align="start")
    assert blocks[1].start == date(2026, 1, 8) and blocks[0].label == "2026-01-01"
    assert trends.bucketed({date(2026, 1, 2): 3, date(2026, 1, 6): 1, date(2025, 1, 1): 9}, weeks)[:2] == [3, 1]


def test_topics_over_time_stack_by_topic_and_drill_to_that_topic_and_day(client, analyst, data):
    chart = charts_of(get(client, analyst, TWO_DAYS))["topics"]
    assert chart.table.header == ["Period", "Logistics and delivery", "Product quality"]  # biggest first
    assert chart.table.rows == [["2026-11-23", 2, 2], ["2026-11-24", 1, 0]]
    logistics = series(chart, LOGISTICS)
    assert items_at(logistics[0]["url"]) == {"A", "B"} and items_at(logistics[1]["url"]) == {"D"}
    assert "url" not in series(chart, QUALITY)[1]  # nothing to open on a zero


def test_sentiment_over_time_with_negative_share(client, analyst, data):
    chart = charts_of(get(client, analyst, TWO_DAYS))["sentiment"]
    assert [d["value"] for d in series(chart, "Negative")] == [2, 0]
    assert [d["value"] for d in series(chart, "Positive")] == [1, 1]
    assert [d["value"] for d in series(chart, "Negative share")] == [66.7, 0.0]
    assert items_at(series(chart, "Negative")[0]["url"]) == {"A", "B"}
    assert items_at(series(chart, "Positive")[1]["url"]) == {"E"}


def test_channels_over_time(client, analyst, data):
    chart = charts_of(get(client, analyst, TWO_DAYS))["channels"]
    assert [d["value"] for d in series(chart, "Email")] == [2, 1]
    assert items_at(series(chart, "Email")[0]["url"]) == {"A", "C"}
    assert items_at(series(chart, "app")[1]["url"]) == {"E"}


def test_heatmap_rows_are_topics_and_cells_counts_with_share(client, analyst, data):
    chart = charts_of(get(client, analyst, TWO_DAYS))["topic-sentiment"]
    # logistics: A, B negative, D neutral; quality: B negative, C positive.
    assert chart.table.rows == [[LOGISTICS, 3, 2, 1, 0, 66.7, 33.3, 0.0], [QUALITY, 2, 1, 0, 1, 50.0, 0.0, 50.0]]
    cells = chart.option["series"][0]["data"]
    negative_logistics = next(c for c in cells if c["value"][:2] == [0, 0])
    assert negative_logistics["value"][2:] == [66.7, 2]
    assert items_at(negative_logistics["url"]) == {"A", "B"}


def test_with_a_product_filter_topics_are_those_of_negative_items(client, analyst, data):
    _items, kettle, _cup = data
    charts = charts_of(get(client, analyst, TWO_DAYS + f"&product={kettle.pk}"))
    topics = charts["topics"]
    assert topics.title == "Topics of negative feedback over time"
    assert topics.table.rows == [["2026-11-23", 2, 1], ["2026-11-24", 0, 0]]  # D is neutral
    assert items_at(series(topics, LOGISTICS)[0]["url"]) == {"A", "B"}
    assert charts["channels"].note == "Not available for this filter." and not charts["channels"].table.rows
    assert not charts["topic-sentiment"].table.rows
    assert [d["value"] for d in series(charts["sentiment"], "Negative")] == [2, 0]


def test_compare_with_the_previous_period(client, analyst, data):
    chart = charts_of(get(client, analyst, TWO_DAYS))["compare"]
    assert chart.table.header[:3] == ["Point", "This period: from", "This period: items"]
    assert chart.table.rows == [
        ["Day 1", "2026-11-23", 3, 2, 66.7, "2026-11-21", 0, 0, None],
        ["Day 2", "2026-11-24", 2, 0, 0.0, "2026-11-22", 1, 1, 100.0],
    ]
    previous = series(chart, "Compared period: items")
    assert items_at(previous[1]["url"]) == {"F"}


def test_compare_with_a_custom_period_and_two_products(client, analyst, data):
    _items, kettle, cup = data
    response = get(client, analyst, TWO_DAYS + "&compare=period&compare_start=2026-11-22&compare_end=2026-11-22")
    chart = charts_of(response)["compare"]
    assert [row[5:] for row in chart.table.rows] == [["2026-11-22", 1, 1, 100.0], [None, None, None, None]]
    assert ("compare_start", "2026-11-22") in response.context["extra_params"]
    products = charts_of(get(client, analyst, TWO_DAYS + f"&compare=products&product_a={kettle.pk}&product_b={cup.pk}"))
    chart = products["compare"]
    assert chart.title == "Kettle vs Cup"
    assert chart.table.rows == [
        ["2026-11-23", "2026-11-23", 2, 2, 100.0, "2026-11-23", 1, 0, 0.0],
        ["2026-11-24", "2026-11-24", 1, 0, 0.0, "2026-11-24", 1, 0, 0.0],
    ]
    cup_items = series(chart, "Cup: items")
    assert items_at(cup_items[1]["url"]) == {"E"}


def test_bad_compare_parameters_are_a_message(client, analyst, data):
    client.force_login(analyst)
    response = client.get(reverse("dashboards:trends") + "?compare=period&compare_start=nope")
    assert response.status_code == 400
    with pytest.raises(PeriodError):
        trends.parse_compare({"compare": "products", "product_a": "x"}, parse_filters({}, MONDAY), MONDAY)


def test_long_periods_are_weekly_and_stay_cheap(client, analyst, data, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        response = get(client, analyst, "period=custom&start=2025-11-24&end=2026-11-24")
    chart = charts_of(response)["sentiment"]
    assert chart.table.header[0] == "Period" and chart.table.rows[-1][0] == "2026-W48"
    # Week 48 inside the period is Monday and Tuesday: A, B negative, D neutral, C and E positive.
    assert chart.table.rows[-1][1:] == [2, 1, 2, 40.0]
    assert chart.table.rows[-2][0] == "2026-W47" and chart.table.rows[-2][1] == 1  # F on Sunday 22
    topics = charts_of(response)["topics"]
    assert topics.table.rows[-1] == ["2026-W48", 3, 2] and topics.table.rows[-2] == ["2026-W47", 1, 0]
    assert items_at(series(topics, LOGISTICS)[-1]["url"]) == {"A", "B", "D"}
