"""A unique index treats NULLs as distinct, so the whole-organisation variant (department NULL) and the report's own
files (variant NULL) were not kept once by the database. Duplicates that a race may have left are folded into the
oldest row (the one readers saw: both tables are read oldest first), deliveries are pointed at it, then each
constraint is split into a partial one for the NULL case and one for the rest."""

from typing import Any

from django.db import migrations, models


def fold_duplicates(apps: Any, schema_editor: Any) -> None:
    variant_model = apps.get_model("reports", "ReportVariant")
    file_model = apps.get_model("reports", "ReportFile")
    delivery_model = apps.get_model("reports", "ReportDelivery")
    kept: dict[tuple[int, bool], int] = {}
    for row in (
        variant_model.objects.filter(department__isnull=True).order_by("id").values("id", "report_id", "see_contacts")
    ):
        key = (row["report_id"], row["see_contacts"])
        if key in kept:
            # The delivery keeps its scope: it is moved to the copy that stays, never left with none.
            delivery_model.objects.filter(variant_id=row["id"]).update(variant_id=kept[key])
            variant_model.objects.filter(id=row["id"]).delete()
        else:
            kept[key] = row["id"]
    seen: set[tuple[int, str]] = set()
    for row in file_model.objects.filter(variant__isnull=True).order_by("id").values("id", "report_id", "format"):
        key = (row["report_id"], row["format"])
        if key in seen:
            file_model.objects.filter(id=row["id"]).delete()
        seen.add(key)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_auditlog_monthly_partitions"),
        ("reports", "0001_service_quality_reports"),
    ]

    operations = [
        migrations.RunPython(fold_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="reportfile", name="report_file_once"),
        migrations.RemoveConstraint(model_name="reportvariant", name="report_variant_once"),
        migrations.AddConstraint(
            model_name="reportfile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("variant__isnull", False)),
                fields=("report", "variant", "format"),
                name="report_file_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="reportfile",
            constraint=models.UniqueConstraint(
                condition=models.Q(("variant__isnull", True)), fields=("report", "format"), name="report_file_own_once"
            ),
        ),
        migrations.AddConstraint(
            model_name="reportvariant",
            constraint=models.UniqueConstraint(
                condition=models.Q(("department__isnull", False)),
                fields=("report", "department", "see_contacts"),
                name="report_variant_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="reportvariant",
            constraint=models.UniqueConstraint(
                condition=models.Q(("department__isnull", True)),
                fields=("report", "see_contacts"),
                name="report_variant_org_once",
            ),
        ),
    ]
