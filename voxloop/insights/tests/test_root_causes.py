"""Root causes page: complaint-topic and case root-cause Paretos from the roll-ups, what changed, drill-downs."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.analysis.models import Topic
from voxloop.cases.models import Case
from voxloop.feedback.models import Product
from voxloop.insights.filters import parse_filters
from voxloop.insights.root_causes import root_causes
from voxloop.metrics import services
from voxloop.metrics.tests.conftest import make_case, make_feedback

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 10)
PARAMS = {"period": "custom", "start": "2026-03-01", "end": "2026-03-10"}  # previous: 19-28 February


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=SH)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # labels and messages are asserted in English
    with translation.override("en"):
        yield


@pytest.fixture
def topics(db):
    # A transactional database may lack the seeded taxonomy; make sure the names are there.
    for code, zh, en in [("logistics", "物流配送", "Logistics and delivery"), ("quality", "产品质量", "Product quality"),
                         ("logistics.delay", "配送延迟", "Delivery delay"), ("price", "价格与费用", "Price")]:  # fmt: skip
        parent = Topic.objects.filter(code=code.split(".")[0]).first() if "." in code else None
        Topic.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en, "parent": parent})


def rebuild() -> None:
    services.rebuild(since=date(2026, 2, 1), until=date(2026, 3, 31))


@pytest.fixture
def complaints(topics):
    """Previous period: 40 quality and 10 logistics complaints; this period the other way round (30 of the 40
    logistics ones about delay), plus 10 on product P and noise that must not count (praise, no topic)."""
    product = Product.objects.create(code="P", name="净水器", name_en="Water filter")
    for _ in range(40):
        make_feedback(at(2, 20), kind="complaint", sentiment="negative", topics=("quality",))
    for _ in range(10):
        make_feedback(at(2, 21), kind="complaint", sentiment="negative", topics=("logistics",))
    for i in range(40):
        make_feedback(at(3, 3), kind="complaint", sentiment="negative",
                      topics=("logistics.delay",) if i < 30 else ("logistics",))  # fmt: skip
    for _ in range(10):
        make_feedback(at(3, 4), kind="complaint", sentiment="negative", topics=("quality",), product=product)
    make_feedback(at(3, 4), kind="praise", sentiment="positive", topics=("price",))
    make_feedback(at(3, 4), kind="complaint", sentiment="negative")  # no topic: not a cause
    rebuild()
    return product


def test_complaint_pareto_shares_intervals_and_what_changed_from_the_rollups(complaints):
    filters = parse_filters(PARAMS, TODAY)
    result = root_causes(filters, "top", "en")
    rows = {r.cause: r for r in result.topics.rows}
    assert result.topics.total == 50 and result.topics.previous_total == 50
    assert [r.cause for r in result.topics.rows] == ["logistics", "quality"]
    assert rows["logistics"].count == 40 and rows["logistics"].percent == 80.0
    assert rows["logistics"].ci_low < 0.8 < rows["logistics"].ci_high
    assert rows["logistics"].vital_few and not rows["quality"].vital_few  # logistics alone reaches 80%
    assert "price" not in rows  # praise is not a complaint
    changes = {c.cause: c for c in result.topics.changes}
    assert changes["logistics"].difference == pytest.approx(0.6) and changes["logistics"].significant
    assert changes["quality"].difference == pytest.approx(-0.6) and changes["quality"].significant


def test_sub_topic_level_and_the_product_cut(complaints):
    sub = root_causes(parse_filters(PARAMS, TODAY), "sub", "en")
    assert {r.cause: r.count for r in sub.topics.rows} == {"logistics.delay": 30}
    assert sub.topics.labels["logistics.delay"] == "Delivery delay"
    product = root_causes(parse_filters({**PARAMS, "product": str(complaints.pk)}, TODAY), "top", "en")
    assert {r.cause: r.count for r in product.topics.rows} == {"quality": 10}


def _options(response) -> dict:
    """The chart options the page embeds for charts.js (as JSON, so exactly what the browser gets)."""
    return json.loads(json.dumps(response.context["chart_options"]))


def test_page_drills_a_topic_bar_to_its_complaints(client, analyst, complaints):
    client.force_login(analyst)
    response = client.get("/insights/root-causes/", {**PARAMS, "product": str(complaints.pk)})
    assert response.status_code == 200
    options = _options(response)
    bar = options["complaint_topics"]["series"][0]["data"][0]
    assert bar["value"] == 100.0
    assert "topic=quality" in bar["url"] and "aspect=complaint" in bar["url"]  # complaints about the topic itself
    assert f"product_id={complaints.pk}" in bar["url"] and "date_from=2026-03-01" in bar["url"]
    assert client.get(bar["url"]).status_code == 200
    # the inbox filters select exactly the ten complaints about quality on product P in the period
    from urllib.parse import parse_qsl

    from voxloop.feedback.queries import InboxFilters, filter_feedback

    query = dict(parse_qsl(bar["url"].split("?", 1)[1]))
    assert filter_feedback(InboxFilters.from_params(query)).count() == 10
    # the 80% line and the cumulative share are drawn
    assert options["complaint_topics"]["series"][2]["markLine"]["data"] == [{"yAxis": 80}]


def test_level_switch_and_exports_keep_the_level(client, analyst, complaints):
    client.force_login(analyst)
    response = client.get("/insights/root-causes/", {**PARAMS, "level": "sub"})
    options = _options(response)
    assert options["complaint_topics"]["xAxis"]["data"] == ["Delivery delay"]
    assert b"export=csv&amp;chart=complaint_topics" in response.content
    assert b"level=sub&amp;export=csv" in response.content
    export = client.get("/insights/root-causes/", {**PARAMS, "level": "sub", "export": "csv",
                                                   "chart": "complaint_topics"})  # fmt: skip
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[1][:3] == ["Delivery delay", "30", "100.0"]  # the topic by its name, no code column
    changed = client.get("/insights/root-causes/", {**PARAMS, "export": "csv", "chart": "what_changed"})
    table = list(csv.reader(io.StringIO(changed.content.decode("utf-8-sig"))))
    assert table[1][0] == "Logistics and delivery" and table[1][-1] == "up"
    assert table[2][0] == "Product quality" and table[2][-1] == "down"


@pytest.fixture
def resolved_cases(topics):
    cases = {}
    for number, cause in [("A", "logistics"), ("B", "logistics"), ("C", "quality")]:
        case = make_case(at(3, 2), resolved=at(3, 5), status="resolved")
        Case.objects.filter(pk=case.pk).update(root_cause=cause, number=f"RC-{number}")
        cases[number] = case
    open_case = make_case(at(3, 2))  # not resolved: not counted, not listed
    Case.objects.filter(pk=open_case.pk).update(root_cause="logistics", number="RC-OPEN")
    rebuild()
    return cases


def test_root_cause_pareto_drills_to_the_cases_behind_a_bar(client, analyst, resolved_cases):
    client.force_login(analyst)
    options = _options(client.get("/insights/root-causes/", PARAMS))
    chart = options["case_root_causes"]
    assert chart["xAxis"]["data"] == ["Logistics and delivery", "Product quality"]
    bar = chart["series"][0]["data"][0]
    assert bar["value"] == pytest.approx(66.7)
    assert "/metrics/cases/" in bar["url"] and "root_cause=logistics" in bar["url"]
    listing = client.get(bar["url"]).content.decode()
    assert "RC-A" in listing and "RC-B" in listing
    assert "RC-C" not in listing and "RC-OPEN" not in listing
    assert "root_cause=logistics" in listing or "data-root-cause" in listing


def test_a_team_filter_explains_that_feedback_has_no_team(client, analyst, resolved_cases, team):
    client.force_login(analyst)
    response = client.get("/insights/root-causes/", {**PARAMS, "team": str(team.pk)})
    assert response.status_code == 200
    assert b"feedback has no team" in response.content
    assert "complaint_topics" not in _options(response) and "case_root_causes" in _options(response)


def test_empty_period_shows_no_data_and_bad_level_falls_back(client, analyst, topics):
    client.force_login(analyst)
    response = client.get("/insights/root-causes/", {**PARAMS, "level": "bogus"})
    assert response.status_code == 200
    assert b"No data for this period and filter." in response.content


def test_root_causes_page_needs_an_insights_role(client, agent):
    client.force_login(agent)
    assert client.get("/insights/root-causes/").status_code == 403


def test_chinese_users_see_chinese_topic_names(client, analyst, complaints):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    client.force_login(analyst)
    options = _options(client.get("/insights/root-causes/", {**PARAMS, "level": "sub"}))
    assert options["complaint_topics"]["xAxis"]["data"] == ["配送延迟"]
