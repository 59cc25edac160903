"""The two-period tests behind the report's "significant change": they agree with textbook values and call
a same-sized sample unchanged."""

from __future__ import annotations

import math

import pytest

from voxloop.stats import compare


def test_two_proportions_matches_the_pooled_z_test():
    test = compare.proportions(40, 100, 60, 100)
    assert test is not None
    assert test.z == pytest.approx(0.2 / math.sqrt(0.5 * 0.5 * 0.02))
    assert test.p_value == pytest.approx(0.00468, abs=1e-4) and test.significant
    same = compare.proportions(50, 100, 52, 100)
    assert same is not None and not same.significant
    assert compare.proportions(1, 0, 1, 10) is None


def test_nps_difference_uses_both_trinomial_variances():
    test = compare.nps((30, 40, 30), (50, 30, 20))  # NPS 0 -> +30 on 100 answers each
    assert test is not None and test.z > 0 and test.significant
    assert compare.nps((0, 0, 0), (1, 0, 0)) is None
    small = compare.nps((5, 3, 2), (6, 2, 2))
    assert small is not None and not small.significant


def test_means_and_counts():
    # Means 3.0 and 4.0, variance 1 each, n = 50: z = 1 / sqrt(2/50) = 5.
    before = (50, 150.0, 50 * 9.0 + 49.0)
    after = (50, 200.0, 50 * 16.0 + 49.0)
    test = compare.means(before, after)
    assert test is not None and test.z == pytest.approx(5.0, rel=1e-6)
    assert compare.means((1, 3.0, 9.0), after) is None
    # 310 items in 31 days against 300 in 30: the same daily rate.
    flat = compare.counts(310, 31, 300, 30)
    assert flat is not None and flat.p_value == pytest.approx(1.0)
    doubled = compare.counts(100, 30, 200, 30)
    assert doubled is not None and doubled.significant
    assert compare.counts(0, 30, 0, 31) is None


def test_certain_sides_do_not_divide_by_zero():
    none_either = compare.proportions(0, 10, 0, 10)
    assert none_either is not None and none_either.p_value == 1.0
    all_after = compare.proportions(0, 10, 10, 10)
    assert all_after is not None and all_after.significant
