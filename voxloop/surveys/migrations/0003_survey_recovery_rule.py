"""A default automation rule: an unhappy survey answer with no case to reopen opens a recovery case.

The rules see a feedback item's rating but not its scale (NPS 6/10 and CSAT 4/5 look alike), so the survey app
names the band in the item's title ("#detractor" for NPS 0-6, "#low-csat" for CSAT 1-2) and the rule looks for
it. Idempotent; admins can edit or switch it off like any other rule."""

from django.db import migrations

RULE = {
    "name": "调查贬损者和低满意度开挽回工单 / Survey detractors and low CSAT open recovery cases",
    "order": 25,
    "conditions": [
        {"field": "channel", "op": "eq", "value": "survey"},
        {"field": "text", "op": "any", "value": ["#detractor", "#low-csat"]},
    ],
    "actions": [{"type": "open_case", "severity": "important"}, {"type": "add_tags", "tags": ["survey-recovery"]}],
}


def create_rule(apps, schema_editor):
    AutomationRule = apps.get_model("automation", "AutomationRule")
    AutomationRule.objects.get_or_create(name=RULE["name"], defaults={k: v for k, v in RULE.items() if k != "name"})


def remove_rule(apps, schema_editor):
    AutomationRule = apps.get_model("automation", "AutomationRule")
    AutomationRule.objects.filter(name=RULE["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_standard_survey_templates"), ("automation", "0002_default_rules")]

    operations = [migrations.RunPython(create_rule, remove_rule)]
