"""Report periods are calendar weeks (Monday to Sunday), months and quarters, labelled as a reader writes them."""

from __future__ import annotations

from datetime import date

import pytest

from voxloop.reports.periods import PeriodKindError, ReportPeriod, last_complete, period_for


def test_week_starts_on_monday_and_crosses_months():
    week = period_for("week", date(2026, 12, 2))  # a Wednesday
    assert (week.start, week.end) == (date(2026, 11, 30), date(2026, 12, 6))
    assert week.label("zh-hans") == "2026年11月30日–12月6日"
    assert week.label("en") == "30 Nov – 6 Dec 2026"
    inside = period_for("week", date(2026, 11, 25))
    assert inside.label("zh-hans") == "2026年11月23日–29日" and inside.label("en") == "23–29 Nov 2026"
    across_years = period_for("week", date(2027, 1, 1))
    assert across_years.label("en") == "28 Dec 2026 – 3 Jan 2027"


def test_month_and_quarter_labels_and_neighbours():
    november = period_for("month", date(2026, 11, 17))
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert november.label("zh-hans") == "2026年11月" and november.label("en") == "November 2026"
    assert november.previous() == ReportPeriod("month", date(2026, 10, 1), date(2026, 10, 31))
    assert november.same_last_year() == ReportPeriod("month", date(2025, 11, 1), date(2025, 11, 30))
    february = period_for("month", date(2028, 2, 10))
    assert february.end == date(2028, 2, 29)  # a leap year
    q4 = period_for("quarter", date(2026, 11, 17))
    assert (q4.start, q4.end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert q4.label("zh-hans") == "2026年第4季度" and q4.label("en") == "Q4 2026"
    assert q4.previous().label("en") == "Q3 2026" and q4.next().label("en") == "Q1 2027"
    assert q4.same_last_year().label("en") == "Q4 2025"


def test_same_week_last_year_keeps_the_weekdays():
    week = period_for("week", date(2026, 11, 25))
    last = week.same_last_year()
    assert last.start.weekday() == 0 and (week.start - last.start).days == 364


def test_last_complete_period_ended_before_today():
    assert last_complete("month", date(2026, 12, 1)).label("en") == "November 2026"
    assert last_complete("month", date(2026, 12, 31)).label("en") == "November 2026"
    assert last_complete("quarter", date(2027, 1, 1)).label("en") == "Q4 2026"
    week = last_complete("week", date(2026, 11, 30))  # a Monday: the week that ended yesterday
    assert (week.start, week.end) == (date(2026, 11, 23), date(2026, 11, 29))


def test_unknown_kind_is_refused_by_name():
    with pytest.raises(PeriodKindError, match="year"):
        period_for("year", date(2026, 1, 1))
