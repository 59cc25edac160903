"""Emerging topics: uncovered feedback is clustered; a cluster adopted as a topic is found by the analysis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from voxloop.analysis import emerging, services
from voxloop.analysis.models import EmergingCluster, EmergingRun, FeedbackTopic, Topic
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db

# Two themes the default taxonomy has no phrase for, and a theme it covers (delivery).
BATTERY = ["the battery drains overnight", "battery life is terrible, it drains overnight", "battery drains by noon",
           "my battery drains so much", "the battery drains even when switched off", "battery drains within a day",
           "poor battery, it drains all the time", "the battery drains after a week of use"]  # fmt: skip
BLUETOOTH = ["蓝牙耳机配对失败，连不上手机", "蓝牙总是配对不上", "耳机蓝牙配对失败好几次", "蓝牙配对一直失败",
             "蓝牙连不上，配对失败", "每次蓝牙配对都要重试", "蓝牙耳机无法配对", "蓝牙配对很麻烦，经常失败"]  # fmt: skip
DELIVERY = ["快递太慢了，等了五天才到", "物流太慢，快递一周才到", "快递员送货太慢了", "快递好慢啊，三天还没到"]


def make_feedback(texts: list[str], *, days_ago: float = 1, source: str = "emerging-test") -> list[int]:
    """Stored and analysed feedback received ``days_ago`` days ago (one item a minute apart)."""
    now = timezone.now()
    inputs = [
        prepare_feedback(
            {"text": t, "received_at": (now - timedelta(days=days_ago, minutes=i)).isoformat()},
            channel="review", source=source,
        )
        for i, t in enumerate(texts)
    ]  # fmt: skip
    ids = ingest_feedback(inputs).created
    services.analyze_feedback(ids)
    return ids


def themes() -> dict[str, list[int]]:
    return {
        # bluetooth: half earlier, half recent; battery: only recent -> a new theme (no earlier share)
        "bluetooth": make_feedback(BLUETOOTH[:4], days_ago=60) + make_feedback(BLUETOOTH[4:], days_ago=3),
        "battery": make_feedback(BATTERY, days_ago=2),
        "delivery": make_feedback(DELIVERY, days_ago=2),
    }


def test_two_uncovered_themes_become_two_clusters_with_their_keywords():
    ids = themes()
    old = make_feedback(["蓝牙配对失败，旧的反馈"], days_ago=200)  # outside the 90-day window
    run = emerging.find_emerging_topics()
    assert run.status == EmergingRun.Status.DONE, run.error
    assert run.item_count == 16  # the delivery items have a topic; the old one is outside the window
    clusters = list(run.clusters.order_by("label"))
    assert len(clusters) == 2
    by_theme = {("battery" if "battery" in c.keywords[:3] else "bluetooth"): c for c in clusters}
    assert set(by_theme) == {"battery", "bluetooth"}
    assert "蓝牙" in by_theme["bluetooth"].keywords[:3] and "配对" in by_theme["bluetooth"].keywords[:4]
    assert sorted(by_theme["battery"].member_ids) == sorted(ids["battery"])
    assert sorted(by_theme["bluetooth"].member_ids) == sorted(ids["bluetooth"])
    assert not set(old) & {i for c in clusters for i in c.member_ids}
    # growth: battery has no earlier items (a new theme); bluetooth was there before
    assert by_theme["battery"].growth is None and by_theme["battery"].recent_count == 8
    assert by_theme["bluetooth"].recent_count == 4 and by_theme["bluetooth"].earlier_count == 4
    assert by_theme["bluetooth"].growth == pytest.approx((4 / 12) / (4 / 4))
    for c in clusters:
        assert c.size == 8 and len(c.examples) == 3
        assert all(e["id"] in c.member_ids for e in c.examples)
        # members are stored newest first (the cluster page lists them in that order)
        received = dict(Feedback.objects.filter(pk__in=c.member_ids).values_list("pk", "received_at"))
        assert [received[i] for i in c.member_ids] == sorted(received.values(), reverse=True)


def test_low_confidence_topics_count_as_uncovered_and_the_newest_items_are_kept():
    ids = make_feedback(BATTERY + BLUETOOTH, days_ago=1)
    # The analysis may already have given the nearest default topic (below 0.6): set the confidences.
    for fid, confidence in ((ids[0], 0.3), (ids[1], 0.9)):
        FeedbackTopic.objects.update_or_create(
            feedback_id=fid, code="quality", defaults={"top_code": "quality", "confidence": confidence}
        )
    since, until = timezone.now() - timedelta(days=90), timezone.now()
    found = emerging.uncovered_feedback(since, until)
    assert ids[0] in found.ids and ids[1] not in found.ids
    assert len(found.ids) == 15
    newest = emerging.uncovered_feedback(since, until, limit=5)
    # make_feedback spaces items a minute apart, the first one newest
    assert newest.ids == [i for i in ids if i != ids[1]][:5]


def test_too_few_uncovered_items_finish_without_clusters():
    make_feedback(BATTERY[:3])
    run = emerging.find_emerging_topics()
    assert run.status == EmergingRun.Status.DONE and run.item_count == 3
    assert not run.clusters.exists()


def test_a_failing_clustering_ends_the_run_as_failed_with_the_reason(monkeypatch):
    make_feedback(BATTERY + BLUETOOTH)

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr("voxloop_nlp.clustering.cluster_texts", broken)
    run = emerging.find_emerging_topics()
    assert run.status == EmergingRun.Status.FAILED and "out of memory" in run.error
    assert run.finished_at is not None


def test_one_run_at_a_time_and_options_are_checked(analyst):
    emerging.create_run(user=analyst)
    with translation.override("en"), pytest.raises(emerging.EmergingError, match="still running"):
        emerging.create_run(user=analyst)
    EmergingRun.objects.update(status=EmergingRun.Status.DONE)
    with translation.override("en"), pytest.raises(emerging.EmergingError, match="window"):
        emerging.create_run(days=0)
    with translation.override("en"), pytest.raises(emerging.EmergingError, match="threshold"):
        emerging.create_run(threshold=1.5)


def adopted_setup() -> tuple[dict[str, list[int]], EmergingCluster]:
    ids = themes()
    run = emerging.find_emerging_topics()
    cluster = next(c for c in run.clusters.all() if "battery" in c.keywords[:3])
    return ids, cluster


def test_adopting_a_cluster_creates_the_topic_and_new_feedback_gets_it(django_capture_on_commit_callbacks):
    ids, cluster = adopted_setup()
    proposal = emerging.propose_topic(cluster)
    assert proposal.code.startswith("battery") and "battery" in proposal.phrases_en
    assert "battery" in proposal.name_en
    with django_capture_on_commit_callbacks(execute=True):
        topic = emerging.adopt_cluster(cluster, proposal)
    cluster.refresh_from_db()
    assert cluster.adopted_topic == topic and cluster.adopted_at is not None
    assert Topic.objects.get(code=proposal.code).phrases_en == proposal.phrases_en
    # the cluster's own items were re-analysed and now carry the topic
    tagged = set(FeedbackTopic.objects.filter(code=topic.code).values_list("feedback_id", flat=True))
    assert tagged == set(ids["battery"])
    # a new item with one of the phrases gets the topic on its first analysis
    (new,) = make_feedback(["since yesterday the battery is empty every evening"], source="later")
    assert FeedbackTopic.objects.filter(feedback_id=new, code=topic.code).exists()
    # ... and the next run no longer sees the adopted theme as uncovered
    rerun = emerging.find_emerging_topics()
    assert not set(ids["battery"]) & {i for c in rerun.clusters.all() for i in c.member_ids}
    with translation.override("en"), pytest.raises(emerging.EmergingError, match="already adopted"):
        emerging.adopt_cluster(cluster, emerging.TopicProposal("other", "其他", "Other", ["电量"], []))


def test_a_cluster_adopted_under_a_parent_gets_a_child_code(django_capture_on_commit_callbacks):
    _ids, cluster = adopted_setup()
    parent = Topic.objects.get(code="quality")
    proposal = emerging.TopicProposal("battery", "电池", "Battery", ["电池", "掉电"], ["battery"])
    topic = emerging.adopt_cluster(cluster, proposal, parent=parent, reanalyze=False)
    assert topic.code == "quality.battery" and topic.parent == parent
    assert not Feedback.objects.filter(pk__in=cluster.member_ids, analysis_status="pending").exists()
    # the analysis still loads the taxonomy (a broken parent link would fail every batch)
    (new,) = make_feedback(["电池掉电太严重"], source="later")
    codes = set(FeedbackTopic.objects.filter(feedback_id=new).values_list("code", flat=True))
    assert {"quality.battery", "quality"} <= codes


def test_adoption_rejects_bad_or_taken_codes_and_no_phrases():
    _ids, cluster = adopted_setup()
    parent = Topic.objects.get(code="quality")
    assert emerging.adoption_errors("Bad Code", None) == ["code"]
    assert emerging.adoption_errors("a.b", None) == ["code"]  # a dotted code would need a parent that may not exist
    assert emerging.adoption_errors("logistics", None) == ["taken"]
    assert emerging.adoption_errors("defect", parent) == ["taken"]  # quality.defect exists
    assert emerging.adoption_errors("defect", Topic.objects.get(code="quality.defect")) == ["parent"]
    with translation.override("en"), pytest.raises(emerging.EmergingError, match="phrase"):
        emerging.adopt_cluster(cluster, emerging.TopicProposal("battery", "电池", "Battery", [" "], []))
    assert not Topic.objects.filter(code="battery").exists()


def test_the_command_prints_the_clusters(capsys):
    themes()
    call_command("find_emerging_topics", "--days", "90")
    out = capsys.readouterr().out
    assert "16 uncovered items in the last 90 days, 2 clusters" in out
    assert "battery" in out and "蓝牙" in out


def test_adopting_into_an_empty_taxonomy_keeps_the_default_topics(django_capture_on_commit_callbacks):
    _ids, cluster = adopted_setup()
    Topic.objects.all().delete()  # e.g. a database whose taxonomy was never stored
    emerging.adopt_cluster(cluster, emerging.TopicProposal("battery", "电池", "Battery", [], ["battery"]),
                           reanalyze=False)  # fmt: skip
    assert Topic.objects.filter(code="logistics").exists() and Topic.objects.filter(code="battery").exists()
    (new,) = make_feedback(["the courier lost the parcel and the battery is dead"], source="later")
    codes = set(FeedbackTopic.objects.filter(feedback_id=new).values_list("top_code", flat=True))
    assert {"logistics", "battery"} <= codes
