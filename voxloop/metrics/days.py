"""Days and time zones of the roll-ups: which local day an instant belongs to, and a day's bounds.

Every roll-up row is one day in settings.TIME_ZONE; pages, alerts and reports use the same days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(instant: datetime) -> date:
    """The calendar day of an instant in the site's time zone (whatever zone the instant was given in)."""
    return instant.astimezone(site_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = site_zone()
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


def range_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return day_bounds(first)[0], day_bounds(last)[1]
