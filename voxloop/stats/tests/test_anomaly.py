"""The early-warning detector on hand-made series with known answers."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxloop.stats.anomaly import (
    CountParams,
    Metric,
    RateParams,
    Severity,
    detect_count_anomalies,
    detect_nps_anomalies,
    detect_rate_anomalies,
    score_counts,
)

MONDAY = date(2026, 1, 5)
WEEKDAY_SHAPE = np.array([1.0, 1.0, 1.0, 1.0, 1.2, 3.0, 3.0])  # weekends three times busier


def weekly_series(days: int, level: float, seed: int, series: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lam = level * WEEKDAY_SHAPE[np.arange(days) % 7]
    return rng.poisson(lam, size=(series, days)).astype(float)


def test_injected_spike_is_detected_with_its_start_size_and_severity():
    counts = weekly_series(140, 20, seed=1, series=3)
    counts[1, 100:104] += 45  # an incident of four days from day 100 (a Wednesday)
    alerts = detect_count_anomalies(counts, MONDAY, keys=["logistics", "quality", "refund"])
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.key == "quality" and alert.metric is Metric.COUNT
    assert alert.start == MONDAY + timedelta(days=100)
    assert alert.end == MONDAY + timedelta(days=103)
    assert alert.observed > 2 * alert.expected
    assert alert.ratio == pytest.approx(alert.observed / alert.expected)
    assert alert.severity in (Severity.HIGH, Severity.CRITICAL)
    assert not alert.ongoing


def test_weekday_pattern_alone_is_not_an_alert():
    # weekends triple the volume every week: the same-weekday baseline expects it
    counts = weekly_series(365, 30, seed=2, series=20)
    assert detect_count_anomalies(counts, MONDAY) == []


def test_same_weekend_volume_on_a_weekday_is_an_alert():
    counts = np.tile(np.array([[20.0, 20, 20, 20, 24, 60, 60]]), (1, 12))
    counts[0, 78] = 60  # a Tuesday as busy as a Saturday
    alerts = detect_count_anomalies(counts, MONDAY)
    assert [a.start for a in alerts] == [MONDAY + timedelta(days=78)]


def test_small_counts_do_not_cry_wolf():
    counts = np.zeros((1, 84))
    counts[0, ::7] = 1
    counts[0, 80] = 6  # six times the usual, but six items
    assert detect_count_anomalies(counts, MONDAY) == []


def test_minimum_volume_gates_alerts():
    counts = np.full((1, 84), 2.0)
    counts[0, 80] = 40
    assert [a.start for a in detect_count_anomalies(counts, MONDAY)] == [MONDAY + timedelta(days=80)]
    assert detect_count_anomalies(counts, MONDAY, params=CountParams(min_count=50)) == []


def test_spike_in_the_history_does_not_hide_the_next_one():
    counts = weekly_series(120, 20, seed=3)
    counts[0, 60] += 80  # a one-day spike; the median baseline ignores it
    counts[0, 67] += 40  # the same weekday a week later is still unusual
    starts = [a.start for a in detect_count_anomalies(counts, MONDAY)]
    assert MONDAY + timedelta(days=67) in starts


def test_holiday_dip_in_the_history_does_not_make_normal_days_alerts():
    counts = weekly_series(140, 25, seed=4)
    counts[0, 60:67] = np.round(counts[0, 60:67] * 0.2)  # a holiday week
    assert detect_count_anomalies(counts, MONDAY) == []


def test_run_of_days_is_one_alert_since_its_first_day_and_ongoing():
    counts = weekly_series(100, 20, seed=5)
    counts[0, 95:] += 50
    (alert,) = detect_count_anomalies(counts, MONDAY)
    assert alert.start == MONDAY + timedelta(days=95)
    assert alert.days == 5 and alert.ongoing


def test_no_alert_without_enough_history():
    counts = weekly_series(21, 20, seed=6)
    counts[0, 15] += 200
    assert detect_count_anomalies(counts, MONDAY, params=CountParams(min_history_weeks=3)) == []
    scores = score_counts(counts)
    assert np.isnan(scores.expected[0, :21]).all()


def test_negative_share_rise_is_an_alert_but_two_of_three_is_not():
    rng = np.random.default_rng(7)
    totals = rng.poisson(100, size=(2, 90)).astype(float)
    negatives = rng.binomial(totals.astype(int), 0.2).astype(float)
    negatives[0, 80:83] = np.round(totals[0, 80:83] * 0.6)  # share jumps from 20% to 60%
    totals[1, 85], negatives[1, 85] = 3, 2  # 2 of 3 negative on a quiet day
    alerts = detect_rate_anomalies(negatives, totals, MONDAY, keys=["a", "b"], params=RateParams(min_total=1))
    assert [(a.key, a.start) for a in alerts] == [("a", MONDAY + timedelta(days=80))]
    (alert,) = alerts
    assert alert.metric is Metric.RATE
    assert alert.observed == pytest.approx(0.6, abs=0.02)
    assert alert.expected == pytest.approx(0.2, abs=0.03)


def test_nps_drop_is_an_alert_and_a_steady_nps_is_not():
    rng = np.random.default_rng(8)
    days = 84
    answers = rng.multinomial(60, [0.5, 0.3, 0.2], size=(2, days)).astype(float)
    answers[0, 80] = [10, 15, 35]  # NPS falls from about +30 to -42
    alerts = detect_nps_anomalies(answers[..., 0], answers[..., 1], answers[..., 2], MONDAY)
    assert [(a.series, a.start) for a in alerts] == [(0, MONDAY + timedelta(days=80))]
    assert alerts[0].observed == pytest.approx(100 * (10 - 35) / 60)
    assert alerts[0].expected == pytest.approx(30, abs=5)
    assert alerts[0].ratio is None  # a ratio of two NPS values means nothing


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ([[1.0, float("nan")]], "NaN"),
        ([[1.0, -2.0]], "negative"),
        ([[]], "no days"),
        (np.zeros((2, 2, 2)), "series x days"),
    ],
)
def test_bad_input_gets_a_specific_error(counts, message):
    with pytest.raises(ValueError, match=message):
        detect_count_anomalies(counts, MONDAY)


def test_bad_parameters_and_shapes_are_refused():
    with pytest.raises(ValueError, match="min_history_weeks"):
        detect_count_anomalies(np.ones((1, 30)), MONDAY, params=CountParams(weeks=2, min_history_weeks=3))
    with pytest.raises(ValueError, match="keys"):
        detect_count_anomalies(np.ones((2, 30)), MONDAY, keys=["only one"])
    with pytest.raises(ValueError, match="larger than its denominator"):
        detect_rate_anomalies([[3.0]], [[2.0]], MONDAY)
    with pytest.raises(ValueError, match="differ in shape"):
        detect_rate_anomalies([[1.0]], [[2.0, 2.0]], MONDAY)


def test_steady_negative_share_with_ordinary_noise_is_not_an_alert():
    rng = np.random.default_rng(9)
    totals = rng.poisson(80, size=(50, 365)).astype(float)
    negatives = rng.binomial(totals.astype(int), 0.3).astype(float)
    assert detect_rate_anomalies(negatives, totals, MONDAY) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=7, max_size=7), st.integers(4, 20))
def test_any_pattern_that_repeats_every_week_is_never_an_alert(week, weeks):
    counts = np.tile(np.array([week], dtype=float), (1, weeks))
    assert detect_count_anomalies(counts, MONDAY) == []


def test_severity_grows_with_the_size_of_the_rise():
    counts = np.tile(np.full((1, 7), 100.0), (3, 12))
    counts[0, 80] = 150  # +50%: z about 4.6
    counts[1, 80] = 220  # more than double
    counts[2, 80:83] = 400  # four times the usual for three days
    severities = {a.series: a.severity for a in detect_count_anomalies(counts, MONDAY)}
    assert severities == {0: Severity.MEDIUM, 1: Severity.HIGH, 2: Severity.CRITICAL}


def test_scoring_in_blocks_of_series_gives_the_same_result(monkeypatch):
    counts = weekly_series(100, 20, seed=10, series=7)
    counts[5, 90:93] += 60
    whole = score_counts(counts)
    monkeypatch.setattr("voxloop.stats.anomaly.SERIES_PER_BLOCK", 2)
    blocks = score_counts(counts)
    assert np.array_equal(whole.anomalous, blocks.anomalous) and whole.anomalous[5, 90]
    np.testing.assert_allclose(whole.z, blocks.z, equal_nan=True)
