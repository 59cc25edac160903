"""Report periods: calendar weeks (Monday to Sunday), months and quarters, as local dates in the organisation's
time zone (settings.TIME_ZONE, the zone the daily roll-ups are kept in), so a report's days are exactly the
roll-up days the metrics page adds up for the same dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("week", "month", "quarter")
# English month names for labels; not translated because the Chinese label uses numbers, not names.
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_SHORT = tuple(m[:3] for m in _MONTHS)


class PeriodKindError(ValueError):
    """A report period kind other than week, month or quarter."""


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise PeriodKindError(f"unknown report period {kind!r}; use one of: {', '.join(KINDS)}")


def _add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _english(language: str) -> bool:
    return language.lower().startswith("en")


@dataclass(frozen=True)
class ReportPeriod:
    kind: str  # "week" | "month" | "quarter"
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportPeriod:
        """The calendar period just before (the previous month, not the 30 days before)."""
        return period_for(self.kind, self.start - timedelta(days=1))

    def next(self) -> ReportPeriod:
        return period_for(self.kind, self.end + timedelta(days=1))

    def same_last_year(self) -> ReportPeriod:
        """The same month or quarter a year earlier; for a week, the week 52 weeks earlier (same weekdays, so
        a Monday is compared with a Monday)."""
        if self.kind == "week":
            return period_for("week", self.start - timedelta(weeks=52))
        return period_for(self.kind, date(self.start.year - 1, self.start.month, 1))

    def label(self, language: str) -> str:
        english = _english(language)
        s, e = self.start, self.end
        if self.kind == "month":
            return f"{_MONTHS[s.month - 1]} {s.year}" if english else f"{s.year}年{s.month}月"
        if self.kind == "quarter":
            q = (s.month - 1) // 3 + 1
            return f"Q{q} {s.year}" if english else f"{s.year}年第{q}季度"
        if english:
            if s.year != e.year:
                return f"{s.day} {_SHORT[s.month - 1]} {s.year} – {e.day} {_SHORT[e.month - 1]} {e.year}"
            if s.month != e.month:
                return f"{s.day} {_SHORT[s.month - 1]} – {e.day} {_SHORT[e.month - 1]} {e.year}"
            return f"{s.day}–{e.day} {_SHORT[s.month - 1]} {s.year}"
        if s.year != e.year:
            return f"{s.year}年{s.month}月{s.day}日–{e.year}年{e.month}月{e.day}日"
        if s.month != e.month:
            return f"{s.year}年{s.month}月{s.day}日–{e.month}月{e.day}日"
        return f"{s.year}年{s.month}月{s.day}日–{e.day}日"

    def as_dict(self, language: str) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label(language)}


def period_for(kind: str, day: date) -> ReportPeriod:
    """The calendar period of ``kind`` that contains ``day`` (a local date in the organisation's zone)."""
    _check(kind)
    if kind == "week":
        start = day - timedelta(days=day.weekday())  # Monday
        return ReportPeriod(kind, start, start + timedelta(days=6))
    if kind == "month":
        start = date(day.year, day.month, 1)
        return ReportPeriod(kind, start, _add_months(start, 1) - timedelta(days=1))
    start = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return ReportPeriod(kind, start, _add_months(start, 3) - timedelta(days=1))


def last_complete(kind: str, today: date) -> ReportPeriod:
    """The newest period that ended before ``today`` (the local date now): on 1 December, November."""
    return period_for(kind, today).previous()
