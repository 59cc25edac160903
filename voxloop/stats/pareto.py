"""Root causes: a Pareto of complaint causes with confidence intervals, and "what changed" between periods.

Causes are whatever the caller counts: taxonomy topics of negative feedback, case root-cause codes, per
product or period. Shares are fractions of the period's total; each has a 95% Wilson interval (per
cause: the interval of that one share, not a simultaneous band). Percentages for display are rounded by
the largest-remainder method so that they add up to exactly 100.0.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from scipy.stats import norm

from voxloop.stats import compare
from voxloop.stats.formulas import wilson_interval

# A cause's type, whatever the caller counts (a str code, a tuple): a Mapping is invariant in its keys, so
# Mapping[Hashable, int] would refuse the caller's dict[str, int].
CauseT = TypeVar("CauseT", bound=Hashable)


@dataclass(frozen=True)
class ParetoRow:
    cause: Hashable
    count: int
    share: float  # 0..1 of the total
    ci_low: float  # 95% Wilson interval of the share
    ci_high: float
    cumulative_share: float  # this cause and every larger one
    percent: float  # share x 100 rounded to ``decimals``; the column adds up to exactly 100
    vital_few: bool  # among the causes that make up the first ``cutoff`` (80%) of the total


@dataclass(frozen=True)
class Change:
    cause: Hashable
    before_count: int
    after_count: int
    before_share: float
    after_share: float
    difference: float  # after_share - before_share (fraction points)
    ci_low: float  # 95% interval of the difference (unpooled normal approximation)
    ci_high: float
    z: float  # two-proportion z test (pooled)
    p_value: float  # two-sided
    significant: bool  # after Holm's correction over all causes compared at ``alpha``


def _validated(counts: Mapping[CauseT, int], name: str) -> dict[CauseT, int]:
    out: dict[CauseT, int] = {}
    for cause, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | float) or count != int(count):
            raise ValueError(f"{name}: the count of {cause!r} must be a whole number, not {count!r}")
        if count < 0:
            raise ValueError(f"{name}: the count of {cause!r} is negative ({count})")
        out[cause] = int(count)
    return out


def largest_remainder_percents(counts: list[int], decimals: int = 1) -> list[float]:
    """Percentages of ``counts`` rounded so that they add up to exactly 100 (Hamilton's method)."""
    total = sum(counts)
    if total <= 0:
        raise ValueError("percentages need a positive total")
    units = 100 * 10**decimals
    raw = [c * units / total for c in counts]
    floors = [math.floor(r) for r in raw]
    missing = units - sum(floors)
    # hand the missing units to the largest remainders; ties go to the earlier (larger) cause
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:missing]:
        floors[i] += 1
    return [f / 10**decimals for f in floors]


def pareto(counts: Mapping[CauseT, int], *, cutoff: float = 0.8, decimals: int = 1) -> list[ParetoRow]:
    """Causes from the largest down with share, 95% interval, cumulative share and the vital few.

    Causes with a zero count are kept (at the bottom) so a chart shows them as zero, not missing."""
    if not 0 < cutoff <= 1:
        raise ValueError("cutoff must be in (0, 1]")
    checked = _validated(counts, "counts")
    total = sum(checked.values())
    if total == 0:
        raise ValueError("there is nothing to rank: every count is zero")
    ranked = sorted(checked.items(), key=lambda kv: (-kv[1], str(kv[0])))
    percents = largest_remainder_percents([c for _, c in ranked], decimals)
    rows: list[ParetoRow] = []
    running = 0
    for (cause, count), percent in zip(ranked, percents, strict=True):
        before = running / total
        running += count
        low, high = wilson_interval(count, total)
        rows.append(
            ParetoRow(
                cause=cause,
                count=count,
                share=count / total,
                ci_low=low,
                ci_high=high,
                cumulative_share=running / total,
                percent=percent,
                # a cause is vital while the causes above it have not yet reached the cutoff
                vital_few=count > 0 and before < cutoff,
            )
        )
    return rows


def _holm(p_values: list[float], alpha: float) -> list[bool]:
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    significant = [False] * len(p_values)
    m = len(p_values)
    for rank, i in enumerate(order):
        if p_values[i] > alpha / (m - rank):
            break  # Holm's step-down stops at the first hypothesis it cannot reject
        significant[i] = True
    return significant


def what_changed(before: Mapping[CauseT, int], after: Mapping[CauseT, int], *, alpha: float = 0.05) -> list[Change]:
    """Compare each cause's share between two periods; biggest absolute change first.

    The test is the two-proportion z test of the share; with many causes some would look significant
    by chance, so ``significant`` applies Holm's correction (family-wise error ``alpha``)."""
    if not 0 < alpha < 1:
        raise ValueError("alpha must be between 0 and 1")
    b = _validated(before, "before")
    a = _validated(after, "after")
    n1, n2 = sum(b.values()), sum(a.values())
    if n1 == 0 or n2 == 0:
        raise ValueError("both periods need at least one counted item to compare shares")
    causes = list(dict.fromkeys([*b, *a]))
    z95 = float(norm.ppf(0.975))
    rows = []
    for cause in causes:
        x1, x2 = b.get(cause, 0), a.get(cause, 0)
        p1, p2 = x1 / n1, x2 / n2
        test = compare.proportions(x1, n1, x2, n2)
        assert test is not None  # n1, n2 > 0 was checked above
        z, p_value = test.z, test.p_value
        se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        rows.append((cause, x1, x2, p1, p2, z, p_value, se))
    flags = _holm([r[6] for r in rows], alpha)
    changes = [
        Change(
            cause=cause,
            before_count=x1,
            after_count=x2,
            before_share=p1,
            after_share=p2,
            difference=p2 - p1,
            ci_low=p2 - p1 - z95 * se,
            ci_high=p2 - p1 + z95 * se,
            z=z,
            p_value=p_value,
            significant=flag,
        )
        for (cause, x1, x2, p1, p2, z, p_value, se), flag in zip(rows, flags, strict=True)
    ]
    changes.sort(key=lambda c: (-abs(c.difference), str(c.cause)))
    return changes
