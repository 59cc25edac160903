"""Holidays of a business calendar (法定节假日 and 调休 make-up days): loaded from a list an admin gives, or from
the ``holidays`` library (python-holidays, maintained upstream as each year's official schedule is published),
so a new year does not depend on someone typing the State Council's notice in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays as holidays_library
from django.db import transaction
from django.utils import timezone

from voxloop.cases.calendar import HolidayRow, load_holiday_rows
from voxloop.cases.models import BusinessCalendar, Holiday

# The library's make-up working days (weekend days worked, 调休) carry no name of their own.
_WORKDAY_NAME = "调休上班 / Make-up working day"
_NAME_LENGTH = Holiday._meta.get_field("name").max_length
LIBRARY_COUNTRY = "CN"


def library_version() -> str:
    return holidays_library.__version__


def library_holiday_rows(years: Iterable[int], country: str = LIBRARY_COUNTRY) -> list[HolidayRow]:
    """The public holidays and make-up working days of ``years`` as the library knows them, named in Chinese and
    English (a calendar is data both languages read). Weekend days inside a holiday block are not listed: they
    are days off anyway."""
    years = sorted(set(years))
    zh = holidays_library.country_holidays(country, years=years, language="zh_CN")
    en = holidays_library.country_holidays(country, years=years, language="en_US")
    rows = [HolidayRow(day, "holiday", f"{zh.get(day)} / {en.get(day)}"[:_NAME_LENGTH]) for day in sorted(zh)]
    workdays: set[date] = getattr(zh, "weekend_workdays", set())
    rows += [HolidayRow(day, "workday", _WORKDAY_NAME) for day in sorted(workdays) if day.year in years]
    return sorted(rows, key=lambda r: r.day)


def coming_years() -> list[int]:
    """The years a calendar needs now: this one and the next (cases opened in December are due in January)."""
    year = timezone.localdate().year
    return [year, year + 1]


def years_without_holidays(calendar: BusinessCalendar, years: Iterable[int] | None = None) -> list[int]:
    years = list(years or coming_years())
    present = set(calendar.holidays.filter(date__year__in=years).values_list("date__year", flat=True))
    return [y for y in years if y not in present]


def load_library_holidays(calendar: BusinessCalendar, years: Iterable[int] | None = None) -> int:
    """Add the library's days for ``years`` (default: this year and the next) to a calendar. Days the calendar
    already has are kept as they are (an admin's correction wins over the library); returns the days added."""
    rows = library_holiday_rows(years or coming_years())
    with transaction.atomic():
        existing = set(calendar.holidays.filter(date__in=[r.day for r in rows]).values_list("date", flat=True))
        new = [Holiday(calendar=calendar, date=r.day, kind=r.kind, name=r.name) for r in rows if r.day not in existing]
        Holiday.objects.bulk_create(new, ignore_conflicts=True)
        calendar.to_calendar()  # validates the result, like an uploaded list
    return len(new)


def fill_missing_years() -> dict[str, int]:
    """For every calendar that has no day at all for this year or the next, load them from the library. Years
    with days are an admin's and are left alone. Run daily by beat, so the new year never arrives empty."""
    added: dict[str, int] = {}
    for calendar in BusinessCalendar.objects.all():
        missing = years_without_holidays(calendar)
        if missing:
            added[calendar.name] = load_library_holidays(calendar, missing)
    return added


def import_holidays(calendar: BusinessCalendar, text: str, fmt: str = "csv", *, replace_years: bool = True) -> int:
    """Load a holiday list (see calendar.load_holiday_rows) into a calendar. All-or-nothing: a file with a bad
    line changes nothing and the error names every bad line. With replace_years, the years present in the file
    are replaced as a whole, so a corrected list removes days that are no longer holidays."""
    rows = load_holiday_rows(text, fmt)
    with transaction.atomic():
        if replace_years:
            Holiday.objects.filter(calendar=calendar, date__year__in={r.day.year for r in rows}).delete()
        Holiday.objects.bulk_create(
            [Holiday(calendar=calendar, date=r.day, kind=r.kind, name=r.name) for r in rows],
            update_conflicts=True,
            unique_fields=["calendar", "date"],
            update_fields=["kind", "name"],
        )
        calendar.to_calendar()  # validates the result (e.g. a day both holiday and make-up day cannot happen)
    return len(rows)
