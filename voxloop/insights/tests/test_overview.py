"""The Overview page: KPI cards (value, change, sparkline, drill link), the volume chart, and filters a KPI's
source cannot answer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.insights import overview
from voxloop.insights.filters import parse_filters
from voxloop.metrics import services
from voxloop.metrics.tests.conftest import (  # noqa: F401 - fixtures
    MONDAY,
    csat_survey,
    make_case,
    make_feedback,
    make_response,
    people,
    policy,
    sh,
)

MONDAY_ONLY = "period=custom&start=2026-11-23&end=2026-11-23"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def data(policy, people, csat_survey):  # noqa: F811
    """Monday: 4 feedback items (2 negative), 2 cases (1 SLA met of 1 with an outcome), 2 responses (NPS 10 and
    0: NPS 0). Sunday (the previous period): 2 items, both negative; 1 response, NPS 10 (NPS +100)."""
    items = [
        make_feedback(sh(23, 9), sentiment="negative", channel="email", text="monday bad one"),
        make_feedback(sh(23, 10), sentiment="negative", channel="app", text="monday bad two"),
        make_feedback(sh(23, 11), sentiment="positive", channel="email", text="monday good"),
        make_feedback(sh(23, 12), sentiment="neutral", channel="email", text="monday plain"),
    ]
    make_feedback(sh(22, 9), sentiment="negative", text="sunday bad")
    make_feedback(sh(22, 10), sentiment="negative", text="sunday bad too")
    make_case(sh(23, 9), policy=policy, replies=[sh(23, 10)], resolved=sh(23, 12), status="resolved",
              team=people["team"])  # fmt: skip
    make_case(sh(23, 13), policy=policy, team=people["other_team"])
    make_response(csat_survey, sh(23, 10), nps=10)
    make_response(csat_survey, sh(23, 11), nps=0)
    make_response(csat_survey, sh(22, 11), nps=10)
    services.rebuild(since=sh(20, 0).date(), until=sh(24, 0).date())
    return items


def page_for(client: Client, user, query: str):
    client.force_login(user)
    response = client.get(reverse("dashboards:overview") + "?" + query, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content[:500]
    return response


def test_cards_show_the_value_the_change_and_a_sparkline(client, analyst, data):
    response = page_for(client, analyst, MONDAY_ONLY)
    cards = {c.key: c for c in response.context["kpi_cards"]}
    assert [c.key for c in response.context["kpi_cards"]] == list(overview.OVERVIEW_KPIS)
    assert cards["feedback_items"].value == "4" and cards["feedback_items"].delta == "+2"
    # 2 of 4 negative (50%) against 2 of 2 on Sunday: down 50 points, an improvement.
    negative = cards["negative_share"]
    assert negative.value == "50.0%" and negative.delta == "-50.0 pp" and negative.trend == "good"
    assert cards["nps"].value == "+0.0" and cards["nps"].delta == "-100.0" and cards["nps"].trend == "bad"
    assert cards["sla_compliance"].value == "100.0%" and cards["sla_compliance"].n == 1
    options = response.context["chart_options"]
    spark = options["kpi-negative_share"]["series"][0]["data"]
    assert spark == [{"value": 50.0, "url": negative_url(spark[0]["url"])}]
    body = response.content.decode()
    assert 'data-insight-chart="kpi-nps"' in body and 'data-insight-chart="volume"' in body


def negative_url(url: str) -> str:
    assert "sentiment=negative" in url
    return url


def test_negative_share_card_drills_to_the_negative_items(client, analyst, data):
    response = page_for(client, analyst, MONDAY_ONLY)
    card = next(c for c in response.context["kpi_cards"] if c.key == "negative_share")
    params = {k: v[0] for k, v in parse_qs(urlsplit(card.url).query).items()}
    found = {f.text for f in filter_feedback(InboxFilters.from_params(params))}
    assert found == {"monday bad one", "monday bad two"}
    volume = next(c for c in response.context["kpi_cards"] if c.key == "feedback_items")
    assert urlsplit(volume.url).path == reverse("feedback:inbox")
    nps = next(c for c in response.context["kpi_cards"] if c.key == "nps")
    assert urlsplit(nps.url).path == reverse("metrics:drill_responses") and "kpi=nps" in nps.url


def test_volume_chart_counts_by_day_with_the_negative_share(client, analyst, data):
    response = page_for(client, analyst, "period=custom&start=2026-11-22&end=2026-11-23")
    chart = next(c for c in response.context["page"].charts if c.key == "volume")
    assert chart.table.rows == [["2026-11-22", 2, 2, 100.0], ["2026-11-23", 4, 2, 50.0]]
    bars, line = chart.option["series"]
    assert [d["value"] for d in bars["data"]] == [2, 4] and [d["value"] for d in line["data"]] == [100.0, 50.0]
    # The Sunday bar opens Sunday's items in the inbox.
    params = {k: v[0] for k, v in parse_qs(urlsplit(bars["data"][0]["url"]).query).items()}
    assert {f.text for f in filter_feedback(InboxFilters.from_params(params))} == {"sunday bad", "sunday bad too"}


def test_a_channel_filter_narrows_feedback_cards(client, analyst, data):
    response = page_for(client, analyst, MONDAY_ONLY + "&channel=app")
    cards = {c.key: c for c in response.context["kpi_cards"]}
    assert cards["feedback_items"].value == "1" and cards["negative_share"].value == "100.0%"
    assert "channel=app" in cards["feedback_items"].url


def test_team_filter_marks_feedback_kpis_not_available(client, analyst, data, people):  # noqa: F811
    response = page_for(client, analyst, MONDAY_ONLY + f"&team={people['team'].pk}")
    cards = {c.key: c for c in response.context["kpi_cards"]}
    assert not cards["feedback_items"].available and not cards["negative_share"].available
    assert cards["sla_compliance"].available and cards["sla_compliance"].n == 1
    assert "kpi-feedback_items" not in response.context["chart_options"]
    body = response.content.decode()
    assert body.count("Not available for this filter.") >= 3  # two cards and the volume chart


def test_long_periods_show_weekly_sparklines_recomputed_from_the_week(db):
    filters = parse_filters({"period": "custom", "start": "2026-08-01", "end": "2026-11-29"}, MONDAY)
    make_feedback(sh(23, 9), sentiment="negative")
    make_feedback(sh(24, 9), sentiment="positive")
    make_feedback(sh(25, 9), sentiment="positive")
    make_feedback(sh(25, 10), sentiment="positive")
    services.rebuild(since=sh(20, 0).date(), until=sh(29, 0).date())
    cards, charts = overview.build_cards(filters)
    spark = {c.key: c for c in charts}["kpi-negative_share"]
    labels = spark.option["xAxis"]["data"]
    assert labels[0] == "2026-W31" and "2026-W48" in labels and len(labels) == 18
    week = labels.index("2026-W48")
    # Monday 1 of 1 negative, Tuesday 0 of 1, Wednesday 0 of 2: the week is 1 of 4 (25%), not a mean of days.
    assert spark.option["series"][0]["data"][week]["value"] == 25.0
    assert spark.table.header[0] == "Week"


def test_the_page_stays_a_few_queries_whatever_the_period(client, analyst, data, django_assert_max_num_queries):
    client.force_login(analyst)
    url = reverse("dashboards:overview") + "?period=730"
    with django_assert_max_num_queries(30):
        assert client.get(url).status_code == 200


def test_exports_a_card_as_csv(client, analyst, data):
    client.force_login(analyst)
    response = client.get(reverse("dashboards:overview") + "?" + MONDAY_ONLY + "&export=csv&chart=kpi-feedback_items")
    assert response.status_code == 200 and "2026-11-23,4" in response.content.decode()


@pytest.mark.parametrize(
    "query", [MONDAY_ONLY, "period=custom&start=2026-08-01&end=2026-11-29", MONDAY_ONLY + "&channel=app"]
)
def test_cards_agree_with_the_kpi_panel(data, query):
    from voxloop.metrics.queries import kpi_panel

    filters = parse_filters(dict(part.split("=") for part in query.split("&")), MONDAY)
    panel = {c.definition.key: c for c in kpi_panel(filters.period, filters.cut, overview.OVERVIEW_KPIS).cards}
    for definition, card, _buckets in overview.kpi_cards(filters):
        expected = panel.get(definition.key)
        assert (card is None) == (expected is None), definition.key
        if card is not None and expected is not None:
            assert card.current == expected.current and card.previous == expected.previous, definition.key
            if filters.period.days <= 90:
                assert card.series == expected.series and card.series_n == expected.series_n, definition.key
