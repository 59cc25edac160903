"""Configuration around cases: holiday data, calendar validation, severity changes, the outbox, the admin."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import translation

from voxloop.cases import outbox
from voxloop.cases.calendar import HolidayDataError
from voxloop.cases.holidays import import_holidays
from voxloop.cases.models import BusinessCalendar, Case, CaseEvent, EventKind, Holiday, Severity
from voxloop.cases.services import change_severity, open_case
from voxloop.cases.sla import sweep_sla
from voxloop.cases.tests.conftest import MONDAY_9, sh


@pytest.fixture
def calendar(sla_defaults) -> BusinessCalendar:
    return BusinessCalendar.objects.get(is_default=True)


def test_default_calendar_ships_chinese_holidays_as_data(calendar):
    assert calendar.holidays.filter(date=date(2026, 10, 1), kind=Holiday.Kind.HOLIDAY).exists()
    assert calendar.holidays.filter(date=date(2026, 10, 10), kind=Holiday.Kind.WORKDAY).exists()
    pure = calendar.to_calendar()
    assert pure.add_business_time(sh(2026, 9, 30, 17, 0), timedelta(hours=2)) == sh(2026, 10, 8, 10, 0)


def test_import_holidays_replaces_the_years_it_contains(calendar):
    other_year = list(calendar.holidays.filter(date__year=2026).values_list("date", "kind", "name"))
    assert len(other_year) > 20
    text = "2027-01-01,holiday,元旦\n2027-02-06,workday,春节调休\n"
    assert import_holidays(calendar, text) == 2
    import_holidays(calendar, "2027-01-01,holiday,元旦\n")  # the corrected list no longer has the make-up day
    assert list(calendar.holidays.filter(date__year=2027).values_list("date", flat=True)) == [date(2027, 1, 1)]
    # other years untouched
    assert list(calendar.holidays.filter(date__year=2026).values_list("date", "kind", "name")) == other_year


def test_bad_holiday_file_changes_nothing_and_names_the_lines(calendar, tmp_path):
    before = calendar.holidays.count()
    with pytest.raises(HolidayDataError) as exc:
        import_holidays(calendar, "2026-10-01,holiday,国庆\n2026-13-01,holiday,坏日期\n")
    assert exc.value.errors[0][0] == 2
    assert calendar.holidays.count() == before
    bad = tmp_path / "holidays.csv"
    bad.write_text("date,kind,name\n2026-02-30,holiday,二月三十日\n", encoding="utf-8")
    with pytest.raises(CommandError, match="line 2: '2026-02-30' is not a valid date"):
        call_command("load_holidays", str(bad))
    good = tmp_path / "holidays.json"
    good.write_text('[{"date": "2027-10-01", "kind": "holiday", "name": "国庆节"}]', encoding="utf-8")
    out = StringIO()
    call_command("load_holidays", str(good), stdout=out)
    assert "1 days loaded" in out.getvalue()
    assert calendar.holidays.filter(date=date(2027, 10, 1)).exists()


def test_calendar_without_working_hours_fails_validation(calendar):
    calendar.working_hours = {"mon": [], "tue": []}
    with pytest.raises(ValidationError) as exc:
        calendar.full_clean()
    assert "no working hours" in str(exc.value.message_dict["working_hours"])


def test_raising_severity_tightens_the_running_clocks(make_feedback):
    case = open_case([make_feedback()], Severity.NORMAL, now=MONDAY_9)  # first response due Monday 18:00
    change_severity(case, Severity.IMPORTANT, now=sh(2026, 11, 23, 9, 30))
    case.refresh_from_db()
    assert case.first_response_due_at == sh(2026, 11, 23, 14, 0)  # 4 business hours from 09:00, lunch skipped
    change_severity(case, Severity.URGENT, now=sh(2026, 11, 23, 10, 30))
    case.refresh_from_db()
    assert case.first_response_due_at == sh(2026, 11, 23, 10, 30)  # 1.5h of the 1h already used: due at once
    sweep_sla(now=sh(2026, 11, 23, 10, 30))
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["created", "severity_changed", "severity_changed", "sla_warning", "sla_breach", "escalated"]
    event = CaseEvent.objects.filter(case=case, kind=EventKind.SEVERITY_CHANGED).last()
    assert event is not None
    assert event.payload["from"] == "important"
    assert event.payload["to"] == "urgent"


def test_outbox_hands_each_event_to_handlers_once(make_feedback):
    seen: list[str] = []
    assert outbox.process_case_events() == 0  # no handler yet: events wait, nothing is lost
    open_case([make_feedback()], now=MONDAY_9)
    assert CaseEvent.objects.filter(processed=False).count() == 1

    def handler(event: CaseEvent) -> None:
        seen.append(event.kind)

    outbox.register_event_handler(handler)
    try:
        assert outbox.process_case_events() == 1
        assert outbox.process_case_events() == 0
    finally:
        outbox.unregister_event_handler(handler)
    assert seen == ["created"]
    assert not CaseEvent.objects.filter(processed=False).exists()


def test_admin_pages_render(admin_client, make_feedback, calendar):
    case = open_case([make_feedback("<script>alert(1)</script> 投诉")], now=MONDAY_9)
    for url in (
        "/admin/cases/case/",
        f"/admin/cases/case/{case.pk}/change/",
        "/admin/cases/slapolicy/",
        f"/admin/cases/businesscalendar/{calendar.pk}/change/",
        "/admin/cases/escalationlevel/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert Case.objects.count() == 1


def test_messages_are_translated(calendar):
    with translation.override("zh-hans"):
        with pytest.raises(HolidayDataError, match="第 1 行：'2026-02-30' 不是有效日期"):
            import_holidays(calendar, "2026-02-30,holiday,x\n")
        assert str(Severity.URGENT.label) == "紧急"
