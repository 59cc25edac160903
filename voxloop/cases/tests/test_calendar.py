"""The business-hours calculator: hand-made cases and round-trip properties. No database."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxloop.cases.calendar import (
    WEEKDAYS,
    BusinessCalendar,
    CalendarError,
    HolidayDataError,
    HolidayRow,
    load_holiday_rows,
)
from voxloop.cases.holidays import library_holiday_rows

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
SPLIT_DAY = [["09:00", "12:00"], ["13:00", "18:00"]]  # 8 working hours with a lunch break
CN_HOLIDAYS = library_holiday_rows([2025, 2026])


def china() -> BusinessCalendar:
    return BusinessCalendar.from_spec("Asia/Shanghai", {d: SPLIT_DAY for d in WEEKDAYS[:5]}, CN_HOLIDAYS)


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SH)


def test_within_one_day_skips_lunch():
    cal = china()
    assert cal.add_business_time(sh(2026, 11, 24, 11, 0), timedelta(hours=2)) == sh(2026, 11, 24, 14, 0)
    assert cal.business_time_between(sh(2026, 11, 24, 11, 0), sh(2026, 11, 24, 14, 0)) == timedelta(hours=2)


def test_outside_hours_starts_at_next_opening():
    cal = china()
    # Tuesday 20:00 -> Wednesday 09:00 + 30 min
    assert cal.add_business_time(sh(2026, 11, 24, 20, 0), timedelta(minutes=30)) == sh(2026, 11, 25, 9, 30)
    # During lunch, the clock waits for 13:00
    assert cal.add_business_time(sh(2026, 11, 24, 12, 15), timedelta(minutes=10)) == sh(2026, 11, 24, 13, 10)


def test_weekend_is_skipped():
    cal = china()
    # Friday 17:00 + 2h -> Monday 10:00 (2026-11-27 is a Friday)
    assert cal.add_business_time(sh(2026, 11, 27, 17, 0), timedelta(hours=2)) == sh(2026, 11, 30, 10, 0)
    assert cal.business_time_between(sh(2026, 11, 27, 17, 0), sh(2026, 11, 30, 10, 0)) == timedelta(hours=2)
    assert cal.business_time_between(sh(2026, 11, 28, 0, 0), sh(2026, 11, 29, 23, 59)) == timedelta(0)


def test_national_day_holidays_are_skipped():
    cal = china()
    # Wed 30 Sep 17:00 + 2h: one hour that day, Oct 1-7 off, Sat Oct 10 is a make-up day but Thu Oct 8 comes first.
    assert cal.add_business_time(sh(2026, 9, 30, 17, 0), timedelta(hours=2)) == sh(2026, 10, 8, 10, 0)


def test_make_up_working_day_counts():
    cal = china()
    # Saturday 2026-10-10 is a 调休 working day: Friday 9 Oct 18:00 + 1h lands on Saturday 10:00.
    assert cal.add_business_time(sh(2026, 10, 9, 18, 0), timedelta(hours=1)) == sh(2026, 10, 10, 10, 0)
    assert cal.is_working_time(sh(2026, 10, 10, 9, 30))
    # An ordinary Saturday is not.
    assert not cal.is_working_time(sh(2026, 10, 17, 9, 30))


def test_spring_festival_week():
    cal = china()
    # Sat 14 Feb 2026 is worked; 15-23 Feb off. Friday 13 Feb 18:00 + 9h = Sat 14 Feb full day (8h) + 1h on Tue 24.
    assert cal.add_business_time(sh(2026, 2, 13, 18, 0), timedelta(hours=9)) == sh(2026, 2, 24, 10, 0)


def test_dst_zone_counts_real_hours():
    # New York, 24h service: the night the clocks go back (1 Nov 2026) has 25 real hours.
    cal = BusinessCalendar.from_spec("America/New_York", {d: [["00:00", "24:00"]] for d in WEEKDAYS})
    start = datetime(2026, 10, 31, 12, 0, tzinfo=NY)
    end = datetime(2026, 11, 1, 12, 0, tzinfo=NY)
    assert cal.business_time_between(start, end) == timedelta(hours=25)
    assert cal.add_business_time(start, timedelta(hours=25)) == end
    # Spring forward (8 Mar 2026): that day has 23 hours.
    day_start = datetime(2026, 3, 8, 0, 0, tzinfo=NY)
    assert cal.business_time_between(day_start, datetime(2026, 3, 9, 0, 0, tzinfo=NY)) == timedelta(hours=23)


def test_dst_gap_inside_working_interval_is_not_double_counted():
    # Working 01:00-04:00 on the spring-forward day: 02:00-03:00 does not exist, so 2 real hours.
    cal = BusinessCalendar.from_spec("America/New_York", {"sun": [["01:00", "04:00"]]})
    day = datetime(2026, 3, 8, 0, 0, tzinfo=NY)
    assert cal.business_time_between(day, day + timedelta(days=1)) == timedelta(hours=2)


def test_between_is_antisymmetric_and_zero_duration_returns_start():
    cal = china()
    a, b = sh(2026, 11, 24, 10, 0), sh(2026, 11, 26, 10, 0)
    assert cal.business_time_between(b, a) == -cal.business_time_between(a, b)
    assert cal.add_business_time(a, timedelta(0)) == a


def test_calendar_with_no_working_hours_is_rejected():
    with pytest.raises(CalendarError, match="no working hours") as exc:
        BusinessCalendar.from_spec("Asia/Shanghai", {"mon": [], "sat": []})
    assert exc.value.code == "no_working_hours"


@pytest.mark.parametrize(
    ("hours", "code", "fragment"),
    [
        ({"mon": [["18:00", "09:00"]]}, "bad_interval", "mon: interval 18:00-09:00 ends before it starts"),
        ({"mon": [["09:00", "13:00"], ["12:00", "18:00"]]}, "bad_interval", "mon: working intervals overlap"),
        ({"mon": [["9h", "18:00"]]}, "bad_time", "'9h' is not a time of day"),
        ({"mon": [["09:00", "25:00"]]}, "bad_time", "'25:00' is not a time of day"),
        ({"monday": [["09:00", "18:00"]]}, "bad_weekday", "unknown weekday 'monday'"),
    ],
)
def test_bad_working_hours_name_the_problem(hours, code, fragment):
    with pytest.raises(CalendarError) as exc:
        BusinessCalendar.from_spec("Asia/Shanghai", hours)
    assert exc.value.code == code
    assert fragment in exc.value.message


def test_unknown_time_zone_is_rejected():
    with pytest.raises(CalendarError, match="'Mars/Olympus' is not a known time zone"):
        BusinessCalendar.from_spec("Mars/Olympus", {"mon": SPLIT_DAY})


def test_a_year_of_holidays_and_no_make_up_day_is_reported_not_looped_forever():
    days = [HolidayRow(date(2026, 1, 1) + timedelta(days=i), "holiday") for i in range(4 * 366)]
    cal = BusinessCalendar.from_spec("Asia/Shanghai", {"mon": SPLIT_DAY}, days)
    with pytest.raises(CalendarError) as exc:
        cal.add_business_time(sh(2026, 1, 1, 9, 0), timedelta(hours=1))
    assert exc.value.code == "no_working_time_ahead"


def test_naive_datetime_is_rejected():
    with pytest.raises(CalendarError, match="without a time zone"):
        china().add_business_time(datetime(2026, 1, 5, 9, 0), timedelta(hours=1))


def test_holiday_csv_reports_every_bad_line():
    text = (
        "# date,kind,name\n"
        "2026-10-01,holiday,国庆节\n"
        "2026-02-30,holiday,不存在的日子\n"
        "2026/10/02,holiday,斜杠日期\n"
        "2026-10-10,rest,未知类型\n"
        "2026-10-01,workday,冲突\n"
    )
    with pytest.raises(HolidayDataError) as exc:
        load_holiday_rows(text)
    lines = [line for line, _ in exc.value.errors]
    assert lines == [3, 4, 5, 6]
    message = exc.value.message
    assert "line 3: '2026-02-30' is not a valid date (YYYY-MM-DD)" in message
    assert "line 4: '2026/10/02' is not a valid date" in message
    assert "line 5: kind 'rest' must be 'holiday' or 'workday'" in message
    assert "line 6: 2026-10-01 is both a holiday and a working day (see line 2)" in message


def test_holiday_json_loader():
    rows = load_holiday_rows('[{"date": "2026-10-01", "kind": "holiday", "name": "国庆节"},'
                             ' {"date": "2026-10-10", "kind": "workday"}]', "json")  # fmt: skip
    assert rows == [HolidayRow(date(2026, 10, 1), "holiday", "国庆节"), HolidayRow(date(2026, 10, 10), "workday", "")]
    with pytest.raises(HolidayDataError, match="line 1: '13-01' is not a valid date"):
        load_holiday_rows('[{"date": "13-01"}]', "json")
    with pytest.raises(HolidayDataError, match="not valid JSON"):
        load_holiday_rows("[{", "json")


def test_library_holiday_list_is_valid_and_has_make_up_days():
    kinds = {r.day: r.kind for r in CN_HOLIDAYS}
    assert kinds[date(2026, 10, 1)] == "holiday"
    assert kinds[date(2026, 2, 14)] == "workday"
    assert date(2026, 2, 14).weekday() == 5  # a Saturday that is worked


# --- properties -------------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(SH))
durations = st.integers(min_value=0, max_value=60 * 24 * 10).map(lambda m: timedelta(minutes=m))


@settings(max_examples=150, deadline=None)
@given(start=instants, duration=durations)
def test_add_then_measure_round_trips_in_shanghai(start, duration):
    cal = china()
    end = cal.add_business_time(start, duration)
    assert end >= start
    assert cal.business_time_between(start, end) == duration


ny_instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(NY))


@settings(max_examples=150, deadline=None)
@given(start=ny_instants, duration=durations)
def test_add_then_measure_round_trips_across_dst(start, duration):
    cal = BusinessCalendar.from_spec(
        "America/New_York", {d: [["00:30", "02:30"], ["08:00", "17:00"]] for d in WEEKDAYS[:6]}
    )
    end = cal.add_business_time(start, duration)
    assert cal.business_time_between(start, end) == duration


@settings(max_examples=100, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_business_time_is_additive(a, b, c):
    a, b, c = sorted([a, b, c])
    cal = china()
    assert cal.business_time_between(a, c) == cal.business_time_between(a, b) + cal.business_time_between(b, c)
