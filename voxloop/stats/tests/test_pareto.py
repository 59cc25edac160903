"""Pareto of causes and "what changed" between two periods."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxloop.stats.pareto import largest_remainder_percents, pareto, what_changed

counts_strategy = st.dictionaries(
    st.text(min_size=1, max_size=8), st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30
).filter(lambda d: sum(d.values()) > 0)


@given(counts_strategy)
def test_shares_sum_to_one_and_displayed_percents_to_exactly_100(counts):
    rows = pareto(counts)
    assert math.isclose(sum(r.share for r in rows), 1.0)
    assert round(sum(r.percent for r in rows), 6) == 100.0
    assert math.isclose(rows[-1].cumulative_share, 1.0)
    assert [r.count for r in rows] == sorted(counts.values(), reverse=True)
    for r in rows:
        assert 0 <= r.ci_low <= r.share <= r.ci_high <= 1
        assert abs(r.percent - 100 * r.share) <= 0.1 + 1e-9


def test_ranked_causes_with_cumulative_share_and_vital_few():
    rows = pareto({"refund": 15, "logistics": 50, "quality": 30, "price": 5, "environment": 0})
    assert [r.cause for r in rows] == ["logistics", "quality", "refund", "price", "environment"]
    assert [r.share for r in rows] == [0.5, 0.3, 0.15, 0.05, 0.0]
    assert [round(r.cumulative_share, 2) for r in rows] == [0.5, 0.8, 0.95, 1.0, 1.0]
    assert [r.vital_few for r in rows] == [True, True, False, False, False]  # 80% reached after two causes
    # Wilson 95% interval of 50/100
    assert rows[0].ci_low == pytest.approx(0.4038, abs=1e-4)
    assert rows[0].ci_high == pytest.approx(0.5962, abs=1e-4)


def test_percents_are_rounded_so_they_add_up():
    # three equal causes: 33.3 + 33.3 + 33.3 would be 99.9
    assert largest_remainder_percents([1, 1, 1]) == [33.4, 33.3, 33.3]
    assert [r.percent for r in pareto({"a": 1, "b": 1, "c": 1})] == [33.4, 33.3, 33.3]


@pytest.mark.parametrize(
    ("counts", "message"),
    [({}, "nothing to rank"), ({"a": 0}, "nothing to rank"), ({"a": -1}, "negative"), ({"a": 1.5}, "whole number")],
)
def test_bad_counts_get_a_specific_error(counts, message):
    with pytest.raises(ValueError, match=message):
        pareto(counts)


def test_what_changed_flags_a_real_shift_and_not_noise():
    before = {"logistics": 200, "quality": 300, "price": 500}
    after = {"logistics": 400, "quality": 290, "price": 310}  # logistics doubles its share
    changes = {c.cause: c for c in what_changed(before, after)}
    logistics = changes["logistics"]
    assert logistics.before_share == pytest.approx(0.2) and logistics.after_share == pytest.approx(0.4)
    assert logistics.difference == pytest.approx(0.2)
    assert logistics.ci_low < 0.2 < logistics.ci_high and logistics.ci_low > 0
    assert logistics.significant and logistics.p_value < 1e-10
    assert not changes["quality"].significant  # 30% -> 29%: noise
    # hand check of the pooled two-proportion z for logistics
    pooled = 600 / 2000
    z = 0.2 / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    assert logistics.z == pytest.approx(z)


def test_what_changed_includes_causes_new_in_one_period_and_orders_by_size():
    changes = what_changed({"a": 50, "b": 50}, {"a": 40, "b": 40, "new": 20})
    assert [c.cause for c in changes][0] == "new"
    new = changes[0]
    assert (new.before_count, new.after_count, new.after_share) == (0, 20, 0.2)


def test_holm_correction_keeps_small_shifts_among_many_causes_insignificant():
    before = {f"cause{i}": 100 for i in range(20)}
    after = dict(before, cause0=135)  # p ~ 0.03 on its own; not after correcting for 20 comparisons
    changes = {c.cause: c for c in what_changed(before, after)}
    assert 0.01 < changes["cause0"].p_value < 0.05
    assert not changes["cause0"].significant


def test_what_changed_needs_items_in_both_periods():
    with pytest.raises(ValueError, match="both periods"):
        what_changed({"a": 0}, {"a": 3})
