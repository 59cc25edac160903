"""Ship a usable default: a Mon-Fri calendar in Asia/Shanghai with the Chinese public holidays and make-up days
from the holidays library (2025 to next year), one SLA policy per severity, and the three-level escalation chain."""

from datetime import date

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
    # imported here: a later change to cases.holidays must not break loading the migration graph
    from voxloop.cases.holidays import library_holiday_rows

    BusinessCalendar = apps.get_model("cases", "BusinessCalendar")
    Holiday = apps.get_model("cases", "Holiday")
    SLAPolicy = apps.get_model("cases", "SLAPolicy")
    EscalationLevel = apps.get_model("cases", "EscalationLevel")
    calendar = BusinessCalendar.objects.create(
        name="中国大陆工作日 / China working days", time_zone="Asia/Shanghai", working_hours=DEFAULT_HOURS, is_default=True
    )
    # From 2025 (the history a demo or an import may hold) to next year, as the library knows them when installed.
    years = range(2025, max(2026, date.today().year + 1) + 1)
    Holiday.objects.bulk_create(
        [Holiday(calendar=calendar, date=r.day, kind=r.kind, name=r.name) for r in library_holiday_rows(years)]
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
