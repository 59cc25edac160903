"""A topic's complaints are counted from the topic's own polarity (aspect sentiment), not from the text's
overall label: "东西不错，就是物流慢了点" is praise, but a logistics complaint; the quality it praises is none.
Items go through the real pipeline and storage, then the roll-ups, the Pareto, the journey map and the inbox."""

from __future__ import annotations

import json
from datetime import date, datetime
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.analysis.models import FeedbackAnalysis, FeedbackTopic, Topic
from voxloop.analysis.services import analyze_feedback, correct_feedback
from voxloop.feedback.models import Feedback
from voxloop.feedback.queries import InboxFilters, filter_feedback
from voxloop.insights.filters import parse_filters
from voxloop.insights.journey import journey
from voxloop.insights.models import Touchpoint
from voxloop.insights.root_causes import root_causes
from voxloop.metrics import services
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.tests.conftest import make_feedback

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
PARAMS = {"period": "custom", "start": "2026-03-01", "end": "2026-03-10"}
PRAISE_WITH_A_LOGISTICS_COMPLAINT = "东西不错，就是物流慢了点"
COMPLAINT_PRAISING_QUALITY = "质量很好，但是物流太慢了，再也不买了"


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def analysed(db):
    for code, zh, en in [
        ("logistics", "物流配送", "Logistics and delivery"),
        ("quality", "产品质量", "Product quality"),
    ]:
        Topic.objects.update_or_create(code=code, defaults={"name_zh": zh, "name_en": en})
    at = datetime(2026, 3, 5, 12, tzinfo=SH)
    items = [
        Feedback.objects.create(channel="email", source="test", external_id=f"A{i}", received_at=at, text=text)
        for i, text in enumerate([PRAISE_WITH_A_LOGISTICS_COMPLAINT, COMPLAINT_PRAISING_QUALITY, "请问什么时候发货？"])
    ]
    analyze_feedback([f.pk for f in items])
    return items


def rebuild() -> None:
    services.rebuild(since=date(2026, 3, 1), until=date(2026, 3, 10))


def test_each_topic_row_keeps_its_own_polarity(analysed):
    praise = analysed[0]
    praise.refresh_from_db()
    assert praise.sentiment == "positive" and praise.kind == "praise"  # the text as a whole, as its writer rated it
    rows = dict(FeedbackTopic.objects.filter(feedback=praise).values_list("code", "sentiment"))
    assert rows["logistics"] == "negative" and rows["quality"] == "positive"


def test_pareto_counts_the_logistics_complaint_of_a_praise_and_not_the_praised_quality(client, analyst, analysed):
    rebuild()
    total = MetricDaily.objects.get(source=Source.FEEDBACK, day=date(2026, 3, 5), dimension="", value="")
    # both texts complain about logistics; neither about quality; the plain question complains about nothing
    assert total.sums["tc:logistics"] == 2 and "tc:quality" not in total.sums
    assert total.sums["tn:logistics"] == 2 and "tn:quality" not in total.sums
    filters = parse_filters(PARAMS, today=date(2026, 3, 10))
    pareto = root_causes(filters, "top", "en").topics
    assert [(r.cause, r.count) for r in pareto.rows] == [("logistics", 2)]

    client.force_login(analyst)
    options = json.loads(json.dumps(client.get("/insights/root-causes/", PARAMS).context["chart_options"]))
    bar = options["complaint_topics"]["series"][0]["data"][0]
    assert options["complaint_topics"]["xAxis"]["data"] == ["Logistics and delivery"]
    # the bar's drill list is exactly those two items, the praise among them
    inbox = client.get(bar["url"])
    assert inbox.status_code == 200
    assert PRAISE_WITH_A_LOGISTICS_COMPLAINT in inbox.content.decode()
    query = dict(parse_qsl(bar["url"].split("?", 1)[1]))
    assert set(filter_feedback(InboxFilters.from_params(query))) == {analysed[0], analysed[1]}


def test_journey_map_counts_the_topic_negative_by_its_own_polarity(analysed):
    rebuild()
    touchpoints = [
        Touchpoint(code="t-delivery", name_zh="配送", name_en="Delivery", topic_codes=["logistics"], sort_order=1),
        Touchpoint(code="t-product", name_zh="产品", name_en="Product", topic_codes=["quality"], sort_order=2),
    ]
    result = journey(parse_filters(PARAMS, today=date(2026, 3, 10)), "en", touchpoints)
    figures = {r.touchpoint.code[2:]: r.figures for r in result.rows}
    assert figures["delivery"].n == 3 and figures["delivery"].negative == 2 and figures["delivery"].complaints == 2
    # quality is praised in both texts that mention it, although one of them is a complaint overall
    assert figures["product"].n == 2 and figures["product"].negative == 0 and figures["product"].complaints == 0
    product_sentiment, delivery_sentiment = figures["product"].sentiment, figures["delivery"].sentiment
    assert product_sentiment is not None and delivery_sentiment is not None
    assert product_sentiment > 0 > delivery_sentiment


def test_rows_stored_before_aspect_sentiment_fall_back_to_the_items_label(db):
    at = datetime(2026, 3, 5, 12, tzinfo=SH)
    make_feedback(at, kind="complaint", sentiment="negative", score=-0.8, topics=("quality",))
    make_feedback(at, kind="praise", sentiment="positive", score=0.8, topics=("quality",))
    rebuild()
    total = MetricDaily.objects.get(source=Source.FEEDBACK, day=date(2026, 3, 5), dimension="", value="")
    assert total.sums["tc:quality"] == 1 and total.sums["tn:quality"] == 1
    assert filter_feedback(InboxFilters(topic="quality", aspect="complaint")).count() == 1
    assert filter_feedback(InboxFilters(topic="quality", aspect="positive")).count() == 1


def test_a_sentiment_correction_moves_topics_only_where_they_shared_one_verdict(analysed, analyst):
    praise, complaint, question = (Feedback.objects.get(pk=f.pk) for f in analysed)
    # one topic, one verdict: the person's correction of the whole is the topic's too
    correct_feedback(question, "sentiment", "negative", user=analyst)
    assert list(FeedbackTopic.objects.filter(feedback=question).values_list("sentiment", flat=True)) == ["negative"]
    # topics judged apart: a correction of the whole says nothing about each of them
    correct_feedback(complaint, "sentiment", "neutral", user=analyst)
    rows = dict(FeedbackTopic.objects.filter(feedback=complaint).values_list("code", "sentiment"))
    assert rows["logistics"] == "negative" and rows["quality"] == "positive"
    # a re-analysis keeps both rules
    analyze_feedback([question.pk, complaint.pk])
    assert list(FeedbackTopic.objects.filter(feedback=question).values_list("sentiment", flat=True)) == ["negative"]
    assert FeedbackTopic.objects.get(feedback=complaint, code="logistics").sentiment == "negative"
    assert Feedback.objects.get(pk=complaint.pk).sentiment == "neutral"


def test_inbox_explains_an_unknown_aspect_filter(client, analyst, analysed):
    client.force_login(analyst)
    response = client.get("/feedback/", {"aspect": "furious"})
    assert response.status_code == 200
    assert "The topic-sentiment filter was not understood" in response.content.decode()
    assert len(response.context["rows"]) == 3


def test_the_migration_copies_the_polarity_of_analyses_stored_before_it(db):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("voxloop.analysis.migrations.0006_topic_aspect_sentiment")
    at = datetime(2026, 3, 5, 12, tzinfo=SH)
    item = make_feedback(at, kind="praise", sentiment="positive", topics=("logistics", "quality"))
    old = make_feedback(at, kind="complaint", sentiment="negative", topics=("quality",))  # analysed before it
    FeedbackAnalysis.objects.filter(feedback=item).update(topics=[
        {"code": "logistics", "sentiment": {"label": "negative", "score": -0.3}},
        {"code": "quality", "sentiment": {"label": "positive", "score": 0.4}},
    ])  # fmt: skip
    migration.copy_aspect_sentiment(apps, None)
    rows = dict(FeedbackTopic.objects.filter(feedback=item).values_list("code", "sentiment"))
    assert rows == {"logistics": "negative", "quality": "positive"}
    assert FeedbackTopic.objects.get(feedback=old).sentiment == ""  # no polarity known: the item's label counts
