"""Repeat complaints: flagged when the case opens, linked to the most recent earlier case of the same customer on
the same topic within REPEAT_WINDOW_DAYS, and counted by repeat_rate (hand-made data)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.models import Case, CaseEvent, EventKind
from voxloop.cases.repeat import repeat_rate
from voxloop.cases.services import merge_cases, open_case, resolve_case

DAY = timedelta(days=1)


@pytest.fixture
def case_on(make_feedback):
    """Open a case for customer ``customer`` about ``topics``, as if it had been opened ``days_ago`` days ago."""

    def _case(customer: str, topics: list[str], days_ago: float = 0) -> Case:
        fb = make_feedback(f"{customer} {topics}", customer_id=customer)
        for code in topics:
            FeedbackTopic.objects.create(feedback_id=fb, code=code, top_code=code.split(".")[0])
        when = timezone.now() - timedelta(days=days_ago)
        case = open_case([fb], now=when)
        Case.objects.filter(pk=case.pk).update(created_at=when)  # created_at is stamped by the database clock
        case.refresh_from_db()
        return case

    return _case


def test_same_customer_same_topic_within_the_window_is_a_repeat(case_on):
    older = case_on("C-1", ["logistics.delay"], days_ago=20)
    newer = case_on("C-1", ["logistics.lost"], days_ago=5)
    repeat = case_on("C-1", ["logistics.delay", "service.attitude"])
    assert repeat.repeat_of == newer  # the most recent earlier case
    assert newer.repeat_of == older
    event = CaseEvent.objects.get(case=repeat, kind=EventKind.REPEAT)
    assert event.payload["repeat_of_case_id"] == newer.pk
    assert event.payload["repeat_of_number"] == newer.number
    assert event.payload["topics"] == ["logistics"]
    assert event.payload["window_days"] == 30


@pytest.mark.parametrize(
    ("customer", "topics", "days_ago"),
    [
        ("C-2", ["logistics.delay"], 0),  # another customer
        ("C-1", ["price.too_high"], 0),  # another topic
    ],
)
def test_other_customer_or_topic_is_not_a_repeat(case_on, customer, topics, days_ago):
    case_on("C-1", ["logistics.delay"], days_ago=3)
    case = case_on(customer, topics, days_ago)
    assert case.repeat_of is None
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.REPEAT).exists()


def test_the_window_is_configurable(case_on, settings):
    case_on("C-1", ["quality"], days_ago=40)
    assert case_on("C-1", ["quality"]).repeat_of is None  # 40 days > 30
    settings.REPEAT_WINDOW_DAYS = 60
    assert case_on("C-1", ["quality"]).repeat_of is not None
    settings.REPEAT_WINDOW_DAYS = 0
    with pytest.raises(ImproperlyConfigured, match="REPEAT_WINDOW_DAYS must be a whole number of days of at least 1"):
        case_on("C-1", ["quality"])


def test_an_old_case_resolved_recently_still_counts(case_on, agent):
    old = case_on("C-1", ["quality"], days_ago=45)
    resolve_case(old, agent, root_cause="quality", resolution="换货", now=timezone.now() - 10 * DAY)
    assert case_on("C-1", ["quality"]).repeat_of == old


def test_merged_duplicates_are_not_what_a_repeat_points_to(case_on):
    target = case_on("C-1", ["quality"], days_ago=6)
    duplicate = case_on("C-3", ["quality"], days_ago=5)  # another customer, so it can be merged below
    Case.objects.filter(pk=duplicate.pk).update(customer=target.customer)
    merge_cases(target, [duplicate])
    assert case_on("C-1", ["quality"]).repeat_of == target


def test_a_case_without_topics_or_customer_is_not_flagged(make_feedback):
    first = open_case([make_feedback(customer_id="C-1")])
    second = open_case([make_feedback(customer_id="C-1")])  # no analysis yet: no topics to compare
    assert (first.repeat_of, second.repeat_of) == (None, None)


def test_repeat_rate_counts_cases_opened_in_the_period(case_on):
    case_on("C-1", ["logistics.delay"], days_ago=55)  # before the period
    case_on("C-1", ["logistics.delay"], days_ago=20)  # not a repeat: 35 days after the first
    case_on("C-1", ["logistics.lost"], days_ago=10)  # repeat (20 days ago, same top topic)
    case_on("C-2", ["price.too_high"], days_ago=9)
    case_on("C-2", ["price.too_high"], days_ago=1)  # repeat
    case_on("C-3", ["quality"], days_ago=1)
    start, end = timezone.now() - 25 * DAY, timezone.now()
    assert repeat_rate(start, end) == (2, 5)
    assert repeat_rate(start, end, topic="logistics") == (1, 2)
    assert repeat_rate(start, end, topic="logistics.lost") == (1, 1)
    assert repeat_rate(start, end, topic="price") == (1, 2)
    assert repeat_rate(start, end, topic="quality") == (0, 1)
    assert repeat_rate(start, end, topic="nothing") == (0, 0)
    assert repeat_rate(end, end + DAY) == (0, 0)
