"""Hand-made daily roll-ups for the early-warning tests: series with a weekday pattern and Poisson noise, written
straight into MetricDaily the way the roll-up service writes them (one row per source, day, dimension, value)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

import numpy as np
from django.utils import timezone

from voxloop.metrics.models import MetricDaily, Source

TODAY = date(2026, 3, 4)  # a Wednesday
HISTORY = 120
# Items per weekday (Monday first): busy weekends on purpose, so the weekday pattern is strong.
WEEKDAY_LEVEL = {
    "logistics": [20, 22, 21, 23, 25, 45, 50],
    "billing": [15, 15, 16, 15, 14, 8, 6],
    "quality": [30, 28, 29, 31, 30, 60, 66],
}
OTHER_ITEMS = 900  # items of topics not listed: keeps the total large, as in real data
NEGATIVE_SHARE = 0.2


def days(today: date = TODAY, history: int = HISTORY) -> list[date]:
    return [today - timedelta(days=history - 1 - i) for i in range(history)]


def build(
    today: date = TODAY,
    *,
    spikes: dict[tuple[str, date], float] | None = None,
    negative_share: dict[tuple[str, date], float] | None = None,
    seed: int = 7,
    history: int = HISTORY,
    levels: dict[str, list[int]] | None = None,
) -> dict[tuple[str, date], tuple[int, int]]:
    """Write feedback roll-ups: per topic and the total. ``spikes[(topic, day)]`` multiplies that day's volume;
    ``negative_share[(topic, day)]`` overrides its negative share. Returns {(topic, day): (n, negative)}."""
    rng = np.random.default_rng(seed)
    levels = levels or WEEKDAY_LEVEL
    spikes = spikes or {}
    negative_share = negative_share or {}
    now = timezone.now()
    cells: dict[tuple[str, date], tuple[int, int]] = {}
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    rows = []
    for day in days(today, history):
        for topic, level in levels.items():
            n = int(rng.poisson(level[day.weekday()] * spikes.get((topic, day), 1.0)))
            negative = int(rng.binomial(n, negative_share.get((topic, day), NEGATIVE_SHARE)))
            cells[(topic, day)] = (n, negative)
            totals[day][0] += n
            totals[day][1] += negative
            rows.append(_row(day, "topic", topic, n, negative, now))
        other = int(rng.poisson(OTHER_ITEMS))
        other_negative = int(rng.binomial(other, NEGATIVE_SHARE))
        n, negative = totals[day][0] + other, totals[day][1] + other_negative
        rows.append(_row(day, "", "", n, negative, now))
    MetricDaily.objects.bulk_create(rows, batch_size=2000)
    return cells


def _row(day: date, dimension: str, value: str, n: int, negative: int, now) -> MetricDaily:  # noqa: ANN001
    sums = {"negative": negative, "neutral": n - negative} if n else {}
    return MetricDaily(source=Source.FEEDBACK, day=day, dimension=dimension, value=value, n=n, sums=sums,
                       histograms={}, computed_at=now)  # fmt: skip


def build_nps(today: date = TODAY, *, drop_days: set[date] | None = None, seed: int = 11, per_day: int = 60) -> None:
    """Survey responses roll-ups (total only): about NPS +30, or about -30 on ``drop_days``."""
    rng = np.random.default_rng(seed)
    now = timezone.now()
    rows = []
    for day in days(today):
        mix = [0.2, 0.3, 0.5] if day in (drop_days or set()) else [0.5, 0.3, 0.2]
        pro, pas, det = (int(x) for x in rng.multinomial(per_day, mix))
        rows.append(MetricDaily(source=Source.RESPONSES, day=day, dimension="", value="", n=per_day,
                                sums={"promoters": pro, "passives": pas, "detractors": det}, histograms={},
                                computed_at=now))  # fmt: skip
    MetricDaily.objects.bulk_create(rows)
