"""Early warning: anomalies in daily count series and in daily rates (negative share, NPS).

All series are scored at once as a 2-D array (series x days), so a year of thousands of series takes
seconds. Every figure for day ``t`` uses only days before ``t`` as its baseline, so an alert raised on a
day is one that could have been raised on that day (no look-ahead).

Counts (feedback per topic / product / channel):
    expected  = median of the same weekday over the previous ``weeks`` weeks (weekday seasonality; a
                median ignores one-off spikes and holiday dips in the history)
    z         = (sqrt(observed + 3/8) - sqrt(expected + 3/8)) / spread, where spread is the robust spread
                (1.4826 x MAD) of the same-weekday values on that square-root scale, pooled over the
                seven weekdays (median of their MADs), at least 0.5 (what Poisson noise gives: a very
                regular series does not alert on +2), widened for the uncertainty of a median of few weeks
    anomalous = z >= z_threshold and observed >= min_count and observed - expected >= min_excess
                and observed >= min_ratio x expected

Rates (negatives / total per day):
    expected  = the rate pooled over the previous ``weeks`` weeks
    z         = (observed - expected) / sqrt(p0 (1 - p0) (1/n + 1/n_baseline))
    anomalous = total >= min_total and the rate rose by >= min_delta and z >= z_threshold and the lower
                Wilson bound of the observed rate (at ``z_threshold``) is above the expected rate -- so 2
                negatives of 3 are not an alert, 60 of 100 against a usual 30% are

Rates are tested over the last ``window`` days (default 3: a sustained rise of a few points is invisible
in one day's 30 items but clear in three days'), and the day itself must be up by ``min_delta`` too, so
an alert neither starts before nor lingers after the days that rose.

NPS (promoters, passives, detractors per day): like rates, but the test is on the NPS drop with its
trinomial standard error, and ``min_delta`` is in NPS points (defaults: ``NPS_PARAMS``, one-day window).

Consecutive anomalous days of one series (gaps up to ``max_gap`` days are bridged) make one
:class:`Alert`: what rose, by how much (observed vs expected, ratio, peak z), since when, severity.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import numpy as np

MAD_TO_SIGMA = 1.4826  # makes the MAD a consistent estimate of a normal standard deviation
POISSON_SQRT_SPREAD = 0.5  # standard deviation of sqrt(Poisson + 3/8) at any level
SERIES_PER_BLOCK = 4096


class Severity(StrEnum):
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Metric(StrEnum):
    COUNT = "count"
    RATE = "rate"
    NPS = "nps"


@dataclass(frozen=True)
class CountParams:
    weeks: int = 8  # same-weekday history used for the baseline
    min_history_weeks: int = 3  # fewer usable weeks: no baseline, no alert
    z_threshold: float = 4.0
    min_count: int = 10  # a day with fewer items is never an alert
    min_excess: float = 5.0  # at least this many items above the expected count
    min_ratio: float = 1.5  # and at least this multiple of it
    max_gap: int = 1  # quiet days bridged inside one alert

    def validate(self) -> None:
        _check_common(self.weeks, self.min_history_weeks, self.z_threshold, self.max_gap)
        if self.min_count < 0 or self.min_excess < 0 or self.min_ratio < 1:
            raise ValueError("min_count and min_excess must be >= 0 and min_ratio >= 1")


@dataclass(frozen=True)
class RateParams:
    weeks: int = 8
    min_history_weeks: int = 3
    z_threshold: float = 4.0  # z of the rise (rates) or drop (NPS); also the Wilson bound for rates
    min_total: int = 20  # a day with a smaller denominator is never an alert
    min_delta: float = 0.10  # rates: absolute rise (0.10 = 10 percentage points); NPS: points of drop
    window: int = 3  # days summed into each observation: a sustained rise of a few points shows over 3 days
    max_gap: int = 1

    def validate(self) -> None:
        _check_common(self.weeks, self.min_history_weeks, self.z_threshold, self.max_gap)
        if self.min_total < 1 or self.min_delta < 0 or self.window < 1:
            raise ValueError("min_total and window must be >= 1 and min_delta >= 0")


# NPS moves in points, and its answers are fewer and noisier than feedback items
NPS_PARAMS = RateParams(min_total=30, min_delta=10.0, window=1)


def _check_common(weeks: int, min_history_weeks: int, z_threshold: float, max_gap: int) -> None:
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    if not 1 <= min_history_weeks <= weeks:
        raise ValueError("min_history_weeks must be between 1 and weeks")
    if z_threshold <= 0:
        raise ValueError("z_threshold must be positive")
    if max_gap < 0:
        raise ValueError("max_gap cannot be negative")


@dataclass(frozen=True)
class Scores:
    """Per series and day: what was seen, what was expected, how unusual, and whether it is anomalous.

    ``expected`` is NaN where there is not enough history; pages draw it as the baseline band."""

    observed: np.ndarray
    expected: np.ndarray
    z: np.ndarray
    anomalous: np.ndarray
    elevated: np.ndarray | None = None  # still unusual (half the z threshold): keeps an open alert open
    numerator: np.ndarray | None = None  # rates: each day's own negatives (NPS: promoters - detractors)
    denominator: np.ndarray | None = None


@dataclass(frozen=True)
class Alert:
    series: int  # row index in the input arrays
    key: Hashable  # the label passed in ``keys`` (e.g. ("topic", "logistics"))
    metric: Metric
    start: date  # first anomalous day: "since when"
    end: date  # last anomalous day
    days: int  # days in the run (anomalous days and the still-elevated days between and after them)
    ongoing: bool  # the run reaches the last day scored
    observed: float  # counts: items over the anomalous days; rates/NPS: pooled value over them
    expected: float  # same, from the baseline
    ratio: float | None  # observed / expected (None when expected is 0, and for NPS)
    peak_z: float  # largest |z| in the run
    severity: Severity
    numerator: float | None = None
    denominator: float | None = None


# --- scoring ---------------------------------------------------------------------------------------


def _as_2d(values: np.ndarray | Sequence[Any], name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a series x days array, got {arr.ndim} dimensions")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no days")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; use 0 for days without items")
    if (arr < 0).any():
        raise ValueError(f"{name} contains negative values")
    return arr


def _weekly_lags(x: np.ndarray, weeks: int, step: int = 7, include_today: bool = False) -> np.ndarray:
    """(lags, series, days): lag k*step of x for k = 1..weeks (and 0 first with ``include_today``),
    NaN before the first day."""
    series, days = x.shape
    first = 0 if include_today else 1
    out = np.full((weeks + 1 - first, series, days), np.nan, dtype=np.float32)
    for k in range(first, weeks + 1):
        shift = k * step
        if shift < days:
            out[k - first, :, shift:] = x[:, : days - shift]
    return out


def _nan_median(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median along axis 0 ignoring NaNs, and how many values were valid.

    np.nanmedian is several times slower on this shape; NaNs sort last, so the median of the n valid
    values sits at positions (n-1)//2 and n//2 of the sorted stack."""
    ordered = np.sort(stack, axis=0)
    valid = np.sum(~np.isnan(stack), axis=0)
    low = np.maximum((valid - 1) // 2, 0)
    high = np.maximum(valid // 2, 0)
    lo = np.take_along_axis(ordered, low[None], axis=0)[0]
    hi = np.take_along_axis(ordered, high[None], axis=0)[0]
    median = (lo.astype(np.float64) + hi) / 2
    median[valid == 0] = np.nan
    return median, valid


def score_counts(counts: np.ndarray | Sequence[Any], params: CountParams | None = None) -> Scores:
    """Score every day of every count series (rows) against its same-weekday baseline."""
    params = params or CountParams()
    params.validate()
    x = _as_2d(counts, "counts")
    # blocks of series bound the memory of the (weeks x series x days) lag stack: ~70 MB per block
    parts = [_score_count_block(x[i : i + SERIES_PER_BLOCK], params) for i in range(0, len(x), SERIES_PER_BLOCK)]
    expected, z, anomalous, elevated = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return Scores(observed=x, expected=expected, z=z, anomalous=anomalous, elevated=elevated)


def _score_count_block(x: np.ndarray, params: CountParams) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lags = _weekly_lags(x, params.weeks)
    expected, valid = _nan_median(lags)
    # The spread is measured after the variance-stabilising sqrt (Anscombe) transform: there a Poisson
    # series has spread 0.5 whatever its level, so one threshold suits a series of 5 a day and one of 500.
    # The median commutes with sqrt, so the baseline itself needs no second pass.
    np.sqrt(lags + np.float32(0.375), out=lags)
    centre = np.sqrt(expected + 0.375)
    mad, _ = _nan_median(np.abs(lags - centre[None].astype(np.float32)))
    del lags
    # A MAD of 8 values is itself noisy and now and then far too small, which made ordinary days of an
    # over-dispersed series look like spikes; the median of the seven weekdays' MADs (56 values in all)
    # is a much steadier estimate of how much this series varies.
    mad = _nan_median(_weekly_lags(mad, 6, step=1, include_today=True))[0]
    enough = valid >= params.min_history_weeks
    # a median of n values is itself uncertain (variance ~ 1.57 sigma^2 / n): widen the spread by it
    spread = np.maximum(MAD_TO_SIGMA * mad, POISSON_SQRT_SPREAD) * np.sqrt(1 + 1.57 / np.maximum(valid, 1))
    expected = np.where(enough, expected, np.nan)
    with np.errstate(invalid="ignore"):
        z = (np.sqrt(x + 0.375) - centre) / spread
        anomalous = (
            enough
            & (z >= params.z_threshold)
            & (x >= params.min_count)
            & (x - expected >= params.min_excess)
            & (x >= params.min_ratio * expected)
        )
        elevated = enough & (z >= params.z_threshold / 2) & (x > expected)
    return expected, np.where(enough, z, np.nan), anomalous, elevated


def _window_sum(x: np.ndarray, window: int) -> np.ndarray:
    if window == 1:
        return x
    c = np.cumsum(np.pad(x, ((0, 0), (1, 0))), axis=1)
    out = c[:, window:] - c[:, :-window]
    head = c[:, 1:window]  # the first days sum what exists so far
    return np.concatenate([head, out], axis=1)


def _trailing(parts: list[np.ndarray], weeks: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Sums of each part over the ``weeks`` whole weeks before each day, and how many of those weeks
    had a non-zero denominator (``parts[-1]``)."""
    days = parts[0].shape[1]
    t = np.arange(days)
    sums = []
    for part in parts:
        c = np.cumsum(np.pad(part, ((0, 0), (1, 0))), axis=1)  # c[:, t] = sum of days before t
        sums.append(c[:, t] - c[:, np.maximum(t - 7 * weeks, 0)])
    c = np.cumsum(np.pad(parts[-1], ((0, 0), (1, 0))), axis=1)
    valid = np.zeros(parts[-1].shape, dtype=np.int64)
    for k in range(1, weeks + 1):
        begin, end = t - 7 * k, t - 7 * (k - 1)
        ok = begin >= 0
        valid[:, ok] += (c[:, end[ok]] - c[:, begin[ok]]) > 0
    return sums, valid


def score_rates(
    numerators: np.ndarray | Sequence[Any], denominators: np.ndarray | Sequence[Any], params: RateParams | None = None
) -> Scores:
    """Score a share (e.g. negative items / all items) per series and day; only rises are anomalous.

    The baseline is the rate pooled over the previous ``weeks`` weeks: for the small denominators of
    most topic x product cuts a pooled rate is far steadier than a median of weekly rates, and its own
    uncertainty is part of z."""
    params = params or RateParams()
    params.validate()
    num = _as_2d(numerators, "numerators")
    den = _as_2d(denominators, "denominators")
    if num.shape != den.shape:
        raise ValueError(f"numerators {num.shape} and denominators {den.shape} differ in shape")
    if (num > den).any():
        raise ValueError("a numerator is larger than its denominator")
    (base_num, base_den), valid = _trailing([num, den], params.weeks)
    enough = (valid >= params.min_history_weeks) & (base_den > 0)
    n = _window_sum(num, params.window)
    d = _window_sum(den, params.window)
    zt = params.z_threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(enough, base_num / base_den, np.nan)
        p = np.where(d > 0, n / d, np.nan)
        # lower Wilson bound of the observed rate at z_threshold: small denominators get wide bounds
        denom = 1 + zt * zt / d
        centre = (p + zt * zt / (2 * d)) / denom
        half = zt * np.sqrt(p * (1 - p) / d + zt * zt / (4 * d * d)) / denom
        lower = centre - half
        p0 = np.clip(expected, 1e-3, 1 - 1e-3)
        z = (p - expected) / np.sqrt(p0 * (1 - p0) * (1 / d + 1 / base_den))
        # the day itself must be up too: otherwise the window would keep alerting for window-1 days after
        # an incident ends
        rise_today = np.where(den > 0, num / den, np.nan) - expected
        anomalous = (
            enough
            & (d >= params.min_total)
            & (p - expected >= params.min_delta)
            & (rise_today >= params.min_delta)
            & (lower > expected)
            & (z >= zt)
        )
        elevated = enough & (z >= zt / 2) & (rise_today >= params.min_delta / 2)
    anomalous &= np.isfinite(p)
    return Scores(
        observed=p, expected=expected, z=z, anomalous=anomalous, elevated=elevated, numerator=num, denominator=den
    )


def score_nps(
    promoters: np.ndarray | Sequence[Any],
    passives: np.ndarray | Sequence[Any],
    detractors: np.ndarray | Sequence[Any],
    params: RateParams | None = None,
) -> Scores:
    """Score NPS (points) per series and day; only drops are anomalous. Use ``window=7`` for sparse surveys."""
    params = params or NPS_PARAMS
    params.validate()
    pro = _as_2d(promoters, "promoters")
    pas = _as_2d(passives, "passives")
    det = _as_2d(detractors, "detractors")
    if not pro.shape == pas.shape == det.shape:
        raise ValueError("promoters, passives and detractors differ in shape")
    total = pro + pas + det
    (base_pro, base_det, base_total), valid = _trailing([pro, det, total], params.weeks)
    enough = (valid >= params.min_history_weeks) & (base_total > 0)
    p_n = _window_sum(pro, params.window)
    d_n = _window_sum(det, params.window)
    t_n = _window_sum(total, params.window)
    with np.errstate(invalid="ignore", divide="ignore"):
        plus, minus = base_pro / base_total, base_det / base_total
        expected = np.where(enough, 100 * (plus - minus), np.nan)
        observed = np.where(t_n > 0, 100 * (p_n - d_n) / t_n, np.nan)
        # variance of one answer by the trinomial method, from the baseline mix; floored so a period of
        # only promoters does not make every later answer infinitely surprising
        variance = np.maximum((plus + minus) - (plus - minus) ** 2, 0.01)
        se = 100 * np.sqrt(variance * (1 / t_n + 1 / base_total))
        z = (observed - expected) / se
        drop_today = expected - np.where(total > 0, 100 * (pro - det) / total, np.nan)
        anomalous = (
            enough
            & (t_n >= params.min_total)
            & (expected - observed >= params.min_delta)
            & (drop_today >= params.min_delta)
            & (z <= -params.z_threshold)
        )
        elevated = enough & (z <= -params.z_threshold / 2) & (drop_today >= params.min_delta / 2)
    anomalous &= np.isfinite(observed)
    return Scores(
        observed=observed, expected=expected, z=z, anomalous=anomalous, elevated=elevated,
        numerator=pro - det, denominator=total,
    )  # fmt: skip


# --- alerts ----------------------------------------------------------------------------------------


def _severity(peak_z: float, threshold: float, ratio: float | None, days: int) -> Severity:
    """Critical: at least 3x the threshold z, or three times the usual volume for 3+ days;
    high: 2x the threshold z, or double the usual; medium: anything else that alerted."""
    if peak_z >= 3 * threshold or (ratio is not None and ratio >= 3 and days >= 3):
        return Severity.CRITICAL
    if peak_z >= 2 * threshold or (ratio is not None and ratio >= 2):
        return Severity.HIGH
    return Severity.MEDIUM


def alerts_from_scores(
    scores: Scores,
    metric: Metric,
    start: date,
    keys: Sequence[Hashable] | None = None,
    *,
    z_threshold: float,
    max_gap: int = 1,
) -> list[Alert]:
    """Group anomalous days into runs, one :class:`Alert` per run, ordered by start day then series.

    A run starts on an anomalous day and stays open over later days that are anomalous or still
    *elevated* (z beyond half the threshold): an incident whose weekend days are only moderately above
    a busy weekend baseline stays one alert. Gaps of up to ``max_gap`` ordinary days are bridged too."""
    series_count, days = scores.anomalous.shape
    if keys is not None and len(keys) != series_count:
        raise ValueError(f"{len(keys)} keys for {series_count} series")
    elevated = scores.anomalous if scores.elevated is None else scores.elevated | scores.anomalous
    rows, cols = np.nonzero(scores.anomalous)
    alerts: list[Alert] = []
    i = 0
    while i < len(rows):
        s = int(rows[i])
        run = [int(cols[i])]
        j = i
        while True:
            day, quiet = run[-1] + 1, 0
            while day < days and quiet <= max_gap:
                if scores.anomalous[s, day] or elevated[s, day]:
                    run.append(day)
                    quiet = 0
                else:
                    quiet += 1
                day += 1
            while j + 1 < len(rows) and rows[j + 1] == s and cols[j + 1] <= run[-1]:
                j += 1  # anomalous days already taken into the run
            if j + 1 < len(rows) and rows[j + 1] == s and cols[j + 1] - run[-1] <= max_gap + 1:
                j += 1
                run.append(int(cols[j]))
                continue
            break
        alerts.append(_make_alert(scores, metric, start, keys, s, np.array(run), days, z_threshold))
        i = j + 1
    alerts.sort(key=lambda a: (a.start, a.series))
    return alerts


def _make_alert(
    scores: Scores,
    metric: Metric,
    start: date,
    keys: Sequence[Hashable] | None,
    s: int,
    cols_run: np.ndarray,
    days: int,
    z_threshold: float,
) -> Alert:
    first, last = int(cols_run[0]), int(cols_run[-1])
    obs = scores.observed[s, cols_run]
    exp = scores.expected[s, cols_run]
    peak_z = float(np.nanmax(np.abs(scores.z[s, cols_run])))
    numerator: float | None = None
    denominator: float | None = None
    if metric is Metric.COUNT:
        observed, expected = float(obs.sum()), float(exp.sum())
    else:
        if scores.numerator is None or scores.denominator is None:
            raise ValueError(f"{metric} scores carry their numerators and denominators")
        den = scores.denominator[s, cols_run]
        numerator, denominator = float(scores.numerator[s, cols_run].sum()), float(den.sum())
        observed = numerator / denominator * (100 if metric is Metric.NPS else 1)
        expected = float(np.average(exp, weights=den))
    # a ratio of NPS values (which can be negative or zero) means nothing; of counts and shares it does
    ratio = observed / expected if expected > 0 and metric is not Metric.NPS else None
    severity_ratio = ratio if metric is Metric.COUNT else None
    return Alert(
        series=s,
        key=keys[s] if keys is not None else s,
        metric=metric,
        start=start + timedelta(days=first),
        end=start + timedelta(days=last),
        days=len(cols_run),
        ongoing=last == days - 1,
        observed=observed,
        expected=expected,
        ratio=None if ratio is None or math.isinf(ratio) else ratio,
        peak_z=peak_z,
        severity=_severity(peak_z, z_threshold, severity_ratio, len(cols_run)),
        numerator=numerator,
        denominator=denominator,
    )


def detect_count_anomalies(
    counts: np.ndarray | Sequence[Any],
    start: date,
    keys: Sequence[Hashable] | None = None,
    params: CountParams | None = None,
) -> list[Alert]:
    """Alerts for daily count series: ``counts[i, t]`` is the count of series i on ``start + t`` days."""
    params = params or CountParams()
    scores = score_counts(counts, params)
    return alerts_from_scores(scores, Metric.COUNT, start, keys, z_threshold=params.z_threshold, max_gap=params.max_gap)


def detect_rate_anomalies(
    numerators: np.ndarray | Sequence[Any],
    denominators: np.ndarray | Sequence[Any],
    start: date,
    keys: Sequence[Hashable] | None = None,
    params: RateParams | None = None,
) -> list[Alert]:
    """Alerts for rising shares, e.g. negative items / all items per topic and day."""
    params = params or RateParams()
    scores = score_rates(numerators, denominators, params)
    return alerts_from_scores(scores, Metric.RATE, start, keys, z_threshold=params.z_threshold, max_gap=params.max_gap)


def detect_nps_anomalies(
    promoters: np.ndarray | Sequence[Any],
    passives: np.ndarray | Sequence[Any],
    detractors: np.ndarray | Sequence[Any],
    start: date,
    keys: Sequence[Hashable] | None = None,
    params: RateParams | None = None,
) -> list[Alert]:
    """Alerts for NPS drops per series (e.g. per product) and day."""
    params = params or NPS_PARAMS
    scores = score_nps(promoters, passives, detractors, params)
    return alerts_from_scores(scores, Metric.NPS, start, keys, z_threshold=params.z_threshold, max_gap=params.max_gap)
