"""A survey's name in each interface language: name_en in English, the (Chinese) name otherwise."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.core import mail
from django.urls import reverse

from voxloop.surveys import building, invitations
from voxloop.surveys.models import Survey

pytestmark = pytest.mark.django_db

SPLIT = importlib.import_module("voxloop.surveys.migrations.0006_survey_name_en")


def test_the_shipped_surveys_carry_their_chinese_and_english_names_apart():
    names = {s.template_code: (s.name, s.name_en) for s in Survey.objects.exclude(template_code="")}
    assert names == {
        "nps": ("NPS 推荐意愿", "Net Promoter Score"),
        "csat": ("服务满意度 CSAT", "Customer satisfaction"),
        "ces": ("客户费力度 CES", "Customer effort"),
    }


def test_the_migration_splits_only_names_of_the_shipped_form():
    made = {
        name: Survey.objects.create(name=name, name_en=name_en).pk
        for name, name_en in [
            ("售后回访 / After-sales follow-up", ""),
            ("Before / After", ""),  # no Chinese before the " / "
            ("装机 / 维修", ""),  # Chinese after it
            ("A / B / 三", ""),  # more than one " / "
            ("退货 / Returns", "Returns survey"),  # already has an English name
        ]
    }
    SPLIT.split_names(apps, None)
    after = {name: Survey.objects.values_list("name", "name_en").get(pk=pk) for name, pk in made.items()}
    assert after == {
        "售后回访 / After-sales follow-up": ("售后回访", "After-sales follow-up"),
        "Before / After": ("Before / After", ""),
        "装机 / 维修": ("装机 / 维修", ""),
        "A / B / 三": ("A / B / 三", ""),
        "退货 / Returns": ("退货 / Returns", "Returns survey"),
    }


@pytest.mark.parametrize(
    ("language", "shown", "hidden"),
    [
        ("en", ["Customer effort", "After-sales follow-up"], ["客户费力度", "售后回访"]),
        ("zh-hans", ["客户费力度 CES", "售后回访"], ["Customer effort", "After-sales follow-up"]),
    ],
)
def test_survey_pages_show_the_name_in_the_page_language_only(client, manager, language, shown, hidden):
    survey = building.save_survey(
        None, name="售后回访", name_en="After-sales follow-up", kind="custom", languages=["zh-hans", "en"]
    )
    client.force_login(manager)
    listing = client.get(reverse("surveys:list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    detail = client.get(reverse("surveys:detail", args=[survey.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    for name in shown:
        assert name in listing
    for name in hidden:
        assert name not in listing
    assert shown[1] in detail and hidden[1] not in detail


def test_the_settings_form_sets_and_keeps_the_english_name(client, manager):
    client.force_login(manager)
    survey = Survey.objects.get(template_code="ces")
    edit = reverse("surveys:edit", args=[survey.pk])
    form = client.get(edit, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "英文名称" in form and 'value="Customer effort"' in form
    client.post(edit, {"name": "客户费力度", "name_en": "Effort score", "kind": "ces", "languages": ["zh-hans", "en"],
                       "is_active": "on"})  # fmt: skip
    survey.refresh_from_db()
    assert (survey.name, survey.name_en) == ("客户费力度", "Effort score")


@pytest.mark.parametrize(
    ("language", "shown", "hidden"), [("en", "After-sales", "售后回访"), ("zh-hans", "售后回访", "After-sales")]
)
def test_an_invitation_names_an_untitled_survey_in_the_customers_language(
    customer, django_capture_on_commit_callbacks, language, shown, hidden
):
    survey = building.save_survey(None, name="售后回访", name_en="After-sales", kind="nps", languages=["zh-hans", "en"])
    with django_capture_on_commit_callbacks(execute=True):
        invitations.invite_by_email(survey, customer=customer, language=language)
    message = mail.outbox[-1]
    assert shown in message.subject and hidden not in message.subject
