"""The batch path of apply_rules decides exactly as the one-by-one path: the same cases, severities, links,
tags, firings, assignments and timelines, on a mix that exercises every branch (open, join, raise the
severity, reopen a resolved case, tag only, nothing, a customer's several items in one run)."""

from __future__ import annotations

from collections import Counter

import pytest

from voxloop.accounts.models import Role, Team, User
from voxloop.automation.models import AutomationRule, FeedbackTag, RoutingRule, RuleFiring
from voxloop.automation.services import WAVE, apply_rules
from voxloop.automation.tests.conftest import NOW
from voxloop.cases.models import Case, CaseEvent, CaseFeedback
from voxloop.cases.services import resolve_case


@pytest.fixture
def staffed(default_rules) -> Team:
    team = Team.objects.create(name="售后组", name_en="Care")
    for name, languages in (("wang", ["zh"]), ("smith", ["en"]), ("li", ["zh", "en"])):
        User.objects.create_user(name, password="x", role=Role.AGENT, languages_spoken=languages).teams.add(team)
    RoutingRule.objects.create(name="all", team=team, conditions=[])
    AutomationRule.objects.create(
        name="tag praise", order=90, conditions=[{"field": "sentiment", "op": "eq", "value": "positive"}],
        actions=[{"type": "add_tags", "tags": ["praise"]}],
    )  # fmt: skip
    return team


def scenario(make_item, prefix: str) -> list[int]:
    """Items of customers named ``prefix``-N; returns their ids (a resolved case of customer R exists)."""
    earlier = make_item(customer=f"{prefix}-R", topics=["refund.slow"])
    apply_rules([earlier.pk], now=NOW)
    resolve_case(CaseFeedback.objects.get(feedback=earlier).case, None, root_cause="refund", resolution="已退款")
    items = [
        make_item(customer=f"{prefix}-A", topics=["logistics.delay"]),
        make_item(customer=f"{prefix}-A", topics=["logistics.lost"]),  # joins A's case
        make_item(customer=f"{prefix}-A", topics=["price.high"], language="en"),  # another topic: another case
        make_item(customer=f"{prefix}-B", topics=["quality.defect"]),
        make_item(customer=f"{prefix}-B", topics=["quality.defect"], urgency="urgent", reasons=["safety:起火"]),
        make_item(customer=f"{prefix}-R", topics=["refund.slow"]),  # reopens R's resolved case
        make_item(customer=f"{prefix}-P", sentiment="positive", kind="praise"),  # tagged, no case
        make_item(customer=f"{prefix}-N", sentiment="neutral", kind="question"),  # nothing fires
        make_item(customer="", topics=["logistics.delay"]),  # no customer: its own case
    ]
    items += [make_item(customer=f"{prefix}-M{i}", topics=["service.attitude"], language="en") for i in range(12)]
    return [i.pk for i in items]


def outcome(ids: list[int], prefix: str) -> dict:
    """What a user sees, with the customers' prefix and the agents' identities taken out (who gets a case
    depends on the loads, which the first run changed for the second)."""

    def who(external_id: str | None) -> str:
        return (external_id or "").removeprefix(prefix)

    cases = Case.objects.filter(feedback_links__feedback_id__in=ids).distinct().order_by("pk")
    return {
        "cases": sorted(
            (
                who(c.customer.external_id if c.customer else None), c.severity, c.status, c.reopen_count,
                c.assignee_id is not None, c.repeat_of_id is not None, CaseFeedback.objects.filter(case=c).count(),
                tuple(sorted(Counter(CaseEvent.objects.filter(case=c).values_list("kind", flat=True)).items())),
            )
            for c in cases
        ),
        "tags": sorted(FeedbackTag.objects.filter(feedback_id__in=ids).values_list("tag", flat=True)),
        "firings": sorted(Counter(RuleFiring.objects.filter(feedback_id__in=ids).values_list("outcome", flat=True)).items()),
    }  # fmt: skip


def test_batch_and_one_by_one_decide_the_same(staffed, make_item):
    one_by_one = scenario(make_item, "S")
    single = apply_rules(one_by_one, now=NOW, batch=False)
    batched = scenario(make_item, "T")
    batch = apply_rules(batched, now=NOW)

    assert outcome(batched, "T") == outcome(one_by_one, "S")
    for name in ("evaluated", "matched", "firings", "assigned", "unassigned", "already_in_case", "historical"):
        assert getattr(batch, name) == getattr(single, name), name
    assert len(batch.cases_opened) == len(single.cases_opened) == 16
    assert len(batch.cases_linked) == len(single.cases_linked) == 3  # A's second item, B's urgent one, R's
    assert not batch.errors and not single.errors


def test_a_customers_items_beyond_one_wave_still_join_one_case(default_rules, make_item):
    items = [make_item(customer="BIG", topics=["logistics.delay"]) for _ in range(3)]
    items += [make_item(customer=f"W{i}") for i in range(WAVE + 5)]

    result = apply_rules([i.pk for i in items], now=NOW)

    assert len({CaseFeedback.objects.get(feedback=i).case_id for i in items[:3]}) == 1
    assert len(result.cases_opened) == 1 + WAVE + 5 and len(result.cases_linked) == 2
