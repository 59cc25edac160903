"""Routing that works on first start: the default service teams (售后服务组, 物流组, 投诉处理组, English support) in
the customer-service department, routing rules by language and topic, and a named person on the escalation
chain's last level. Only adds what is absent: an install that already routes (any routing rule) keeps its rules,
existing teams keep their settings, and a level that names someone keeps that person."""

from django.db import migrations
from django.db.models import Q

DEPARTMENT = ("客户服务部", "Customer Service")
# key -> (name, English name)
TEAMS = {
    "after_sales": ("售后服务组", "After-sales service"),
    "logistics": ("物流组", "Logistics"),
    "complaints": ("投诉处理组", "Complaints"),
    "english": ("英文支持组", "English support"),
}
# (order, name, conditions, team key): English first (whatever the topic, an English speaker answers), then
# delivery, after-sales topics, and the remaining complaints. Other items stay in the shared queue. Numbered
# from 1000, so a rule an admin adds (100 by default) is tried before them.
ROUTING_RULES = [
    (1010, "英文反馈转英文支持组 / English feedback to English support",
     [{"field": "language", "op": "eq", "value": "en"}], "english"),
    (1020, "物流问题转物流组 / Delivery problems to Logistics",
     [{"field": "topics", "op": "any", "value": ["logistics"]}], "logistics"),
    (1030, "退换货维修质量转售后服务组 / Returns, repairs and quality to After-sales",
     [{"field": "topics", "op": "any", "value": ["refund", "repair", "quality"]}], "after_sales"),
    (1040, "其他投诉转投诉处理组 / Other complaints to Complaints",
     [{"field": "kind", "op": "eq", "value": "complaint"}], "complaints"),
]  # fmt: skip


def create_defaults(apps, schema_editor):
    Department = apps.get_model("accounts", "Department")
    Team = apps.get_model("accounts", "Team")
    User = apps.get_model("accounts", "User")
    RoutingRule = apps.get_model("automation", "RoutingRule")
    EscalationLevel = apps.get_model("cases", "EscalationLevel")

    department = Department.objects.filter(name=DEPARTMENT[0]).first()
    if department is None:
        department = Department.objects.create(name=DEPARTMENT[0], name_en=DEPARTMENT[1])
    teams = {}
    for key, (name, name_en) in TEAMS.items():
        team = Team.objects.filter(name=name).first()
        teams[key] = team or Team.objects.create(name=name, name_en=name_en, department=department)
    if not RoutingRule.objects.exists():
        for order, name, conditions, key in ROUTING_RULES:
            RoutingRule.objects.create(name=name, order=order, conditions=conditions, team=teams[key])
    # The last level names a person; on an install that has administrators, the first one (never replaced).
    admin = User.objects.filter(Q(role="admin") | Q(is_superuser=True), is_active=True).order_by("pk").first()
    if admin is not None:
        EscalationLevel.objects.filter(target="named_user", user__isnull=True).update(user=admin)
    if admin is not None and department.manager_id is None:
        Department.objects.filter(pk=department.pk).update(manager=admin)


def remove_defaults(apps, schema_editor):
    RoutingRule = apps.get_model("automation", "RoutingRule")
    RoutingRule.objects.filter(name__in=[r[1] for r in ROUTING_RULES]).delete()


def remove_shipped(apps, schema_editor):
    """Everything create_defaults adds (the test database starts without it; see the root conftest)."""
    remove_defaults(apps, schema_editor)
    apps.get_model("accounts", "Team").objects.filter(name__in=[name for name, _en in TEAMS.values()]).delete()
    apps.get_model("accounts", "Department").objects.filter(name=DEPARTMENT[0], teams__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("automation", "0002_default_rules"),
        ("accounts", "0004_audit_actions_for_privacy_requests"),
        ("cases", "0002_default_calendar_and_policies"),
    ]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
