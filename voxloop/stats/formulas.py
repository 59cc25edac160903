"""The arithmetic of VoxLoop's metrics. Pure: no Django, no database, no clock (a test proves the import).

Every function takes counts or sums (what the daily roll-ups store) and returns a value or ``None`` when
there is nothing to measure: ``None`` is shown as "no data", never as 0, because a 0% NPS and "nobody
answered" are different facts.

Conventions: rates are fractions in [0, 1]; NPS is in points in [-100, 100]; durations are seconds.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95% normal quantile

# --- NPS --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsResult:
    score: float  # points, -100..100
    n: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float  # 0..1; the three shares add up to 1
    passive_share: float
    detractor_share: float
    ci_low: float  # 95% interval, points, clipped to [-100, 100]
    ci_high: float


def nps(promoters: int, passives: int, detractors: int) -> NpsResult | None:
    """NPS = %promoters - %detractors with a 95% interval by the trinomial variance method:
    Var(NPS as a fraction) = ((p+ + p-) - (p+ - p-)^2) / n."""
    if min(promoters, passives, detractors) < 0:
        raise ValueError("counts cannot be negative")
    n = promoters + passives + detractors
    if n == 0:
        return None
    p_plus, p_minus = promoters / n, detractors / n
    diff = p_plus - p_minus
    variance = max(0.0, (p_plus + p_minus) - diff * diff) / n
    half = Z95 * math.sqrt(variance)
    return NpsResult(
        score=100 * diff,
        n=n,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        promoter_share=p_plus,
        passive_share=passives / n,
        detractor_share=p_minus,
        ci_low=max(-100.0, 100 * (diff - half)),
        ci_high=min(100.0, 100 * (diff + half)),
    )


# --- means, shares, rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    value: float  # 0..1
    numerator: int
    n: int
    ci_low: float  # Wilson 95% interval
    ci_high: float


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval: stays inside [0, 1] and behaves at 0% and 100%, unlike the normal one."""
    if n <= 0:
        raise ValueError("a rate needs n > 0")
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must be between 0 and n ({n})")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0% and 100% one end equals the rate exactly; rounding must not push it to the other side.
    low = 0.0 if successes == 0 else max(0.0, min(p, centre - half))
    high = 1.0 if successes == n else min(1.0, max(p, centre + half))
    return low, high


def rate(numerator: int, n: int) -> Rate | None:
    if n == 0:
        return None
    low, high = wilson_interval(numerator, n)
    return Rate(value=numerator / n, numerator=numerator, n=n, ci_low=low, ci_high=high)


@dataclass(frozen=True)
class Mean:
    value: float
    n: int
    ci_low: float | None  # normal 95% interval of the mean; None for n < 2
    ci_high: float | None


def mean(n: int, total: float, total_squares: float) -> Mean | None:
    """Mean and its 95% interval from additive sums (n, Σx, Σx²), so it can be rolled up by day."""
    if n == 0:
        return None
    value = total / n
    if n < 2:
        return Mean(value, n, None, None)
    variance = max(0.0, (total_squares - n * value * value) / (n - 1))
    half = Z95 * math.sqrt(variance / n)
    return Mean(value, n, value - half, value + half)


@dataclass(frozen=True)
class CsatResult:
    top2_share: Rate  # share answering 4 or 5 on 1-5
    mean: Mean


def csat(n: int, total: float, total_squares: float, top2: int) -> CsatResult | None:
    """CSAT as top-2-box share (4-5 on 1-5) with its Wilson interval, and the mean score."""
    if n == 0:
        return None
    share, avg = rate(top2, n), mean(n, total, total_squares)
    assert share is not None and avg is not None
    return CsatResult(share, avg)


@dataclass(frozen=True)
class CesResult:
    mean: Mean
    easy_share: Rate  # share answering 5-7 on 1-7 ("easy")


def ces(n: int, total: float, total_squares: float, easy: int) -> CesResult | None:
    if n == 0:
        return None
    share, avg = rate(easy, n), mean(n, total, total_squares)
    assert share is not None and avg is not None
    return CesResult(avg, share)


def csat_is_top2(score: int) -> bool:
    return score >= 4


def ces_is_easy(score: int) -> bool:
    return score >= 5


# --- durations: exact and from fixed log-spaced buckets ----------------------------------------------


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Linear-interpolation percentile (numpy's default) of raw values; None when there are none."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= pct <= 100:
        raise ValueError("pct is 0..100")
    position = (len(ordered) - 1) * pct / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# Bucket 0 holds [0, 60 s); bucket k >= 1 holds [60·R^(k-1), 60·R^k). R = 1.25 gives at most 12.5% error
# on a percentile, and 80 buckets reach past 15 years, so no duration falls off the end.
BUCKET_BASE_SECONDS = 60.0
BUCKET_RATIO = 1.25
BUCKET_COUNT = 80
BUCKET_EDGES: tuple[float, ...] = tuple(BUCKET_BASE_SECONDS * BUCKET_RATIO**k for k in range(BUCKET_COUNT))


def bucket_of(seconds: float) -> int:
    """The histogram bucket of a duration; negative durations (clock skew) count as 0."""
    return min(bisect.bisect_right(BUCKET_EDGES, max(0.0, seconds)), BUCKET_COUNT)


def bucket_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, BUCKET_EDGES[0]
    low = BUCKET_EDGES[index - 1]
    return low, low * BUCKET_RATIO


def merge_histograms(histograms: Iterable[Mapping[str, int] | Mapping[int, int]]) -> dict[int, int]:
    """Add sparse histograms {bucket: count} (keys may be strings: they come from JSON)."""
    merged: dict[int, int] = {}
    for histogram in histograms:
        for key, count in histogram.items():
            merged[int(key)] = merged.get(int(key), 0) + int(count)
    return merged


def histogram_percentile(histogram: Mapping[int, int], pct: float) -> float | None:
    """Percentile estimated from a bucket histogram: find the bucket holding the rank, then interpolate
    geometrically inside it (durations are roughly log-normal, so this beats the bucket midpoint)."""
    if not 0 <= pct <= 100:
        raise ValueError("pct is 0..100")
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = pct / 100 * total
    seen = 0
    for index in sorted(histogram):
        count = histogram[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            low, high = bucket_bounds(index)
            fraction = (rank - seen) / count
            if index == 0:
                return low + (high - low) * fraction
            interpolated: float = low * (high / low) ** fraction
            return interpolated
        seen += count
    return bucket_bounds(max(histogram))[1]


@dataclass(frozen=True)
class DurationStats:
    median: float | None
    p90: float | None
    n: int


def duration_stats(histogram: Mapping[int, int]) -> DurationStats:
    return DurationStats(
        histogram_percentile(histogram, 50), histogram_percentile(histogram, 90), sum(histogram.values())
    )


# --- comparisons and ratios -------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    current: float | None
    previous: float | None
    delta: float | None  # current - previous, in the metric's own unit (points for NPS, fraction for rates)
    relative: float | None  # delta / |previous|; None when previous is 0 or missing


def compare(current: float | None, previous: float | None) -> Comparison:
    if current is None or previous is None:
        return Comparison(current, previous, None, None)
    delta = current - previous
    return Comparison(current, previous, delta, delta / abs(previous) if previous else None)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """e.g. repurchase rate of satisfied customers / that of dissatisfied ones; None if either is missing or
    the denominator is 0 (a ratio to nothing is not infinity on a dashboard)."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def repeat_rate(repeats: int, complaints: int) -> Rate | None:
    """Share of complaints that repeat an earlier complaint of the same customer on the same topic."""
    return rate(repeats, complaints)


def is_alert(value: Rate | None, threshold: float) -> bool:
    """A rate above the threshold raises an alert; no data never does."""
    return value is not None and value.value > threshold
