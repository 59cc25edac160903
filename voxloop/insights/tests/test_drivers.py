"""Drivers page: topic impacts on NPS and CSAT from the responses roll-ups, checked by hand, and the drill."""

from __future__ import annotations

import json
from datetime import date, datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from voxloop.analysis.models import FeedbackTopic, Topic
from voxloop.cases.models import CaseFeedback
from voxloop.insights.drivers import topic_drivers
from voxloop.insights.filters import parse_filters
from voxloop.metrics import drilldown, queries, services
from voxloop.metrics.models import MetricDaily
from voxloop.metrics.tests.conftest import csat_survey, make_case, make_feedback, make_response  # noqa: F401

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
PARAMS = {"period": "custom", "start": "2026-03-01", "end": "2026-03-10"}


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def cell(day: int, dimension: str, value: str, n: int, **sums: float) -> MetricDaily:
    return MetricDaily.objects.create(source="responses", day=date(2026, 3, day), dimension=dimension, value=value,
                                      n=n, sums=sums, computed_at=timezone.now())  # fmt: skip


@pytest.fixture
def hand_made_rollups(db):
    """Eight NPS answers over two days: 10 (logistics), 3 (logistics, price), 6 (logistics), 9, 10, 8 (price),
    2, 9 (price); CSAT 1..5 on five of them. Written as the roll-ups would hold them, split over two days."""
    Topic.objects.update_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    Topic.objects.update_or_create(code="price", defaults={"name_zh": "价格", "name_en": "Price"})
    # day 2: 10 (logistics, csat 5), 3 (logistics+price, csat 1), 9 (csat 4), 2 (csat 2)
    cell(2, "", "", 4, promoters=2, detractors=2, csat_n=4, csat_sum=12, csat_sq=46)
    cell(2, "topic", "logistics", 2, promoters=1, detractors=1, csat_n=2, csat_sum=6, csat_sq=26)
    cell(2, "topic", "price", 1, detractors=1, csat_n=1, csat_sum=1, csat_sq=1)
    # day 5: 6 (logistics), 10, 8 (price, csat 3), 9 (price)
    cell(5, "", "", 4, promoters=2, passives=1, detractors=1, csat_n=1, csat_sum=3, csat_sq=9)
    cell(5, "topic", "logistics", 1, detractors=1)
    cell(5, "topic", "price", 2, promoters=1, passives=1, csat_n=1, csat_sum=3, csat_sq=9)
    cell(20, "", "", 50, promoters=50)  # outside the period: must not count


def test_nps_driver_impact_matches_a_hand_calculation(hand_made_rollups):
    result = topic_drivers(parse_filters(PARAMS, TODAY), "nps", "en")
    drivers = {d.topic: d for d in result.drivers}
    assert result.overall.n == 8
    logistics = drivers["logistics"]
    # with logistics: 10, 3, 6 -> 1 promoter, 2 detractors of 3 -> NPS -33.3
    # without: 9, 10, 8, 2, 9 -> 3 promoters, 1 detractor of 5 -> NPS 40
    assert logistics.mentions == 3 and logistics.share == pytest.approx(3 / 8)
    assert logistics.mean_with == pytest.approx(-100 / 3) and logistics.mean_without == pytest.approx(40)
    assert logistics.impact == pytest.approx((-100 / 3 - 40) * 3 / 8)  # -27.5 NPS points
    # price: 3, 8, 9 -> NPS 0; without: 10, 6, 9, 10, 2 -> 20; impact -20 x 3/8 = -7.5
    assert drivers["price"].impact == pytest.approx(-7.5)
    assert [d.topic for d in result.drivers] == ["logistics", "price"]


def test_csat_driver_by_hand(hand_made_rollups):
    result = topic_drivers(parse_filters(PARAMS, TODAY), "csat", "en")
    logistics = next(d for d in result.drivers if d.topic == "logistics")
    # CSAT with logistics: 5, 1 -> 3.0; without: 4, 2, 3 -> 3.0; price: 1, 3 -> 2.0 vs 5, 4, 2 -> 3.667
    assert result.overall.n == 5
    assert logistics.mean_with == pytest.approx(3.0) and logistics.difference == pytest.approx(0.0)
    price = next(d for d in result.drivers if d.topic == "price")
    assert price.difference == pytest.approx(2.0 - 11 / 3) and price.impact == pytest.approx((2.0 - 11 / 3) * 2 / 5)


def test_page_table_and_scatter_points(client, analyst, hand_made_rollups):
    client.force_login(analyst)
    response = client.get("/insights/drivers/", PARAMS)
    assert response.status_code == 200
    option = json.loads(json.dumps(response.context["chart_options"]["drivers"]))
    points = {p["name"]: p for p in option["series"][0]["data"]}
    assert points["Logistics"]["value"][:3] == [37.5, -73.3, -27.5]
    assert "/metrics/responses/" in points["Logistics"]["url"]
    assert "cut=topic" in points["Logistics"]["url"] and "value=logistics" in points["Logistics"]["url"]
    assert option["series"][0]["type"] == "scatter"
    export = client.get("/insights/drivers/", {**PARAMS, "export": "csv", "chart": "drivers"})
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("Logistics,3,37.5,-33.3,40.0,-73.3,")
    assert lines[1].endswith("too few to tell")  # three respondents: below the minimum group size


def test_csat_switch_and_a_filter_keeps_the_chart(client, analyst, hand_made_rollups):
    client.force_login(analyst)
    csat = client.get("/insights/drivers/", {**PARAMS, "metric": "csat"})
    assert csat.context["metric"] == "csat" and b"What moves CSAT" in csat.content
    assert b'name="metric" value="csat"' in csat.content  # the filter form keeps the switch
    cut = client.get("/insights/drivers/", {**PARAMS, "channel": "email"})
    assert cut.status_code == 200 and b"Clear the filter" not in cut.content
    # the hand-made roll-ups have no email rows: no responses within the filter, so no points
    assert cut.context["chart_options"]["drivers"]["series"][0]["data"] == []


@pytest.fixture
def two_products(csat_survey):  # noqa: F811
    """Product A (cases in Chinese): NPS 2 and 3 about logistics (CSAT 1, 2), 10, 9, 10 about nothing (CSAT 5,
    4, 5). Product B (cases in English): 10 and 9 about logistics, 4 and 2 about nothing. Every response
    answers a case; the case's item carries the topic."""
    from voxloop.feedback.models import Product

    Topic.objects.update_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    a = Product.objects.create(code="A", name="A")
    b = Product.objects.create(code="B", name="B")
    moment = datetime(2026, 3, 4, 12, tzinfo=SH)
    about: dict[str, list[int]] = {"A": [], "B": []}
    answers = [(a, "zh", 2, 1, True), (a, "zh", 3, 2, True), (a, "zh", 10, 5, False), (a, "zh", 9, 4, False),
               (a, "zh", 10, 5, False), (b, "en", 10, None, True), (b, "en", 9, None, True),
               (b, "en", 4, None, False), (b, "en", 2, None, False)]  # fmt: skip
    for product, language, nps, csat, on_topic in answers:
        case = make_case(moment)
        item = make_feedback(moment, product=product, language=language, topics=("logistics",) if on_topic else ())
        CaseFeedback.objects.create(case=case, feedback=item)
        response = make_response(csat_survey, moment, nps=nps, csat=csat, case=case)
        response.product = product
        response.save(update_fields=["product"])
        if on_topic:
            about[product.code].append(response.pk)
    services.rebuild(since=date(2026, 3, 1), until=date(2026, 3, 10))
    return a, b, about


def test_a_product_filter_gives_that_products_drivers(two_products):
    a, b, _about = two_products
    logistics = next(d for d in topic_drivers(parse_filters(PARAMS, TODAY), "nps", "en").drivers)
    # all: 2, 3, 10, 9 -> NPS 0; without: 10, 9, 10, 4, 2 -> 20
    assert logistics.mentions == 4 and logistics.difference == pytest.approx(-20)
    in_a = topic_drivers(parse_filters({**PARAMS, "product": str(a.pk)}, TODAY), "nps", "en")
    assert in_a.overall.n == 5
    [driver] = in_a.drivers
    # A: with 2, 3 -> -100; without 10, 9, 10 -> +100; impact -200 x 2/5
    assert driver.topic == "logistics" and driver.mentions == 2 and driver.share == pytest.approx(0.4)
    assert driver.mean_with == pytest.approx(-100) and driver.mean_without == pytest.approx(100)
    assert driver.impact == pytest.approx(-80)
    in_b = topic_drivers(parse_filters({**PARAMS, "product": str(b.pk)}, TODAY), "nps", "en")
    # B: with 10, 9 -> +100; without 4, 2 -> -100; impact +200 x 2/4
    assert in_b.overall.n == 4 and in_b.drivers[0].impact == pytest.approx(100)
    csat_a = topic_drivers(parse_filters({**PARAMS, "product": str(a.pk)}, TODAY), "csat", "en").drivers[0]
    # CSAT within A: 1, 2 -> 1.5; 5, 4, 5 -> 4.667; the interval from the exact sums of squares
    assert csat_a.mean_with == pytest.approx(1.5) and csat_a.mean_without == pytest.approx(14 / 3)
    assert csat_a.ci_low is not None and csat_a.difference is not None and csat_a.ci_high is not None
    assert csat_a.ci_low < csat_a.difference < csat_a.ci_high
    # no CSAT answers in B
    assert topic_drivers(parse_filters({**PARAMS, "product": str(b.pk)}, TODAY), "csat", "en").overall.n == 0
    # the language the customers wrote in: B's cases are in English, so the English drivers are B's
    in_en = topic_drivers(parse_filters({**PARAMS, "language": "en"}, TODAY), "nps", "en")
    assert in_en.overall.n == 4 and in_en.drivers[0].impact == pytest.approx(100)


def test_under_a_filter_a_point_drills_to_that_filters_responses_about_the_topic(client, analyst, two_products):
    a, _b, about = two_products
    client.force_login(analyst)
    page = client.get("/insights/drivers/", {**PARAMS, "product": str(a.pk)})
    assert b"Clear the filter" not in page.content
    [point] = page.context["chart_options"]["drivers"]["series"][0]["data"]
    assert point["value"][:3] == [40.0, -200.0, -80.0]
    assert f"product={a.pk}" in point["url"] and "about=logistics" in point["url"]
    listed = client.get(point["url"])
    assert listed.status_code == 200
    assert sorted(r.pk for r in listed.context["page"]) == sorted(about["A"])
    english = client.get("/insights/drivers/", {**PARAMS, "language": "en"})
    [point] = english.context["chart_options"]["drivers"]["series"][0]["data"]
    assert sorted(r.pk for r in client.get(point["url"]).context["page"]) == sorted(about["B"])
    export = client.get("/insights/drivers/", {**PARAMS, "product": str(a.pk), "export": "csv", "chart": "drivers"})
    assert export.content.decode("utf-8-sig").splitlines()[1].startswith("Logistics,2,40.0,-100.0,100.0,")


def test_a_point_drills_to_the_responses_mentioning_the_topic(client, analyst, csat_survey):  # noqa: F811
    """From real responses through the roll-ups: the drill list holds the responses whose case is about it."""
    Topic.objects.update_or_create(code="logistics", defaults={"name_zh": "物流配送", "name_en": "Logistics"})
    moment = datetime(2026, 3, 4, 12, tzinfo=SH)
    about = []
    for i, nps in enumerate([2, 3, 9, 10, 4, 9, 10, 10]):
        case = make_case(moment)
        item = make_feedback(moment, topics=("logistics",) if i < 3 else ())
        CaseFeedback.objects.create(case=case, feedback=item)
        response = make_response(csat_survey, moment, nps=nps, case=case)
        if i < 3:
            about.append(response.pk)
    assert FeedbackTopic.objects.count() == 3
    services.rebuild(since=date(2026, 3, 1), until=date(2026, 3, 10))
    client.force_login(analyst)
    option = client.get("/insights/drivers/", PARAMS).context["chart_options"]["drivers"]
    point = option["series"][0]["data"][0]
    # logistics: 2, 3, 9 -> NPS -33.3; others 10, 4, 9, 10, 10 -> 60; difference -93.3
    assert point["value"][1] == pytest.approx(-93.3)
    assert client.get(point["url"]).status_code == 200
    params = dict(parse_qsl(point["url"].split("?", 1)[1]))
    period, cut = queries.parse_panel_params(params, TODAY)
    listed = drilldown.drill_responses(period, cut, params["kpi"])
    assert sorted(r.pk for r in listed) == sorted(about)
