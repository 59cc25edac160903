"""The default automation rules: negative feedback and complaints open normal cases; urgent signals (safety,
legal, regulator/media and churn threats) open urgent cases; negative feedback from high-value customers opens
important cases. When several match, the highest severity wins; admins edit them in the admin."""

from django.db import migrations

HIGH_VALUE_THRESHOLD = 50000  # lifetime value in yuan

DEFAULT_RULES = [
    {
        "name": "紧急信号开紧急工单 / Urgent signals open urgent cases",
        "order": 10,
        "conditions": [
            {
                "any": [
                    {"field": "urgency", "op": "eq", "value": "urgent"},
                    {"field": "urgency_reasons", "op": "any", "value": ["safety", "legal", "media", "churn"]},
                ]
            }
        ],
        "actions": [
            {"type": "open_case", "severity": "urgent"},
            {"type": "add_tags", "tags": ["urgent-signal"]},
            {"type": "notify", "message": "Urgent signal in customer feedback"},
            {"type": "auto_acknowledge"},
        ],
    },
    {
        "name": "高价值客户负面反馈开重要工单 / High-value customers' negative feedback opens important cases",
        "order": 20,
        "conditions": [
            {"any": [{"field": "sentiment", "op": "eq", "value": "negative"}, {"field": "kind", "op": "eq", "value": "complaint"}]},
            {
                "any": [
                    {"field": "customer_tags", "op": "any", "value": ["vip", "svip"]},
                    {"field": "customer_lifetime_value", "op": "gte", "value": HIGH_VALUE_THRESHOLD},
                ]
            },
        ],
        "actions": [
            {"type": "open_case", "severity": "important"},
            {"type": "add_tags", "tags": ["high-value"]},
            {"type": "auto_acknowledge"},
        ],
    },
    {
        "name": "负面反馈和投诉开一般工单 / Negative feedback and complaints open normal cases",
        "order": 30,
        "conditions": [
            {"any": [{"field": "sentiment", "op": "eq", "value": "negative"}, {"field": "kind", "op": "eq", "value": "complaint"}]}
        ],
        "actions": [{"type": "open_case", "severity": "normal"}, {"type": "auto_acknowledge"}],
    },
]


def create_defaults(apps, schema_editor):
    AutomationRule = apps.get_model("automation", "AutomationRule")
    for rule in DEFAULT_RULES:
        AutomationRule.objects.get_or_create(name=rule["name"], defaults={k: v for k, v in rule.items() if k != "name"})


def remove_defaults(apps, schema_editor):
    AutomationRule = apps.get_model("automation", "AutomationRule")
    AutomationRule.objects.filter(name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_rules_routing_firings_tags")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
