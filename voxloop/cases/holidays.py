"""Loading a holiday list (法定节假日 and 调休 make-up days) into a business calendar."""

from __future__ import annotations

from django.db import transaction

from voxloop.cases.calendar import load_holiday_rows
from voxloop.cases.models import BusinessCalendar, Holiday


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
