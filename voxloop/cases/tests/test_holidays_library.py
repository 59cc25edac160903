"""Holidays from the maintained holidays library: this year and next, added without overwriting an admin's days."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from voxloop.cases.holidays import fill_missing_years, library_holiday_rows, load_library_holidays
from voxloop.cases.models import BusinessCalendar, Holiday
from voxloop.cases.tasks import fill_holidays_task

DEC_2026 = date(2026, 12, 7)


@pytest.fixture
def empty_calendar(db) -> BusinessCalendar:
    hours = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    return BusinessCalendar.objects.create(name="北京", time_zone="Asia/Shanghai", working_hours=hours)


def test_library_knows_the_official_2026_schedule_with_make_up_days():
    rows = {r.day: r for r in library_holiday_rows([2026])}
    assert rows[date(2026, 10, 1)].kind == "holiday"
    assert rows[date(2026, 10, 1)].name.startswith("国庆节")
    assert "National Day" in rows[date(2026, 10, 1)].name
    # 调休: Saturday 10 October 2026 is worked, the Wednesday 7 October is off.
    assert rows[date(2026, 10, 10)].kind == "workday"
    assert rows[date(2026, 10, 7)].kind == "holiday"
    assert {r.day.year for r in rows.values()} == {2026}


@time_machine.travel(DEC_2026, tick=False)
def test_this_and_next_year_are_added_and_an_admins_day_is_kept(empty_calendar):
    Holiday.objects.create(calendar=empty_calendar, date=date(2027, 1, 1), kind="workday", name="公司值班")
    added = load_library_holidays(empty_calendar)
    years = set(empty_calendar.holidays.values_list("date__year", flat=True))
    assert years == {2026, 2027}
    assert added == len(library_holiday_rows([2026, 2027])) - 1
    kept = empty_calendar.holidays.get(date=date(2027, 1, 1))
    assert (kept.kind, kept.name) == ("workday", "公司值班")
    assert load_library_holidays(empty_calendar) == 0  # a second run adds nothing


@time_machine.travel(DEC_2026, tick=False)
def test_the_daily_task_fills_only_years_without_any_day(empty_calendar):
    Holiday.objects.create(calendar=empty_calendar, date=date(2026, 3, 3), kind="holiday", name="本地假日")
    result = fill_holidays_task()
    assert result[empty_calendar.name] == len(library_holiday_rows([2027]))
    assert list(empty_calendar.holidays.filter(date__year=2026).values_list("name", flat=True)) == ["本地假日"]
    assert fill_missing_years() == {}


@time_machine.travel(DEC_2026, tick=False)
def test_command_loads_from_the_library_and_names_the_version(empty_calendar):
    out = StringIO()
    call_command("load_holidays", "--library", "--calendar", "北京", "--year", "2027", stdout=out)
    assert "2027" in out.getvalue() and "holidays library" in out.getvalue()
    assert set(empty_calendar.holidays.values_list("date__year", flat=True)) == {2027}
    with pytest.raises(CommandError, match="FILE or --library"):
        call_command("load_holidays", "--calendar", "北京")


@time_machine.travel(DEC_2026, tick=False)
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_calendar_page_says_what_is_missing_and_loads_it(client, admin_user, empty_calendar, lang):
    client.force_login(admin_user)
    url = reverse("sla:calendar_edit", args=[empty_calendar.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    if lang == "en":
        assert "No holidays yet for 2026, 2027." in page
        assert "Add 2026 and 2027 from the holidays library" in page
    else:
        assert "2026, 2027 年还没有节假日" in page
        assert "从 holidays 库添加 2026 和 2027 年" in page
    response = client.post(
        reverse("sla:holidays_library", args=[empty_calendar.pk]), HTTP_ACCEPT_LANGUAGE=lang, follow=True
    )
    page = response.content.decode()
    assert empty_calendar.holidays.filter(date=date(2027, 10, 1)).exists()
    assert "No holidays yet" not in page and "还没有节假日" not in page
    assert ("added from the holidays library" if lang == "en" else "已从 holidays 库添加") in page


def test_only_admins_load_holidays(client, manager, empty_calendar):
    client.force_login(manager)
    assert client.post(reverse("sla:holidays_library", args=[empty_calendar.pk])).status_code == 403
    assert not empty_calendar.holidays.exists()
