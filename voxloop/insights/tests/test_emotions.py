"""The emotions-and-needs page: emotion totals and trend, emotion words and needs from the roll-ups, drill-downs
to the feedback, exports, and the bounded queries that keep it fast."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from voxloop.analysis import services as analysis
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.insights import emotions as read
from voxloop.metrics import services as rollups
from voxloop.metrics.models import MetricDaily
from voxloop.metrics.queries import Period

PAGE = reverse("dashboards:emotions")


@pytest.fixture
def client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def chart_options(response) -> dict:
    html = response.content.decode()
    marker = '<script id="insight-charts" type="application/json">'
    start = html.index(marker) + len(marker)
    return json.loads(html[start : html.index("</script>", start)])


# --- pure computations ---------------------------------------------------------------------------------------


def test_bucket_size_grows_with_the_period():
    assert read.bucket_size(7) == "day" and read.bucket_size(31) == "day"
    assert read.bucket_size(90) == "week" and read.bucket_size(365) == "month"


def test_weekly_buckets_are_clipped_to_the_period_and_add_up_the_days():
    # Wednesday 2026-11-04 .. Sunday 2026-12-13: 40 days, so weekly buckets
    period = Period(date(2026, 11, 4), date(2026, 12, 13))
    assert read.bucket_size(period.days) == "week"
    edges = read.buckets(period)
    assert edges[0] == (date(2026, 11, 4), date(2026, 11, 8))  # from the period's start to that Sunday
    assert edges[1] == (date(2026, 11, 9), date(2026, 11, 15))
    assert edges[-1] == (date(2026, 12, 7), date(2026, 12, 13))
    data = read.EmotionDays(
        items=10,
        totals={"anger": 4, "joy": 1},
        by_day={date(2026, 11, 5): {"anger": 3}, date(2026, 11, 8): {"anger": 1, "joy": 1}},
        items_by_day={date(2026, 11, 5): 6, date(2026, 11, 8): 3, date(2026, 11, 10): 1},
    )
    rows = read.series_by_bucket(data, period, ["anger", "joy"])
    assert rows[0]["items"] == 9 and rows[0]["counts"] == {"anger": 4, "joy": 1}
    assert rows[1]["items"] == 1 and rows[1]["counts"] == {"anger": 0, "joy": 0}
    assert sum(r["items"] for r in rows) == 10


# --- read model on hand-made roll-up rows --------------------------------------------------------------------


def row(day: date, dimension: str, value: str, n: int, **sums: int) -> MetricDaily:
    return MetricDaily(source="feedback", day=day, dimension=dimension, value=value, n=n,
                       sums={k.replace("__", ":"): v for k, v in sums.items()}, computed_at=timezone.now())  # fmt: skip


@pytest.mark.django_db
def test_terms_are_summed_over_the_period_in_sql_and_ranked_by_items():
    d1, d2, outside = date(2026, 5, 1), date(2026, 5, 2), date(2026, 4, 1)
    MetricDaily.objects.bulk_create([
        row(d1, "emotion_word", "气死", 3, emo__anger=3), row(d2, "emotion_word", "气死", 2, emo__anger=2),
        row(d1, "emotion_word", "失望", 4, emo__disappointment=4),
        row(d2, "emotion_word", "不开心", 1, emo__sadness=1, emo__anger=1),
        row(outside, "emotion_word", "失望", 50, emo__disappointment=50),
        row(d1, "need", "加快发货速度", 2), row(d2, "need", "加快发货速度", 1), row(d1, "need", "增加夜间配送", 1),
    ])  # fmt: skip
    period = Period(d1, d2)
    assert read.top_terms("emotion_word", period) == [("气死", 5), ("失望", 4), ("不开心", 1)]
    assert read.top_terms("emotion_word", period, limit=2) == [("气死", 5), ("失望", 4)]
    assert read.top_terms("need", period) == [("加快发货速度", 3), ("增加夜间配送", 1)]
    names = read.emotion_order()
    # a word counts for an emotion as often as it signalled it (不开心 once for anger, once for sadness)
    assert read.emotion_words(period, names, "anger").ranked == [("气死", 5), ("不开心", 1)]
    assert read.emotion_words(period, names, "sadness").ranked == [("不开心", 1)]
    assert read.emotion_words(period, names).ranked == [("气死", 5), ("失望", 4), ("不开心", 1)]
    assert read.word_emotions(["气死", "不开心"], period, names) == {
        "气死": {"anger": 5}, "不开心": {"anger": 1, "sadness": 1},
    }  # fmt: skip


@pytest.mark.django_db
def test_need_examples_come_from_the_last_days_the_need_was_voiced():
    today = timezone.localdate()
    ids = store(
        [("希望能加快发货速度", 1), ("真心希望能加快发货速度！", 2), ("物流还行", 2), ("希望能加快发货速度", 20)]
    )
    rollups.rebuild()
    period = Period(today - timedelta(days=29), today)
    examples = read.need_examples("加快发货速度", period)
    # newest first, from the last days the roll-ups saw the need on (1, 2 and 20 days ago)
    assert [e.id for e in examples] == [ids[0], ids[1], ids[3]]
    assert all("加快发货速度" in e.text for e in examples)
    assert read.need_examples("加快发货速度", period, limit=2) == examples[:2]


# --- the page -------------------------------------------------------------------------------------------------


def store(texts_days: list[tuple[str, float]], channel: str = "review") -> list[int]:
    """Stored and analysed feedback: (text, days ago)."""
    now = timezone.now()
    inputs = [
        prepare_feedback({"text": text, "received_at": (now - timedelta(days=days, minutes=i)).isoformat()},
                         channel=channel, source=f"emotions-{channel}")
        for i, (text, days) in enumerate(texts_days)
    ]  # fmt: skip
    ids = ingest_feedback(inputs).created
    analysis.analyze_feedback(ids)
    return ids


@pytest.fixture
def voiced(db) -> dict[str, list[int]]:
    out = {
        "faster": store([("快递太慢了，气死我了，希望能加快发货速度", 1), ("气死了，客服不理人，希望能加快发货速度", 3),
                         ("非常满意，希望能加快发货速度", 5)]),
        "night": store([("太失望了，建议增加夜间配送", 2)]),
        "thanks": store([("谢谢客服，非常满意", 1)], channel="email"),
    }  # fmt: skip
    rollups.rebuild()
    return out


def test_the_page_shows_emotions_words_and_needs_with_drill_downs(client, analyst, voiced):
    client.force_login(analyst)
    response = client.get(PAGE, {"period": "30"})
    assert response.status_code == 200
    options = chart_options(response)
    emotions = dict(zip(options["emotions"]["xAxis"]["data"],
                        [d["value"] for d in options["emotions"]["series"][0]["data"]], strict=True))  # fmt: skip
    assert emotions == {"anger": 2, "joy": 2, "disappointment": 1, "gratitude": 1}
    words = options["words"]["yAxis"]["data"][::-1]
    assert words[0] == "满意" or words[0] == "气死"  # two items each
    assert set(words) == {"气死", "满意", "失望", "谢谢"}
    needs = options["needs"]["series"][0]["data"][::-1]
    assert [n["value"] for n in needs] == [3, 1]
    html = response.content.decode()
    # the top needs come with examples linking to their items
    for pk in voiced["faster"]:
        assert reverse("feedback:detail", args=[pk]) in html
    # a need's bar opens the inbox on exactly the items voicing it
    inbox = client.get(needs[0]["url"]).content.decode()
    for pk in voiced["faster"]:
        assert reverse("feedback:detail", args=[pk]) in inbox
    for pk in voiced["night"] + voiced["thanks"]:
        assert reverse("feedback:detail", args=[pk]) not in inbox


def test_an_emotion_bar_opens_its_words_and_a_word_opens_its_feedback(client, analyst, voiced):
    client.force_login(analyst)
    options = chart_options(client.get(PAGE))
    bars = dict(zip(options["emotions"]["xAxis"]["data"], options["emotions"]["series"][0]["data"], strict=True))
    page = client.get(bars["anger"]["url"])
    assert page.status_code == 200 and "Words signalling anger" in page.content.decode()
    words = chart_options(page)["words"]
    assert words["yAxis"]["data"] == ["气死"]
    inbox = client.get(words["series"][0]["data"][0]["url"]).content.decode()
    assert all(reverse("feedback:detail", args=[pk]) in inbox for pk in voiced["faster"][:2])
    assert reverse("feedback:detail", args=[voiced["faster"][2]]) not in inbox  # 满意, not 气死


def test_a_channel_filter_cuts_the_emotions_and_says_words_are_not_cut(client, analyst, voiced):
    client.force_login(analyst)
    response = client.get(PAGE, {"channel": "email"})
    options = chart_options(response)
    assert options["emotions"]["xAxis"]["data"] == ["joy", "gratitude"]
    assert "words and needs are counted over all feedback" in response.content.decode()
    assert client.get(PAGE, {"team": "1"}).status_code == 400
    assert client.get(PAGE, {"emotion": "boredom"}).status_code == 400


def test_each_table_exports(client, analyst, voiced):
    client.force_login(analyst)
    needs = client.get(PAGE, {"export": "csv", "chart": "needs"})
    lines = needs.content.decode("utf-8-sig").splitlines()
    assert needs.status_code == 200 and lines[0].startswith("Need,Items")
    assert lines[1].startswith("加快发货速度,3")
    words = client.get(PAGE, {"export": "xlsx", "chart": "words"})
    assert words.status_code == 200 and words["Content-Disposition"].endswith('.xlsx"')


def test_agents_do_not_see_the_page(client, agent):
    client.force_login(agent)
    assert client.get(PAGE).status_code == 403


def test_the_query_count_does_not_grow_with_the_number_of_needs(client, analyst, voiced, django_assert_max_num_queries):
    day = timezone.localdate() - timedelta(days=3)
    MetricDaily.objects.bulk_create(
        [row(day - timedelta(days=i % 20), "need", f"需要第{i}件事", 1 + i % 7) for i in range(3000)]
        + [row(day - timedelta(days=i % 20), "emotion_word", f"词{i}", 1 + i % 5, emo__anger=1) for i in range(3000)]
    )
    client.force_login(analyst)
    # session + user, 5 roll-up aggregates, and per top need (10) its days and up to 3 days of examples
    with django_assert_max_num_queries(60):
        response = client.get(PAGE, {"period": "730"})
    assert response.status_code == 200
    options = chart_options(response)
    assert len(options["needs"]["series"][0]["data"]) == read.CHART_TERMS
