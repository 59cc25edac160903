"""Seed the customer journey: eight touchpoints in order, each mapped to topics of the default taxonomy.

Top-level topics are used wherever a touchpoint's subject has one, because the daily roll-ups keep volume,
negative share and sentiment per top-level topic; renewal has no top-level topic of its own, so it covers the
billing sub-topic (recurring charges). Admins change the mapping in the journey editor."""

from django.db import migrations

DEFAULT_TOUCHPOINTS = [
    ("awareness", "认知了解", "Awareness", ["communication"]),
    ("purchase", "购买", "Purchase", ["price"]),
    ("payment", "支付", "Payment", ["account"]),
    ("delivery", "配送", "Delivery", ["logistics"]),
    ("installation", "安装", "Installation", ["repair"]),
    ("use", "使用", "Use", ["quality", "usability", "environment"]),
    ("after-sales", "售后服务", "After-sales", ["refund", "attitude", "speed"]),
    ("renewal", "续费复购", "Renewal", ["price.billing"]),
]


def seed(apps, schema_editor):
    Touchpoint = apps.get_model("dashboards", "Touchpoint")
    for order, (code, name_zh, name_en, topics) in enumerate(DEFAULT_TOUCHPOINTS):
        Touchpoint.objects.get_or_create(
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "topic_codes": topics, "sort_order": (order + 1) * 10},
        )


def unseed(apps, schema_editor):
    apps.get_model("dashboards", "Touchpoint").objects.filter(code__in=[t[0] for t in DEFAULT_TOUCHPOINTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_touchpoint"), ("analysis", "0002_default_taxonomy")]
    operations = [migrations.RunPython(seed, unseed)]
