"""The cells of a roll-up day: the total and one cell per value of every dimension of a source.

``DayAccumulator`` collects one day's counters and turns them into ``MetricDaily`` rows;
``RangeAccumulator`` holds the days of a range (voxloop.metrics.compute fills them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from voxloop.metrics.days import local_day
from voxloop.metrics.models import MetricDaily, Source
from voxloop.stats import formulas

SOURCE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    Source.CASES: ("channel", "product", "team", "agent", "topic", "segment", "language"),
    Source.RESPONSES: ("channel", "product", "team", "agent", "topic", "segment", "language"),
    Source.FEEDBACK: ("channel", "product", "topic", "segment", "language"),
}
# The feedback source's multi-valued term dimensions: an item counts once under each evidence word of its
# emotions and each of its needs (voxloop.stats.terms.need_key), and items with none count nowhere, so
# these dimensions have no "" row. They are not Dimension choices: the KPI panel's cut menus leave them out.
EMOTION_WORD, NEED, SUBTOPIC = "emotion_word", "need", "subtopic"


def cut_value(value: Any) -> str:
    """A row's value in a dimension cut by a key (team, agent, product): the key as text, "" for none."""
    return "" if value is None else str(value)


# --- accumulating one day ---------------------------------------------------------------------------


@dataclass
class Cell:
    n: int = 0
    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    histograms: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def add(self, key: str, amount: float = 1) -> None:
        self.sums[key] += amount

    def observe(self, key: str, seconds: float) -> None:
        self.histograms[key][formulas.bucket_of(seconds)] += 1


class DayAccumulator:
    """Collects one day's counters for the total and for every value of every dimension of a source."""

    def __init__(self, source: str, day: date) -> None:
        self.source, self.day = source, day
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)

    def keyed_cells(self, cuts: dict[str, Iterable[str]]) -> list[tuple[tuple[str, str], Cell]]:
        """The cells one row counts in: the total, and its value in each dimension ("" when it has none)."""
        keys = [("", "")]
        for dimension in SOURCE_DIMENSIONS[self.source]:
            values = list(cuts.get(dimension) or []) or [""]
            keys.extend((dimension, v) for v in dict.fromkeys(values))
        return [(k, self.cells[k]) for k in keys]

    def cells_for(self, cuts: dict[str, Iterable[str]]) -> list[Cell]:
        return [cell for _key, cell in self.keyed_cells(cuts)]

    def rows(self, now: datetime) -> list[MetricDaily]:
        rows = []
        for (dimension, value), cell in self.cells.items():
            sums = {k: (int(v) if float(v).is_integer() else v) for k, v in cell.sums.items() if v}
            histograms = {k: {str(b): c for b, c in h.items()} for k, h in cell.histograms.items() if h}
            rows.append(
                MetricDaily(
                    source=self.source, day=self.day, dimension=dimension, value=value[:100],
                    n=cell.n, sums=sums, histograms=histograms, computed_at=now,
                )
            )  # fmt: skip
        return rows


class RangeAccumulator:
    """Day accumulators for a range of days: a rebuild reads a month of rows in one query, not one per day."""

    def __init__(self, source: str, first: date, last: date) -> None:
        self.source = source
        self.days = {first + timedelta(days=i): DayAccumulator(source, first + timedelta(days=i))
                     for i in range((last - first).days + 1)}  # fmt: skip

    @classmethod
    def sparse(cls, source: str) -> RangeAccumulator:
        """Only the days its rows fall on, made as they come: a few items scattered over years need no
        accumulator for every day in between (voxloop.metrics.deltas)."""
        return cls(source, date.max, date.min)  # an empty range: no day made up front

    def for_instant(self, instant: datetime) -> DayAccumulator:
        day = local_day(instant)
        acc = self.days.get(day)
        if acc is None:
            acc = self.days[day] = DayAccumulator(self.source, day)
        return acc
