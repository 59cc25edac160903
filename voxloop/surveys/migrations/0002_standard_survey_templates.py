"""The three standard surveys ship as templates: NPS with a "why?" after a low score, CSAT with the speed /
resolution / attitude sub-dimensions, and CES. Idempotent: each is found again by its template_code, and an
edited template is left as the user made it."""

import secrets

from django.db import migrations

LANGS = ["zh-hans", "en"]

TEMPLATES = [
    {
        "template_code": "nps",
        "name": "NPS 推荐意愿 / Net Promoter Score",
        "kind": "nps",
        "title_zh": "您愿意推荐我们吗？",
        "title_en": "Would you recommend us?",
        "thank_you_zh": "感谢您的反馈！我们会认真阅读每一条意见。",
        "thank_you_en": "Thank you! We read every answer.",
        "questions": [
            {"kind": "nps", "dimension": "overall", "required": True,
             "text_zh": "您有多大可能把我们推荐给朋友或同事？", "text_en": "How likely are you to recommend us to a friend or colleague?"},
            {"kind": "text", "show_if": {"question": 1, "lte": 6},
             "text_zh": "我们哪里做得不够好？", "text_en": "What should we have done better?"},
            {"kind": "text", "show_if": {"question": 1, "gte": 7},
             "text_zh": "您最喜欢我们的哪一点？（选填）", "text_en": "What do you like most about us? (optional)"},
        ],
    },
    {
        "template_code": "csat",
        "name": "服务满意度 CSAT / Customer satisfaction",
        "kind": "csat",
        "title_zh": "您对这次服务满意吗？",
        "title_en": "How did we do?",
        "thank_you_zh": "感谢您的评价！",
        "thank_you_en": "Thank you for your rating!",
        "questions": [
            {"kind": "csat", "dimension": "overall", "required": True,
             "text_zh": "您对这次服务的总体满意度如何？", "text_en": "How satisfied are you with the service overall?"},
            {"kind": "csat", "dimension": "speed",
             "text_zh": "响应速度", "text_en": "Speed of response"},
            {"kind": "csat", "dimension": "resolution",
             "text_zh": "问题解决情况", "text_en": "How well your issue was resolved"},
            {"kind": "csat", "dimension": "attitude",
             "text_zh": "服务态度", "text_en": "Attitude of our staff"},
            {"kind": "text", "show_if": {"question": 1, "lte": 2},
             "text_zh": "很抱歉让您失望了，请告诉我们原因。", "text_en": "We are sorry. What went wrong?"},
        ],
    },
    {
        "template_code": "ces",
        "name": "客户费力度 CES / Customer effort",
        "kind": "ces",
        "title_zh": "解决问题容易吗？",
        "title_en": "Was it easy?",
        "thank_you_zh": "感谢您的反馈！",
        "thank_you_en": "Thank you for your feedback!",
        "questions": [
            {"kind": "ces", "dimension": "overall", "required": True,
             "text_zh": "解决您的问题有多容易？（1 = 非常困难，7 = 非常容易）",
             "text_en": "How easy was it to get your issue resolved? (1 = very hard, 7 = very easy)"},
            {"kind": "text", "show_if": {"question": 1, "lte": 3},
             "text_zh": "哪一步最费力？", "text_en": "Which step took the most effort?"},
        ],
    },
]


def create_templates(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Question = apps.get_model("surveys", "Question")
    for spec in TEMPLATES:
        if Survey.objects.filter(template_code=spec["template_code"]).exists():
            continue
        survey = Survey.objects.create(
            template_code=spec["template_code"],
            name=spec["name"],
            kind=spec["kind"],
            languages=LANGS,
            title_zh=spec["title_zh"],
            title_en=spec["title_en"],
            thank_you_zh=spec["thank_you_zh"],
            thank_you_en=spec["thank_you_en"],
            public_token=secrets.token_urlsafe(24),
            branding={},
        )
        for order, q in enumerate(spec["questions"], start=1):
            Question.objects.create(
                survey=survey,
                order=order,
                kind=q["kind"],
                dimension=q.get("dimension", ""),
                text_zh=q["text_zh"],
                text_en=q["text_en"],
                required=q.get("required", False),
                show_if=q.get("show_if", {}),
                choices=[],
            )


def remove_templates(apps, schema_editor):
    Survey = apps.get_model("surveys", "Survey")
    Survey.objects.filter(template_code__in=[t["template_code"] for t in TEMPLATES], responses__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_surveys_questions_invitations_responses")]

    operations = [migrations.RunPython(create_templates, remove_templates)]
