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
from voxloop.dashboards.drivers import topic_drivers
from voxloop.dashboards.filters import parse_filters
from voxloop.metrics import queries, services
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
    assert lines[1].startswith("Logistics,logistics,3,37.5,-33.3,40.0,-73.3,")
    assert lines[1].endswith("too few to tell")  # three respondents: below the minimum group size


def test_csat_switch_and_a_cut_explains_why_there_are_no_drivers(client, analyst, hand_made_rollups):
    client.force_login(analyst)
    csat = client.get("/insights/drivers/", {**PARAMS, "metric": "csat"})
    assert csat.context["metric"] == "csat" and b"What moves CSAT" in csat.content
    assert b'name="metric" value="csat"' in csat.content  # the filter form keeps the switch
    cut = client.get("/insights/drivers/", {**PARAMS, "channel": "email"})
    assert cut.status_code == 200 and b"Clear the filter" in cut.content
    assert cut.context["chart_options"] == {}


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
    listed = queries.drill_responses(period, cut, params["kpi"])
    assert sorted(r.pk for r in listed) == sorted(about)
