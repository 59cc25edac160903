"""The effect estimators on synthetic series with a known effect, and their error rates by simulation."""

from __future__ import annotations

import numpy as np
import pytest

from voxloop.stats.effects import (
    Verdict,
    Warning_,
    before_after,
    difference_in_differences,
    hac_wls,
    interrupted_time_series,
    judge,
    simulate_verdicts,
    synthetic_rate_series,
)

INTERVENTION = 90


def series(seed: int, effect: float, days: int = 120, **kw):
    return synthetic_rate_series(np.random.default_rng(seed), days=days, intervention=INTERVENTION, effect=effect, **kw)


def test_a_realistic_cut_in_the_complaint_rate_is_found_and_sized():
    # 12% of ~120 items a day complain; the fix cuts that by a quarter (to 9%) on day 90
    rate, n, crate, cn = series(3, 0.25)
    report = judge(rate, n, INTERVENTION, control_values=crate, control_weights=cn)
    assert report.verdict is Verdict.EFFECTIVE
    assert report.improvement is not None and report.improvement.ci_low > 0
    # the true cut is 0.03 (3 points); the interval must contain it and the estimate be near
    assert report.improvement.ci_low < 0.03 < report.improvement.ci_high
    assert report.relative_improvement is not None and 0.15 < report.relative_improvement < 0.40
    assert report.did is not None and report.did.effect.value < 0  # DiD sees the same fall
    assert report.before_after is not None
    assert report.before_after.after_mean < report.before_after.before_mean
    assert report.warnings == []


def test_no_effect_is_not_called_effective_and_a_rise_is_not_effective():
    rate, n, crate, cn = series(5, 0.0, days=180)
    report = judge(rate, n, INTERVENTION, control_values=crate, control_weights=cn)
    assert report.verdict in {Verdict.NOT_EFFECTIVE, Verdict.INCONCLUSIVE}
    worse, n2, c2, cn2 = series(6, -0.3)  # the "fix" made complaints 30% more frequent
    assert judge(worse, n2, INTERVENTION, control_values=c2, control_weights=cn2).verdict is Verdict.NOT_EFFECTIVE


def test_higher_is_better_metrics_turn_the_sign():
    rate, n, _, _ = series(3, 0.25, with_control=False)
    satisfied = 1 - rate  # the share of content customers rose as the complaint rate fell
    report = judge(satisfied, n, INTERVENTION, lower_is_better=False)
    assert report.improvement is not None
    assert report.verdict is Verdict.EFFECTIVE and report.improvement.value > 0


def test_too_early_before_fourteen_days_and_small_n_is_flagged():
    rate, n, _, _ = series(1, 0.25, days=INTERVENTION + 10, with_control=False)
    report = judge(rate, n, INTERVENTION)
    assert report.verdict is Verdict.TOO_EARLY and report.post_days == 10
    assert report.improvement is None

    tiny_rate, tiny_n, _, _ = series(2, 0.0, items_per_day=2, with_control=False)
    small = judge(tiny_rate, tiny_n, INTERVENTION)
    assert Warning_.SMALL_N_AFTER in small.warnings
    assert small.verdict is Verdict.INCONCLUSIVE
    # with two items a day a 10% change needs far more than the 30 days there are
    assert small.post_days_needed is not None and small.items_needed is not None
    assert small.post_days_needed > 60 and small.items_needed > small.post_days_needed


def test_a_short_baseline_is_flagged():
    rate, n, _, _ = series(4, 0.0, with_control=False)
    report = judge(rate[70:], n[70:], INTERVENTION - 70)
    assert Warning_.SHORT_BASELINE in report.warnings


def test_interrupted_time_series_recovers_a_level_and_slope_change_without_noise():
    days = np.arange(150)
    y = 10 + 0.02 * days  # a rising trend
    y = y + np.where(days >= 100, -3 + 0.05 * (days - 100), 0.0)  # a drop of 3, then a steeper rise
    its = interrupted_time_series(y + np.random.default_rng(0).normal(0, 0.01, 150), np.ones(150), 100)
    assert its.level_change.value == pytest.approx(-3, abs=0.02)
    assert its.slope_change is not None and its.slope_change.value == pytest.approx(0.05, abs=0.002)
    assert its.pre_slope == pytest.approx(0.02, abs=0.002)
    assert its.pre_trend_ok
    # the counterfactual carries the old trend on, and only from the intervention
    assert its.counterfactual[99] is None and its.counterfactual[120] == pytest.approx(10 + 0.02 * 120, abs=0.05)
    low, mid, high = its.counterfactual_low[120], its.counterfactual[120], its.counterfactual_high[120]
    assert low is not None and mid is not None and high is not None and low < mid < high


def test_a_break_inside_the_baseline_fails_the_pre_trend_check():
    days = np.arange(150)
    rng = np.random.default_rng(1)
    y = 10 + np.where(days >= 45, 2.0, 0.0) + rng.normal(0, 0.3, 150)  # a jump half-way through the baseline
    its = interrupted_time_series(y, np.ones(150), 100)
    assert not its.pre_trend_ok


def test_difference_in_differences_and_the_parallel_trends_check():
    rng = np.random.default_rng(2)
    days = np.arange(120)
    common = np.cumsum(rng.normal(0, 0.05, 120))  # a shock both scopes share
    control = 5 + common + rng.normal(0, 0.1, 120)
    treated = 6 + common + rng.normal(0, 0.1, 120) - np.where(days >= 90, 1.0, 0.0)
    did = difference_in_differences(treated, np.ones(120), control, np.ones(120), 90)
    assert did.effect.value == pytest.approx(-1.0, abs=0.1) and did.effect.ci_high < 0
    assert did.parallel_ok
    drifting = treated + 0.03 * days  # the treated scope drifted away before the action
    assert not difference_in_differences(drifting, np.ones(120), control, np.ones(120), 90).parallel_ok


def test_before_after_counts_the_windows():
    rate, n, _, _ = series(8, 0.25, with_control=False)
    ba = before_after(rate, n, INTERVENTION)
    assert ba.before_days == 90 and ba.after_days == 30
    assert ba.before_n == int(n[:90].sum())
    assert ba.before_ci[0] < ba.before_mean < ba.before_ci[1]
    assert ba.difference.value < 0


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match="same length"):
        judge([0.1, 0.2], [1.0], 1)
    with pytest.raises(ValueError, match="negative"):
        judge([0.1, 0.2], [1.0, -1.0], 1)
    with pytest.raises(ValueError, match="within the series"):
        judge([0.1, 0.2], [1.0, 1.0], 5)
    with pytest.raises(ValueError, match="cannot fit"):
        hac_wls(np.ones(2), np.ones((2, 3)))


def test_false_positive_rate_over_null_series_is_within_alpha():
    # 300 series with no effect at all: "effective" may be claimed at most alpha of the time (the
    # verdict's nominal rate is alpha / 2; the tolerance is two standard errors of the simulation)
    shares = simulate_verdicts(np.random.default_rng(11), 300, 0.0, days=120)
    assert shares["effective"] <= 0.05 + 0.025


def test_power_for_a_realistic_effect():
    # a 25% cut in the complaint rate, 30 days after: found in at least three runs of four
    shares = simulate_verdicts(np.random.default_rng(12), 100, 0.25, days=120)
    assert shares["effective"] >= 0.75
    assert shares["not_effective"] == 0
