"""Store the shipped customer-service taxonomy as editable topics (admins may change them afterwards)."""

from django.db import migrations


def seed(apps, schema_editor):
    # imported here: a later change to voxloop_nlp.taxonomy must not break loading the migration graph
    from voxloop_nlp.taxonomy import default_taxonomy

    Topic = apps.get_model("analysis", "Topic")
    by_code = {t.code: t for t in Topic.objects.all()}
    rows = sorted(default_taxonomy().to_dicts(), key=lambda r: r["code"].count("."))
    for order, row in enumerate(rows):
        if row["code"] in by_code:
            continue
        by_code[row["code"]] = Topic.objects.create(
            code=row["code"],
            parent=by_code.get(row.get("parent") or ""),
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            phrases_zh=row.get("phrases_zh", []),
            phrases_en=row.get("phrases_en", []),
            sort_order=order,
        )


class Migration(migrations.Migration):
    dependencies = [("analysis", "0001_analysis_topics_corrections")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
