"""Building surveys in the UI: who may, per-language wording, question order, conditions, templates."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from voxloop.surveys import answers, building
from voxloop.surveys.models import Question, Survey

pytestmark = pytest.mark.django_db


def test_the_three_standard_templates_ship_and_the_migration_is_idempotent():
    templates = {s.template_code: s for s in Survey.objects.exclude(template_code="")}
    assert set(templates) == {"nps", "csat", "ces"}
    csat = templates["csat"]
    assert [q.dimension for q in csat.questions.order_by("order")] == ["overall", "speed", "resolution", "attitude", ""]
    assert csat.questions.get(order=5).show_if == {"question": 1, "lte": 2}
    assert templates["nps"].questions.get(order=2).show_if == {"question": 1, "lte": 6}
    migration = importlib.import_module("voxloop.surveys.migrations.0002_standard_survey_templates")
    migration.create_templates(apps, None)
    assert Survey.objects.exclude(template_code="").count() == 3
    assert Question.objects.filter(survey__template_code="csat").count() == 5


@pytest.mark.parametrize(
    ("persona", "status"), [("manager", 200), ("analyst", 200), ("admin_user", 200), ("agent", 403)]
)
def test_who_may_build_surveys(client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("surveys:list")).status_code == status
    before = Survey.objects.count()
    client.post(reverse("surveys:create"), {"name": "X", "kind": "nps", "languages": ["zh-hans"]})
    assert Survey.objects.count() == before + (status == 200)


def test_a_manager_builds_a_csat_survey_with_a_sub_dimension_and_a_why_question(client, manager):
    client.force_login(manager)
    page = client.post(
        reverse("surveys:create"),
        {"name": "售后满意度", "kind": "csat", "languages": ["zh-hans", "en"], "colour": "#aa3300",
         "logo_text": "好家电", "is_active": "on", "thank_you_zh": "谢谢！"},
    )  # fmt: skip
    survey = Survey.objects.get(name="售后满意度")
    assert page.status_code == 302
    assert survey.branding == {"logo_text": "好家电", "colour": "#aa3300"}
    assert survey.questions.get().kind == "csat"  # the headline question comes with it
    add = reverse("surveys:question_add", args=[survey.pk])
    client.post(
        add, {"kind": "csat", "text_zh": "安装师傅的专业程度", "text_en": "Installer's skill", "dimension": "installer"}
    )
    client.post(
        add,
        {"kind": "text", "text_zh": "哪里不满意？", "text_en": "What went wrong?", "show_if_question": "1",
         "show_if_lte": "2"},
    )  # fmt: skip
    questions = list(survey.questions.order_by("order"))
    assert [(q.kind, q.dimension) for q in questions] == [("csat", "overall"), ("csat", "installer"), ("text", "")]
    assert questions[2].show_if == {"question": 1, "lte": 2}
    detail = client.get(reverse("surveys:detail", args=[survey.pk])).content.decode()
    assert "安装师傅的专业程度" in detail and "Installer&#x27;s skill" in detail


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "text", "text_zh": "为什么？"}, "Write the question in every language the survey offers."),
        (
            {"kind": "single", "text_zh": "a", "text_en": "a", "choices_text": "只有一个 | only one"},
            "at least two choices",
        ),
        (
            {"kind": "text", "text_zh": "a", "text_en": "a", "show_if_question": "5", "show_if_lte": "6"},
            "earlier score",
        ),
        (
            {"kind": "text", "text_zh": "a", "text_en": "a", "show_if_question": "1", "show_if_lte": "11"},
            "earlier score",
        ),
        ({"kind": "nps", "text_zh": "a", "text_en": "a", "dimension": "Speed Of!"}, "short code"),
        ({"kind": "text", "text_zh": "a", "text_en": "a", "dimension": "speed"}, "Only score questions"),
    ],
)
def test_a_question_that_cannot_work_is_refused_with_its_reason(client, manager, nps_survey, data, message):
    client.force_login(manager)
    before = nps_survey.questions.count()
    page = client.post(reverse("surveys:question_add", args=[nps_survey.pk]), data)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert nps_survey.questions.count() == before


def test_bad_branding_colour_is_refused(client, manager, nps_survey):
    client.force_login(manager)
    page = client.post(
        reverse("surveys:edit", args=[nps_survey.pk]),
        {"name": "x", "kind": "nps", "languages": ["en"], "colour": "#12345g"},
    )
    assert page.status_code == 200 and "The colour must look like #2563eb." in page.content.decode()
    page = client.post(
        reverse("surveys:edit", args=[nps_survey.pk]),
        {"name": "x", "kind": "nps", "languages": ["en"], "colour": "red; background:url(x)"},
    )
    assert "red; background" not in str(Survey.objects.get(pk=nps_survey.pk).branding)
    nps_survey.refresh_from_db()
    assert nps_survey.branding == {}


def test_reordering_keeps_the_why_question_pointing_at_its_score(client, manager, nps_survey):
    client.force_login(manager)
    why, channels = nps_survey.questions.get(order=2), nps_survey.questions.get(order=3)
    client.post(reverse("surveys:question_move", args=[channels.pk]), {"direction": "up"})
    client.post(reverse("surveys:question_move", args=[channels.pk]), {"direction": "up"})  # now first
    order = {q.pk: q.order for q in nps_survey.questions.all()}
    assert order[channels.pk] == 1
    why.refresh_from_db()
    assert why.show_if == {"question": 2, "lte": 6} and order[why.pk] == 3
    client.post(reverse("surveys:question_delete", args=[channels.pk]))
    why.refresh_from_db()
    assert why.order == 2 and why.show_if == {"question": 1, "lte": 6}


def test_a_question_with_answers_cannot_be_deleted(client, manager, invitation, nps_survey):
    answers.submit_response(invitation=invitation, data={"q1": "9"})
    client.force_login(manager)
    headline = nps_survey.questions.get(order=1)
    page = client.post(reverse("surveys:question_delete", args=[headline.pk]), follow=True)
    assert "already has answers" in page.content.decode()
    assert Question.objects.filter(pk=headline.pk).exists()


def test_only_one_survey_follows_resolved_cases(nps_survey):
    csat = Survey.objects.get(template_code="csat")
    building.save_survey(csat, name=csat.name, kind="csat", languages=["zh-hans"], is_followup_default=True)
    building.save_survey(nps_survey, name="NPS", kind="nps", languages=["zh-hans"], is_followup_default=True)
    assert list(Survey.objects.filter(is_followup_default=True)) == [nps_survey]
