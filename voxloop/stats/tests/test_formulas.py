"""The arithmetic, checked against numbers worked out by hand, and properties that must hold for any input."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxloop.stats import formulas as f


def test_nps_hand_computed():
    # 2 promoters, 1 passive, 2 detractors: NPS 0; Var = ((.4 + .4) - 0^2) / 5 = .16; half = 1.96 * .4.
    result = f.nps(promoters=2, passives=1, detractors=2)
    assert result is not None
    assert result.score == 0
    assert (result.promoter_share, result.passive_share, result.detractor_share) == (0.4, 0.2, 0.4)
    assert result.ci_low == pytest.approx(-78.4, abs=0.01)
    assert result.ci_high == pytest.approx(78.4, abs=0.01)


def test_nps_typical_mix():
    # 50 promoters, 30 passives, 20 detractors: 30 points; Var = (.7 - .09) / 100 = .0061.
    result = f.nps(50, 30, 20)
    assert result is not None
    assert result.score == pytest.approx(30)
    half = 100 * 1.959964 * math.sqrt(0.0061)
    assert result.ci_low == pytest.approx(30 - half, abs=1e-3) and result.ci_high == pytest.approx(30 + half, abs=1e-3)


def test_nps_all_detractors_is_minus_100_with_a_degenerate_interval():
    result = f.nps(0, 0, 7)
    assert result is not None
    assert result.score == -100
    assert (result.ci_low, result.ci_high) == (-100, -100)


def test_nps_without_answers_is_no_data_not_zero():
    assert f.nps(0, 0, 0) is None


def test_nps_interval_is_clipped():
    result = f.nps(1, 0, 0)  # one promoter: 100, and the normal interval would not go above it
    assert result is not None and result.ci_high == 100


def test_csat_top2_and_mean():
    # Scores 5, 4, 3: top-2 share 2/3, mean 4, sample variance 1.
    result = f.csat(n=3, total=12, total_squares=50, top2=2)
    assert result is not None
    assert result.top2_share.value == pytest.approx(2 / 3)
    assert result.mean.value == 4
    half = 1.959964 * math.sqrt(1 / 3)
    assert result.mean.ci_low == pytest.approx(4 - half, abs=1e-4)
    assert f.csat(0, 0, 0, 0) is None


def test_ces_mean_and_easy_share():
    # Scores 7, 5, 2: easy (5-7) 2 of 3, mean 14/3.
    result = f.ces(n=3, total=14, total_squares=78, easy=2)
    assert result is not None
    assert result.mean.value == pytest.approx(14 / 3)
    assert result.easy_share.value == pytest.approx(2 / 3)
    assert f.ces_is_easy(5) and not f.ces_is_easy(4)
    assert f.ces(0, 0, 0, 0) is None


def test_wilson_interval_known_values():
    # 8 of 10: Wilson 95% interval is about (0.490, 0.943).
    low, high = f.wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    low, high = f.wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-3)
    assert f.rate(0, 0) is None
    with pytest.raises(ValueError, match="between 0 and n"):
        f.wilson_interval(11, 10)


def test_exact_percentiles():
    assert f.percentile([1, 2, 3, 4], 50) == 2.5
    assert f.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == pytest.approx(91)
    assert f.percentile([], 50) is None


def test_histogram_percentile_stays_inside_the_right_bucket():
    values = [120, 600, 3600, 7200, 86400]
    histogram: dict[int, int] = {}
    for v in values:
        histogram[f.bucket_of(v)] = histogram.get(f.bucket_of(v), 0) + 1
    # The median is the 3rd of 5 (3600 s): the estimate lies in that value's bucket, within 25% of it.
    low, high = f.bucket_bounds(f.bucket_of(3600))
    estimate = f.histogram_percentile(histogram, 50)
    assert estimate is not None and low <= estimate <= high
    assert abs(estimate - 3600) / 3600 <= 0.25
    assert f.histogram_percentile({}, 50) is None
    stats = f.duration_stats(histogram)
    assert stats.p90 is not None and stats.median is not None
    assert stats.n == 5 and stats.p90 >= stats.median


def test_buckets_cover_zero_negative_and_very_long_durations():
    assert f.bucket_of(-5) == 0 and f.bucket_of(0) == 0 and f.bucket_of(59.9) == 0
    assert f.bucket_of(60) == 1
    assert f.bucket_of(10**12) == f.BUCKET_COUNT


def test_merge_histograms_accepts_json_keys():
    mixed = [{"3": 2}, {3: 1, "4": 5}]  # str and int keys in one list: JSON's and Python's
    assert f.merge_histograms(mixed) == {3: 3, 4: 5}  # type: ignore[arg-type]


def test_compare_and_ratio():
    c = f.compare(0.8, 0.5)
    assert c.delta == pytest.approx(0.3) and c.relative == pytest.approx(0.6)
    assert f.compare(None, 0.5).delta is None
    assert f.compare(0.2, 0).relative is None
    assert f.ratio(0.54, 0.2) == pytest.approx(2.7)
    assert f.ratio(0.5, 0) is None and f.ratio(None, 0.2) is None


def test_repeat_rate_and_alert():
    r = f.repeat_rate(3, 12)
    assert r is not None and r.value == 0.25
    assert f.is_alert(r, 0.15) and not f.is_alert(r, 0.25)
    assert not f.is_alert(f.repeat_rate(0, 0), 0.15)


counts = st.integers(min_value=0, max_value=10_000)


@given(counts, counts, counts)
def test_nps_property_range_and_shares(promoters, passives, detractors):
    result = f.nps(promoters, passives, detractors)
    if promoters + passives + detractors == 0:
        assert result is None
        return
    assert result is not None
    assert -100 <= result.score <= 100
    assert -100 <= result.ci_low <= result.score <= result.ci_high <= 100
    assert result.promoter_share + result.passive_share + result.detractor_share == pytest.approx(1.0)


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_wilson_property_interval_contains_the_rate(n, data):
    k = data.draw(st.integers(min_value=0, max_value=n))
    low, high = f.wilson_interval(k, n)
    assert 0 <= low <= k / n <= high <= 1


@given(st.lists(st.floats(min_value=0, max_value=10**8, allow_nan=False), min_size=1, max_size=200))
def test_histogram_percentiles_are_monotone_and_near_the_truth(values):
    histogram = f.merge_histograms([{f.bucket_of(v): 1} for v in values])
    p50, p90 = f.histogram_percentile(histogram, 50), f.histogram_percentile(histogram, 90)
    assert p50 is not None and p90 is not None
    assert p50 <= p90
    # The estimate lies between the smallest and the largest bucket that hold data.
    assert f.bucket_bounds(min(histogram))[0] <= p50 <= f.bucket_bounds(max(histogram))[1]


def test_formulas_never_import_django():
    # Load the file itself (the voxloop package's __init__ starts Celery, which is Django's business).
    code = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('formulas', "
        f"{f.__file__!r}); module = importlib.util.module_from_spec(spec); sys.modules['formulas'] = module; "
        "spec.loader.exec_module(module); "
        "print('django' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
