"""Ship a usable default: a Mon-Fri calendar in Asia/Shanghai with the Chinese public holidays from
data/cn_public_holidays.csv, one SLA policy per severity, and the three-level escalation chain."""

from pathlib import Path

from django.db import migrations

DEFAULT_HOURS = {d: [["09:00", "12:00"], ["13:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
# (severity, name, first response, resolution) in business minutes
POLICIES = [
    ("normal", "一般 / Normal", 8 * 60, 5 * 8 * 60),
    ("important", "重要 / Important", 4 * 60, 2 * 8 * 60),
    ("urgent", "紧急 / Urgent", 60, 8 * 60),
]
LEVELS = [(1, "team_lead", 0), (2, "department_manager", 4 * 60), (3, "named_user", 8 * 60)]


def create_defaults(apps, schema_editor):
    from voxloop.cases.calendar import load_holiday_rows

    BusinessCalendar = apps.get_model("cases", "BusinessCalendar")
    Holiday = apps.get_model("cases", "Holiday")
    SLAPolicy = apps.get_model("cases", "SLAPolicy")
    EscalationLevel = apps.get_model("cases", "EscalationLevel")
    calendar = BusinessCalendar.objects.create(
        name="中国大陆工作日 / China working days", time_zone="Asia/Shanghai", working_hours=DEFAULT_HOURS, is_default=True
    )
    text = (Path(__file__).resolve().parent.parent / "data" / "cn_public_holidays.csv").read_text(encoding="utf-8")
    Holiday.objects.bulk_create(
        [Holiday(calendar=calendar, date=r.day, kind=r.kind, name=r.name) for r in load_holiday_rows(text)]
    )
    for severity, name, first_response, resolution in POLICIES:
        SLAPolicy.objects.create(
            name=name,
            severity=severity,
            calendar=calendar,
            first_response_minutes=first_response,
            resolution_minutes=resolution,
            warn_share=0.8,
        )
    for level, target, after in LEVELS:
        EscalationLevel.objects.create(level=level, target=target, after_breach_minutes=after)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_cases_calendars_policies")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
