"""Surveys get an English name (name_en) next to their (Chinese) name.

The shipped surveys (0002) carry both languages in one name, e.g. "客户费力度 CES / Customer effort", which
the interface showed whole in either language. A name of exactly that form - one " / ", Chinese characters
before it and none after it - is split into name ("客户费力度 CES") and name_en ("Customer effort"). Any other
name, and any survey that already has an English name, is left alone. Backwards the two are joined again.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import migrations, models

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SEPARATOR = " / "


def split_name(name: str) -> tuple[str, str] | None:
    """("中文", "English") for a name of the shipped form "中文 / English"; None for any other name."""
    if name.count(SEPARATOR) != 1:
        return None
    chinese, english = (part.strip() for part in name.split(SEPARATOR))
    if not chinese or not english or not CJK.search(chinese) or CJK.search(english):
        return None
    return chinese, english


def split_names(apps: Any, schema_editor: Any) -> None:
    Survey = apps.get_model("surveys", "Survey")
    for survey in Survey.objects.filter(name_en="", name__contains=SEPARATOR):
        parts = split_name(survey.name)
        if parts is not None:
            survey.name, survey.name_en = parts
            survey.save(update_fields=["name", "name_en"])


def join_names(apps: Any, schema_editor: Any) -> None:
    Survey = apps.get_model("surveys", "Survey")
    for survey in Survey.objects.exclude(name_en=""):
        survey.name = f"{survey.name}{SEPARATOR}{survey.name_en}"[:200]
        survey.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("surveys", "0005_survey_facts_instead_of_title_tags")]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="English name"),
        ),
        migrations.RunPython(split_names, join_names),
    ]
