"""Is a KPI's change between two periods more than noise? Two-sided tests on the additive counters the daily
roll-ups keep, one per kind of KPI. Pure: no Django (the purity test imports every module here).

Each returns a ``Test`` with the p-value, or ``None`` when one side has no data (nothing to test). The
normal approximations are the ones the KPI intervals use (voxloop.stats.formulas), so a change called
significant here is one whose interval of the difference excludes 0 at the same 95% level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

ALPHA = 0.05


@dataclass(frozen=True)
class Test:
    z: float
    p_value: float  # two-sided

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def _test(difference: float, variance: float) -> Test:
    if variance <= 0:
        # Both sides are certain (0% and 0%, or all the same score): any difference is real, none is not.
        return Test(0.0, 1.0) if difference == 0 else Test(math.copysign(math.inf, difference), 0.0)
    z = difference / math.sqrt(variance)
    return Test(z, math.erfc(abs(z) / math.sqrt(2)))


def proportions(x1: int, n1: int, x2: int, n2: int) -> Test | None:
    """Two-proportion z test (pooled) of x2/n2 against x1/n1."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    return _test(x2 / n2 - x1 / n1, pooled * (1 - pooled) * (1 / n1 + 1 / n2))


def nps(before: tuple[int, int, int], after: tuple[int, int, int]) -> Test | None:
    """NPS (promoters, passives, detractors) after against before: the difference of the two scores over the
    trinomial variances, Var = ((p+ + p-) - (p+ - p-)^2) / n, as voxloop.stats.formulas.nps."""
    variances, scores = [], []
    for promoters, passives, detractors in (before, after):
        n = promoters + passives + detractors
        if n == 0:
            return None
        p_plus, p_minus = promoters / n, detractors / n
        scores.append(p_plus - p_minus)
        variances.append(max(0.0, (p_plus + p_minus) - (p_plus - p_minus) ** 2) / n)
    return _test(scores[1] - scores[0], variances[0] + variances[1])


def means(before: tuple[int, float, float], after: tuple[int, float, float]) -> Test | None:
    """Welch's z test of two means from their sums (n, Σx, Σx²); needs n >= 2 on both sides."""
    parts = []
    for n, total, squares in (before, after):
        if n < 2:
            return None
        mean = total / n
        parts.append((mean, max(0.0, (squares - n * mean * mean) / (n - 1)) / n))
    return _test(parts[1][0] - parts[0][0], parts[0][1] + parts[1][1])


def counts(x1: int, days1: int, x2: int, days2: int) -> Test | None:
    """Two event counts over periods of (possibly) different lengths: given x1 + x2 events, the conditional
    binomial test of whether x2's share differs from its share of the days (equal daily rates)."""
    total = x1 + x2
    if days1 <= 0 or days2 <= 0 or total == 0:
        return None
    p0 = days2 / (days1 + days2)
    return _test(x2 - total * p0, total * p0 * (1 - p0))
