"""The insight pages' shared parts: the filter bar, exports of a chart's table, drill-down links, access."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.test import RequestFactory
from django.utils import translation

from voxloop.feedback.models import Customer, Feedback, Product
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.insights.filters import parse_filters
from voxloop.insights.pages import Chart, InsightPage, Table, feedback_url, insights_view, respond
from voxloop.metrics.queries import PeriodError

TODAY = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def q(text: str) -> QueryDict:
    return QueryDict(text)


def test_default_period_is_the_last_90_days_with_no_cut():
    filters = parse_filters(q(""), TODAY)
    assert (filters.period.start, filters.period.end) == (date(2026, 4, 2), TODAY)
    assert filters.cut.dimension == "" and filters.params() == {"period": "90"}


def test_one_cut_and_a_custom_period_round_trip_through_params():
    filters = parse_filters(q("period=custom&start=2026-01-01&end=2026-01-31&topic=logistics"), TODAY)
    assert (filters.cut.dimension, filters.cut.value) == ("topic", "logistics")
    assert filters.period.days == 31
    again = parse_filters(QueryDict(mutable=True) | filters.params(), TODAY)
    assert again == filters


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=13", "Unknown period"),
        ("period=custom&start=2026-01-01", "end"),
        ("period=custom&start=2026-02-30&end=2026-03-01", "is not a date"),
        ("channel=email&topic=logistics", "one of channel, topic at a time"),
        ("period=custom&start=2026-03-01&end=2026-01-01", "before the start date"),
    ],
)
def test_bad_filters_name_what_is_wrong(query, message):
    with pytest.raises(PeriodError, match=message):
        parse_filters(q(query), TODAY)


def _page() -> InsightPage:
    table = Table(["topic", "items"], [["=cmd()", 3], ["物流", 5], ["", 0]], links=["/feedback/?topic=x"])
    return InsightPage("overview", "Test", charts=[Chart("by-topic", "By topic", {"series": []}, table)])


def test_a_chart_table_exports_as_csv_with_formulas_neutralised(rf: RequestFactory, analyst):
    request = rf.get("/insights/?export=csv&chart=by-topic")
    request.user = analyst
    response = respond(request, _page())
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="voxloop-overview-by-topic.csv"'
    text = response.content.decode("utf-8-sig")
    assert text.splitlines() == ["topic,items", "'=cmd(),3", "物流,5", ",0"]  # an empty cell stays empty


def test_export_of_an_unknown_chart_names_the_charts_there_are(rf: RequestFactory, analyst):
    request = rf.get("/insights/?export=csv&chart=nope")
    request.user = analyst
    response = respond(request, _page())
    assert response.status_code == 400
    assert "by-topic" in response.content.decode()


def test_excel_export_is_a_workbook(rf: RequestFactory, analyst):
    request = rf.get("/insights/?export=xlsx&chart=by-topic")
    request.user = analyst
    response = respond(request, _page())
    assert response.content[:2] == b"PK"


@pytest.mark.django_db
def test_agents_may_not_see_insights_and_bad_filters_are_a_message(rf: RequestFactory, agent, analyst):
    from django.core.exceptions import PermissionDenied

    @insights_view
    def view(request):
        parse_filters(request.GET, TODAY)
        return respond(request, _page())

    request = rf.get("/insights/")
    request.user = agent
    with pytest.raises(PermissionDenied):
        view(request)
    request = rf.get("/insights/?period=5")
    request.user = analyst
    response = view(request)
    assert response.status_code == 400 and "Unknown period" in response.content.decode()


@pytest.mark.django_db
def test_feedback_drill_link_filters_the_inbox_to_the_items_behind_a_number():
    """The link built for "product P, 2026-06-01..06-02, negative" finds exactly those items."""
    from django.utils import timezone

    product, other = Product.objects.create(code="P1", name="水壶"), Product.objects.create(code="P2", name="杯子")
    vip = Customer.objects.create(external_id="c1", segment="high_risk_recovery")
    when = timezone.make_aware(datetime(2026, 6, 1, 12))

    def item(n, **kw):
        return Feedback.objects.create(text=f"t{n}", channel="email", received_at=kw.pop("at", when), source="t",
                                       external_id=str(n), **kw)  # fmt: skip

    hit = item(1, product=product, sentiment="negative", customer=vip, language="zh")
    item(2, product=other, sentiment="negative", customer=vip, language="zh")
    item(3, product=product, sentiment="positive", customer=vip, language="zh")
    item(4, product=product, sentiment="negative", language="zh", at=when + timedelta(days=5))
    item(5, product=product, sentiment="negative", customer=vip, language="en", at=when - timedelta(days=3))
    filters = parse_filters(q(f"period=custom&start=2026-06-01&end=2026-06-02&product={product.pk}"), TODAY)
    url = feedback_url(filters, sentiment="negative")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["product_id"] == str(product.pk) and params["date_to"] == "2026-06-02"
    found = list(filter_feedback(InboxFilters.from_params(params)))
    assert [f.pk for f in found] == [hit.pk]
    by_segment = filter_feedback(InboxFilters.from_params({"segment": "high_risk_recovery", "language": "zh"}))
    assert sorted(f.external_id for f in by_segment) == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ("period=30", {"topic": "logistics", "sentiment": "negative"}),
        ("period=30&channel=email", {"topic": "price"}),
        ("period=30&channel=email", {"channel": "chat"}),  # replaces the cut's own parameter
        ("period=30&topic=price", {"topic": None, "sentiment": "negative"}),  # drops it
        ("period=30&segment=at_risk", {"q": "物流 太慢"}),
    ],
)
def test_the_fast_link_builder_means_the_same_as_feedback_url(query, params):
    from voxloop.insights.trends import InboxLinks

    filters = parse_filters(q(query), TODAY)
    start, end = date(2026, 6, 1), date(2026, 6, 7)
    fast = InboxLinks(filters)(start, end, **params)
    slow = feedback_url(filters, start=start, end=end, **params)
    assert urlsplit(fast).path == urlsplit(slow).path
    assert parse_qs(urlsplit(fast).query) == parse_qs(urlsplit(slow).query)
