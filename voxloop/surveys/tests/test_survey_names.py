"""A survey's name in each interface language: name_en in English, the (Chinese) name otherwise."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

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
