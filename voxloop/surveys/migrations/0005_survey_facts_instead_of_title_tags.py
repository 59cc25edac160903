"""Survey answers become rule facts instead of title tags.

Before, the survey app wrote "#detractor" (NPS 0-6) and "#low-csat" (CSAT 1-2) into the title of a survey
answer's feedback item and the default recovery rule (0003) looked for those words. Now the rules see the
answer's survey_kind and survey_band (voxloop.automation.rules.survey_facts). This migration
- rewrites every automation and routing rule condition that looks for a tag into a survey_band condition
  (words next to the tags stay a text condition, joined to it by "any");
- gives existing survey feedback items their survey's kind in the payload, so re-runs and previews of rules
  see survey_kind on old items too;
- strips the tags from those items' titles.
Not reversible in detail (a rule written after it cannot be turned back into tags): backwards it does nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TAG_BANDS = {"#detractor": "detractor", "#low-csat": "low"}
TITLE_TAGS = tuple(f" · {tag}" for tag in TAG_BANDS)


def convert_condition(node: Any) -> Any:
    """One condition node with every tag condition turned into a survey_band one; other nodes unchanged."""
    if isinstance(node, list):
        return [convert_condition(n) for n in node]
    if not isinstance(node, dict):
        return node
    for key in ("all", "any"):
        if key in node and isinstance(node[key], list):
            return {**node, key: [convert_condition(n) for n in node[key]]}
    if node.get("field") != "text" or node.get("op") not in ("any", "contains"):
        return node
    values = node.get("value")
    words = values if isinstance(values, list) else [values]
    if not all(isinstance(w, str) for w in words):
        return node
    found = [TAG_BANDS[w.strip().lower()] for w in words if w.strip().lower() in TAG_BANDS]
    if not found:
        return node
    band = {"field": "survey_band", "op": "any", "value": list(dict.fromkeys(found))}
    rest = [w for w in words if w.strip().lower() not in TAG_BANDS]
    if not rest:
        return band
    return {"any": [{"field": "text", "op": "any", "value": rest}, band]}


def strip_tags(title: str) -> str:
    for tag in TITLE_TAGS:
        title = title.replace(tag, "")
    return title


def forward(apps, schema_editor):
    for name in ("AutomationRule", "RoutingRule"):
        model = apps.get_model("automation", name)
        for rule in model.objects.all().only("pk", "conditions"):
            converted = convert_condition(rule.conditions)
            if converted != rule.conditions:
                model.objects.filter(pk=rule.pk).update(conditions=converted)
    Response = apps.get_model("surveys", "Response")
    Feedback = apps.get_model("feedback", "Feedback")
    kinds = dict(Response.objects.filter(feedback__isnull=False).values_list("feedback_id", "survey__kind"))
    items = Feedback.objects.filter(source="survey").only("pk", "title", "raw_payload")
    for item in items.iterator(chunk_size=2000):
        payload = item.raw_payload if isinstance(item.raw_payload, dict) else {}
        kind = kinds.get(item.pk)
        title = strip_tags(item.title)
        changes: dict[str, Any] = {}
        if kind and payload.get("survey_kind") != kind:
            changes["raw_payload"] = {**payload, "survey_kind": kind}
        if title != item.title:
            changes["title"] = title
        if changes:
            Feedback.objects.filter(pk=item.pk).update(**changes)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_messages_in_each_language"),
        ("automation", "0002_default_rules"),
        ("feedback", "0006_import_lease_and_row_lines"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
