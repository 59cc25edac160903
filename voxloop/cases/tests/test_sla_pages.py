"""SLA settings in the product: policies, calendars with working hours and holidays, escalation levels."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from voxloop.cases.models import BusinessCalendar, EscalationLevel, Holiday, SLAPolicy


@pytest.fixture
def admin_client_(client, admin_user, sla_defaults):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def calendar_data(**hours):
    days = {f"hours_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "makeup")}
    days.update({f"hours_{d}": v for d, v in hours.items()})
    return {"name": "上海客服", "time_zone": "Asia/Shanghai", **days}


def test_overview_lists_the_shipped_policies_and_is_for_admins(admin_client_, client, manager):
    page = admin_client_.get(reverse("sla:overview")).content.decode()
    for policy in SLAPolicy.objects.all():
        assert policy.name in page
    client.force_login(manager)
    assert client.get(reverse("sla:overview")).status_code == 403


def test_policy_targets_are_checked(admin_client_):
    calendar = BusinessCalendar.objects.get(is_default=True)
    data = {"name": "VIP 紧急", "severity": "urgent", "calendar": calendar.pk, "first_response_0": "2",
            "first_response_1": "hours", "resolution_0": "60", "resolution_1": "minutes", "warn_share": "1.5",
            "is_active": "on", "customer_segment": "vip"}  # fmt: skip
    response = admin_client_.post(reverse("sla:policy_new"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Give a share between 0 and 1" in page
    assert "cannot be shorter than the first response" in page
    data.update(resolution_0="1", resolution_1="days", warn_share="0.75")  # one working day: 8 hours
    assert admin_client_.post(reverse("sla:policy_new"), data).status_code == 302
    policy = SLAPolicy.objects.get(name="VIP 紧急")
    assert (policy.customer_segment, policy.first_response_minutes, policy.warn_share) == ("vip", 120, 0.75)
    assert policy.resolution_minutes == 480


def test_a_calendar_without_working_hours_is_refused(admin_client_):
    response = admin_client_.post(reverse("sla:calendar_new"), calendar_data())
    assert response.status_code == 200
    assert "no working hours on any day of the week" in response.content.decode()
    bad = admin_client_.post(reverse("sla:calendar_new"), calendar_data(mon="9-18"))
    assert "Monday: &#x27;9-18&#x27; is not a time range like 09:00-18:00." in bad.content.decode()
    wrong_zone = admin_client_.post(
        reverse("sla:calendar_new"), {**calendar_data(mon="09:00-18:00"), "time_zone": "Mars/Olympus"}
    )
    assert "is not a known time zone" in wrong_zone.content.decode()
    assert not BusinessCalendar.objects.filter(name="上海客服").exists()


def test_calendar_hours_are_saved_and_one_default_remains(admin_client_):
    old_default = BusinessCalendar.objects.get(is_default=True)
    data = {**calendar_data(mon="09:00-12:00，13:00-18:00", sat="9:30-12:00"), "make_default": "on"}
    response = admin_client_.post(reverse("sla:calendar_new"), data)
    assert response.status_code == 302
    calendar = BusinessCalendar.objects.get(name="上海客服")
    assert calendar.working_hours == {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": [["09:30", "12:00"]]}
    assert calendar.is_default
    old_default.refresh_from_db()
    assert not old_default.is_default


def test_a_holiday_list_with_a_bad_line_changes_nothing(admin_client_):
    calendar = BusinessCalendar.objects.get(is_default=True)
    before = Holiday.objects.filter(calendar=calendar).count()
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n2027-02-07,vacation,调休\n"
    url = reverse("sla:holidays_upload", args=[calendar.pk])
    response = admin_client_.post(url, {"text": text, "fmt": "csv", "replace_years": "on"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "line 3" in page and "line 4" in page
    assert Holiday.objects.filter(calendar=calendar).count() == before


def test_a_gbk_holiday_file_loads(admin_client_):
    calendar = BusinessCalendar.objects.get(is_default=True)
    content = "2027-01-01,holiday,元旦\n2027-02-20,workday,春节调休\n".encode("gb18030")
    upload = SimpleUploadedFile("2027.csv", content, content_type="text/csv")
    url = reverse("sla:holidays_upload", args=[calendar.pk])
    response = admin_client_.post(url, {"file": upload, "fmt": "csv", "replace_years": "on"})
    assert response.status_code == 302
    rows = {(h.date, h.kind, h.name) for h in Holiday.objects.filter(calendar=calendar, date__year=2027)}
    assert rows == {(date(2027, 1, 1), "holiday", "元旦"), (date(2027, 2, 20), "workday", "春节调休")}


def test_a_calendar_in_use_cannot_be_deleted(admin_client_):
    calendar = BusinessCalendar.objects.get(is_default=True)
    response = admin_client_.post(reverse("sla:delete", args=["calendar", calendar.pk]), follow=True)
    assert "deactivate it instead of deleting it" in response.content.decode()
    assert BusinessCalendar.objects.filter(pk=calendar.pk).exists()


def test_targets_are_shown_and_entered_in_working_hours_and_days(admin_client_, client, admin_user):
    page = admin_client_.get(reverse("sla:overview")).content.decode()
    assert "5 working days (8 h each)" in page and "1 working hour" in page  # 2400 and 60 minutes
    assert "2400" not in page and "First response (working time)" in page
    client.force_login(admin_user)
    zh = client.get(reverse("sla:overview"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert (
        "5 个工作日（每天 8 小时）" in zh and "1 个工作小时" in zh and "分钟" not in zh.split("sla-policies")[1][:3000]
    )
    normal = SLAPolicy.objects.get(severity="normal", team=None, customer_segment="")
    form = admin_client_.get(reverse("sla:policy_edit", args=[normal.pk])).context["form"]
    assert form["resolution"].value() == [5, "days"] or tuple(form.initial["resolution"]) == (5, "days")
    level = EscalationLevel.objects.get(level=2)
    data = {"level": "2", "target": level.target, "user": "", "after_breach_0": "1.5", "after_breach_1": "hours"}
    assert admin_client_.post(reverse("sla:level_edit", args=[level.pk]), data).status_code == 302
    level.refresh_from_db()
    assert level.after_breach_minutes == 90
    bad = admin_client_.post(reverse("sla:level_edit", args=[level.pk]), {**data, "after_breach_0": "soon"})
    assert "Enter a number." in bad.content.decode()
