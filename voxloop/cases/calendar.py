"""Business-hours arithmetic for SLA clocks. Pure: no models, no database, no clock of its own.

A BusinessCalendar knows a time zone, the working intervals of each weekday (several per day allowed,
e.g. 09:00-12:00 and 13:00-18:00), holidays, and make-up working days (调休: a Saturday or Sunday that is
worked to compensate for a bridged holiday). Chinese public holidays are data (``load_holiday_rows``
reads the CSV/JSON list admins edit), never code.

All arithmetic happens on UTC instants, so a clock in a daylight-saving zone counts the hours that really
passed; wall-clock intervals that fall into a DST gap are clipped instead of double counted.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext_lazy as _

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A clock looks at most this far ahead for working time; a calendar that has none within it is broken.
MAX_SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    """A calendar that cannot be used, with a stable code and a message naming what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class HolidayDataError(CalendarError):
    """A holiday list with bad lines; ``errors`` lists every one of them as (line number, message)."""

    def __init__(self, errors: Sequence[tuple[int, str]]) -> None:
        self.errors = list(errors)
        message = "; ".join(str(_("line %(line)s: %(error)s") % {"line": n, "error": e}) for n, e in errors)
        super().__init__("bad_holiday_data", message)


def parse_minutes(value: str) -> int:
    """'09:30' -> 570; '24:00' is allowed as the end of the day."""
    try:
        hours_text, minutes_text = value.strip().split(":")
        hours, minutes = int(hours_text), int(minutes_text)
    except (AttributeError, ValueError):
        raise CalendarError("bad_time", str(_("%(value)r is not a time of day (HH:MM)") % {"value": value})) from None
    if not (0 <= minutes < 60 and (0 <= hours < 24 or (hours == 24 and minutes == 0))):
        raise CalendarError("bad_time", str(_("%(value)r is not a time of day (HH:MM)") % {"value": value}))
    return hours * 60 + minutes


Interval = tuple[int, int]  # minutes since local midnight, start < end <= 1440


def parse_intervals(spec: Iterable[Sequence[str]], day_name: str) -> tuple[Interval, ...]:
    """[["09:00", "12:00"], ["13:00", "18:00"]] -> ((540, 720), (780, 1080)); rejects overlaps."""
    intervals: list[Interval] = []
    for pair in spec:
        if len(pair) != 2:
            raise CalendarError(
                "bad_interval", str(_("%(day)s: each interval needs a start and an end") % {"day": day_name})
            )
        start, end = parse_minutes(pair[0]), parse_minutes(pair[1])
        if start >= end:
            raise CalendarError(
                "bad_interval",
                str(_("%(day)s: interval %(start)s-%(end)s ends before it starts") % {
                    "day": day_name, "start": pair[0], "end": pair[1]}),
            )  # fmt: skip
        intervals.append((start, end))
    intervals.sort()
    for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:], strict=False):
        if s2 < e1:
            raise CalendarError("bad_interval", str(_("%(day)s: working intervals overlap") % {"day": day_name}))
    return tuple(intervals)


@dataclass(frozen=True)
class HolidayRow:
    day: date
    kind: str  # "holiday" or "workday" (make-up working day)
    name: str = ""


def _parse_holiday_record(line: int, date_text: str, kind: str, name: str) -> tuple[HolidayRow | None, str]:
    try:
        day = date.fromisoformat((date_text or "").strip())
    except ValueError:
        return None, str(_("%(value)r is not a valid date (YYYY-MM-DD)") % {"value": date_text})
    kind = (kind or "holiday").strip().lower()
    if kind not in {"holiday", "workday"}:
        return None, str(_("kind %(kind)r must be 'holiday' or 'workday'") % {"kind": kind})
    return HolidayRow(day, kind, (name or "").strip()), ""


def load_holiday_rows(text: str, fmt: str = "csv") -> list[HolidayRow]:
    """Read a holiday list: CSV lines ``date,kind,name`` (lines starting with # are comments), or a JSON
    list of {"date", "kind", "name"}. Every bad line is reported at once, by line number."""
    rows: list[HolidayRow] = []
    errors: list[tuple[int, str]] = []
    if fmt == "json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HolidayDataError([(exc.lineno, str(_("not valid JSON: %(error)s") % {"error": exc.msg}))]) from None
        if not isinstance(items, list):
            raise HolidayDataError([(1, str(_("expected a list of {date, kind, name} objects")))])
        records: Iterator[tuple[int, list[str]]] = (
            (n, [str(i.get("date", "")), str(i.get("kind", "holiday")), str(i.get("name", ""))])
            if isinstance(i, Mapping)
            else (n, [repr(i), "holiday", ""])
            for n, i in enumerate(items, start=1)
        )
    else:
        records = (
            (n, r)
            for n, r in enumerate(csv.reader(io.StringIO(text)), start=1)
            if r
            and "".join(r).strip()
            and not r[0].lstrip().startswith("#")
            # a header line ("date,kind,name" or 日期,类型,名称) is welcome
            and not (n == 1 and r[0].strip().lower() in {"date", "日期"})
        )
    seen: dict[date, tuple[int, str]] = {}
    for line, record in records:
        record = (list(record) + ["", ""])[:3]
        row, error = _parse_holiday_record(line, *record)
        if row is None:
            errors.append((line, error))
            continue
        if row.day in seen and seen[row.day][1] != row.kind:
            errors.append(
                (line, str(_("%(day)s is both a holiday and a working day (see line %(other)s)") % {
                    "day": row.day.isoformat(), "other": seen[row.day][0]}))
            )  # fmt: skip
            continue
        seen.setdefault(row.day, (line, row.kind))
        rows.append(row)
    if errors:
        raise HolidayDataError(errors)
    return rows


@dataclass(frozen=True)
class BusinessCalendar:
    time_zone: str
    weekly: Mapping[int, tuple[Interval, ...]]  # weekday (0 = Monday) -> intervals
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()  # make-up working days (调休)
    makeup_intervals: tuple[Interval, ...] = ()  # hours of a make-up day; default: the first working weekday's
    tz: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "tz", ZoneInfo(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(
                "bad_time_zone", str(_("%(zone)r is not a known time zone") % {"zone": self.time_zone})
            ) from None
        if not any(self.weekly.get(d) for d in range(7)):
            raise CalendarError("no_working_hours", str(_("The calendar has no working hours on any day of the week.")))
        both = self.holidays & self.workdays
        if both:
            first = min(both).isoformat()
            raise CalendarError(
                "holiday_and_workday",
                str(_("%(day)s is both a holiday and a make-up working day") % {"day": first}),
            )
        if not self.makeup_intervals:
            first_working = next(self.weekly[d] for d in range(7) if self.weekly.get(d))
            object.__setattr__(self, "makeup_intervals", first_working)

    @classmethod
    def from_spec(
        cls,
        time_zone: str,
        working_hours: Mapping[str, Iterable[Sequence[str]]],
        holidays: Iterable[HolidayRow] = (),
    ) -> BusinessCalendar:
        """Build from the stored shape: {"mon": [["09:00", "12:00"], ...], ...} and holiday rows."""
        unknown = set(working_hours) - set(WEEKDAYS) - {"makeup"}
        if unknown:
            raise CalendarError(
                "bad_weekday", str(_("unknown weekday %(day)r (use mon..sun)") % {"day": sorted(unknown)[0]})
            )
        weekly = {i: parse_intervals(working_hours.get(name, []), name) for i, name in enumerate(WEEKDAYS)}
        makeup = parse_intervals(working_hours.get("makeup", []), "makeup")
        rows = list(holidays)
        return cls(
            time_zone=time_zone,
            weekly=weekly,
            holidays=frozenset(r.day for r in rows if r.kind == "holiday"),
            workdays=frozenset(r.day for r in rows if r.kind == "workday"),
            makeup_intervals=makeup,
        )

    # --- the working time of one local date, as UTC instants

    def intervals_on(self, day: date) -> tuple[Interval, ...]:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.makeup_intervals
        return self.weekly.get(day.weekday(), ())

    def _utc_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        midnight = datetime(day.year, day.month, day.day)  # noqa: DTZ001 - wall time, zone attached below
        spans: list[tuple[datetime, datetime]] = []
        for start, end in self.intervals_on(day):
            a = (midnight + timedelta(minutes=start)).replace(tzinfo=self.tz).astimezone(UTC)
            b = (midnight + timedelta(minutes=end)).replace(tzinfo=self.tz).astimezone(UTC)
            if spans and a < spans[-1][1]:
                a = spans[-1][1]  # DST gap can map wall times out of order: never count an instant twice
            if b > a:
                spans.append((a, b))
        return spans

    def _spans_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working spans (UTC) that end after ``instant``, in order; raises if none within MAX_SEARCH_DAYS."""
        day = instant.astimezone(self.tz).date() - timedelta(days=1)
        empty_days = 0
        while empty_days <= MAX_SEARCH_DAYS:
            spans = [span for span in self._utc_spans(day) if span[1] > instant]
            empty_days = 0 if spans else empty_days + 1
            yield from spans
            day += timedelta(days=1)
        raise CalendarError(
            "no_working_time_ahead",
            str(_("The calendar has no working time in the %(days)s days after %(start)s.") % {
                "days": MAX_SEARCH_DAYS, "start": day.isoformat()}),
        )  # fmt: skip

    # --- public API

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of working time has passed after ``start`` (in the calendar's zone)."""
        _require_aware(start)
        if duration < timedelta(0):
            raise CalendarError("negative_duration", str(_("A business duration cannot be negative.")))
        instant = start.astimezone(UTC)
        if duration == timedelta(0):
            return instant.astimezone(self.tz)
        remaining = duration
        for span_start, span_end in self._spans_from(instant):
            begin = max(instant, span_start)
            available = span_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(self.tz)
            remaining -= available
        raise AssertionError("unreachable")  # _spans_from raises when it runs out

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from a to b; negative when b is before a."""
        _require_aware(a)
        _require_aware(b)
        if b < a:
            return -self.business_time_between(b, a)
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        total = timedelta(0)
        day = a.astimezone(self.tz).date() - timedelta(days=1)
        last = b.astimezone(self.tz).date() + timedelta(days=1)
        while day <= last:
            for span_start, span_end in self._utc_spans(day):
                begin, end = max(a, span_start), min(b, span_end)
                if end > begin:
                    total += end - begin
            day += timedelta(days=1)
        return total

    def is_working_time(self, instant: datetime) -> bool:
        _require_aware(instant)
        instant = instant.astimezone(UTC)
        day = instant.astimezone(self.tz).date()
        return any(s <= instant < e for d in (day - timedelta(days=1), day) for s, e in self._utc_spans(d))


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError("naive_datetime", str(_("A time without a time zone cannot be placed on a calendar.")))
