"""The outcome metrics that follow customers: complaints per 1,000 orders (when orders are imported), the
repeat-complaint rate, and NPS/CSAT of the customers who gave feedback in the scope, in the frozen baseline and in
the before/after of a measured effect."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import outcomes, services
from voxloop.actions.tests.fixtures import implement
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Customer, Feedback, Order
from voxloop.surveys.models import Response, Survey

TODAY = date(2026, 6, 1)
SCOPE = outcomes.Scope(["delivery"], [], [], "")


def _at(day: date, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_current_timezone())


def _complaint(customer: Customer | None, day: date, n: int, topic: str = "delivery") -> Feedback:
    item = Feedback.objects.create(
        channel="webform", source="t", external_id=f"{customer.pk if customer else 0}-{day}-{n}-{topic}",
        received_at=_at(day), text="快递太慢", kind="complaint", sentiment="negative", customer=customer,
    )  # fmt: skip
    FeedbackTopic.objects.create(feedback=item, code=topic, top_code=topic)
    return item


def _answer(survey: Survey, customer: Customer, day: date, *, nps: int | None = None, csat: int | None = None):
    return Response.objects.create(
        survey=survey, customer=customer, submitted_at=_at(day, 12), channel="email", nps=nps, csat=csat,
        editable_until=_at(day + timedelta(days=7)),
    )  # fmt: skip


@pytest.fixture
def survey(db):
    return Survey.objects.create(name="NPS", kind="nps")


def test_customer_outcomes_count_repeats_orders_and_scores_of_the_affected(db, survey):
    first, last = TODAY - timedelta(days=30), TODAY - timedelta(days=1)
    ann, bo, cy, outsider = (Customer.objects.create(name=n) for n in ("Ann", "Bo", "Cy", "Out"))
    _complaint(ann, first + timedelta(days=1), 1)
    _complaint(ann, first + timedelta(days=5), 2)  # Ann complains again: a repeat
    _complaint(ann, first + timedelta(days=9), 3)  # and again
    _complaint(bo, first + timedelta(days=3), 1)
    _complaint(None, first + timedelta(days=3), 9)  # an anonymous complaint counts, but not toward repeats
    _complaint(outsider, first + timedelta(days=3), 1, topic="price")  # outside the scope
    for i in range(400):
        Order.objects.create(external_id=f"o{i}", ordered_at=_at(first + timedelta(days=i % 30)))
    _answer(survey, ann, first + timedelta(days=10), nps=2)
    _answer(survey, bo, first + timedelta(days=10), nps=10, csat=5)
    _answer(survey, cy, first + timedelta(days=10), nps=10)  # Cy gave no feedback in the scope: not affected
    _answer(survey, outsider, first + timedelta(days=10), nps=0)

    got = outcomes.customer_outcomes(SCOPE, first, last)

    assert got["complaints"] == 5 and got["orders"] == 400 and got["affected_customers"] == 2
    per_orders = got["complaints_per_1000_orders"]
    assert per_orders["value"] == pytest.approx(12.5) and per_orders["low"] < 12.5 < per_orders["high"]
    # 4 complaints from known customers, 2 customers: 2 of them repeat an earlier one
    assert got["repeat_rate"]["value"] == pytest.approx(0.5) and got["repeat_rate"]["n"] == 4
    assert got["nps"]["value"] == pytest.approx(0.0) and got["nps"]["n"] == 2  # one promoter, one detractor
    assert got["csat"]["value"] == pytest.approx(1.0) and got["csat"]["n"] == 1


def test_without_orders_the_per_order_rate_says_no_data(db):
    got = outcomes.customer_outcomes(SCOPE, TODAY - timedelta(days=30), TODAY - timedelta(days=1))
    assert got["orders"] == 0 and got["complaints_per_1000_orders"]["value"] is None
    assert got["nps"]["value"] is None and got["repeat_rate"]["value"] is None


def test_the_baseline_and_the_effect_carry_the_customer_outcomes(manager, agent, survey):
    department = Department.objects.create(name="物流部", manager=manager)
    implemented = TODAY - timedelta(days=40)
    customers = [Customer.objects.create(name=f"c{i}") for i in range(30)]
    # Before: every customer complains twice and answers NPS 3; after: once each, and answers NPS 10.
    for i, customer in enumerate(customers):
        _complaint(customer, implemented - timedelta(days=60 - i), 1)
        _complaint(customer, implemented - timedelta(days=30 - i % 20), 2)
        _answer(survey, customer, implemented - timedelta(days=10), nps=3)
        _complaint(customer, implemented + timedelta(days=1 + i % 30), 3)
        _answer(survey, customer, implemented + timedelta(days=35), nps=10)
    for i in range(300):
        Order.objects.create(external_id=f"o{i}", ordered_at=_at(implemented - timedelta(days=90 - i % 130)))

    action = services.create_action(
        manager, title="换快递公司", department=department, owner=agent, due_date=TODAY, topics=["delivery"],
        today=implemented,
    )  # fmt: skip
    assert action.baseline["repeat_rate"]["value"] == pytest.approx(0.5)
    assert action.baseline["nps"]["value"] == pytest.approx(-100.0)
    assert action.baseline["complaints_per_1000_orders"]["n"] > 0

    implement(manager, agent, action, implemented)
    report = services.compute_effect(action, today=TODAY)
    rows = {row["metric"]: row for row in report["outcomes"]}
    assert rows["repeat_rate"]["before"]["value"] == pytest.approx(0.5)
    assert rows["repeat_rate"]["after"]["value"] == pytest.approx(0.0)
    assert rows["repeat_rate"]["better"] is True
    assert rows["nps"]["after"]["value"] == pytest.approx(100.0) and rows["nps"]["better"] is True
    assert report["orders_imported"] is True
    # the daily task's shared read gives the same outcomes as the action's own queries
    start, last = services.measurement_span(action, 0, TODAY)
    shared = services.compute_effect(action, today=TODAY, cache=outcomes.OutcomeCache(start, last))
    assert shared["outcomes"] == report["outcomes"]
