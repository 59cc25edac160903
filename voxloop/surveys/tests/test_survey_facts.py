"""Survey answers as rule facts (survey_kind, survey_band) and the migration away from title tags."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from voxloop.automation.models import AutomationRule
from voxloop.automation.rules import SURVEY_KINDS, compile_conditions, facts_for, facts_queryset, survey_facts
from voxloop.feedback.models import Feedback
from voxloop.surveys.models import Response, Survey, SurveyKind

migration = importlib.import_module("voxloop.surveys.migrations.0005_survey_facts_instead_of_title_tags")


def test_the_rules_know_every_survey_kind():
    assert SURVEY_KINDS == tuple(SurveyKind.values)


def test_survey_facts_come_from_the_answer_scores_of_survey_items_only():
    assert survey_facts("survey", {"survey_kind": "nps", "nps": 3, "csat": None}) == ("nps", ("detractor",))
    assert survey_facts("survey", {"survey_kind": "csat", "nps": 9, "csat": 2}) == ("csat", ("promoter", "low"))
    assert survey_facts("survey", {"nps": 11, "survey_kind": "bogus"}) == ("", ())  # off the scale: no band
    assert survey_facts("import", {"survey_kind": "nps", "nps": 3}) == ("", ())  # not a survey answer


def test_the_old_tag_conditions_become_survey_band_conditions():
    old = [
        {"field": "channel", "op": "eq", "value": "survey"},
        {"field": "text", "op": "any", "value": ["#detractor", "#low-csat"]},
    ]
    assert migration.convert_condition(old) == [
        {"field": "channel", "op": "eq", "value": "survey"},
        {"field": "survey_band", "op": "any", "value": ["detractor", "low"]},
    ]
    mixed = {"any": [{"field": "text", "op": "contains", "value": "#detractor"}, {"field": "kind", "op": "eq"}]}
    assert migration.convert_condition(mixed)["any"][0] == {"field": "survey_band", "op": "any", "value": ["detractor"]}
    words = {"field": "text", "op": "any", "value": ["退款", "#low-csat"]}
    assert migration.convert_condition(words) == {
        "any": [
            {"field": "text", "op": "any", "value": ["退款"]},
            {"field": "survey_band", "op": "any", "value": ["low"]},
        ]
    }
    untouched = {"field": "text", "op": "any", "value": ["退款"]}
    assert migration.convert_condition(untouched) == untouched


@pytest.mark.django_db
def test_the_migration_converts_rules_titles_and_payloads_of_existing_items():
    # The state before: the rule 0003 made (as written then) and an item titled with a tag, without a kind.
    rule = AutomationRule.objects.create(
        name="old recovery",
        order=30,
        conditions=[
            {"field": "channel", "op": "eq", "value": "survey"},
            {"field": "text", "op": "any", "value": ["#detractor", "#low-csat"]},
        ],
        actions=[{"type": "add_tags", "tags": ["x"]}],
    )
    survey = Survey.objects.get(template_code="csat")
    item = Feedback.objects.create(
        source="survey",
        external_id="survey-response:1",
        channel="survey",
        title=f"{survey.name} · CSAT 1 · #low-csat",
        text="太慢",
        received_at=timezone.now(),
        raw_payload={"survey_id": survey.pk, "nps": None, "csat": 1},
    )
    now = timezone.now()
    Response.objects.create(survey=survey, csat=1, feedback=item, submitted_at=now, editable_until=now, channel="link")
    other = Feedback.objects.create(
        source="import", external_id="x", channel="review", title="#detractor", text="t", received_at=timezone.now()
    )

    migration.forward(apps, None)

    rule.refresh_from_db()
    item.refresh_from_db()
    other.refresh_from_db()
    assert rule.conditions[1] == {"field": "survey_band", "op": "any", "value": ["detractor", "low"]}
    assert item.title == f"{survey.name} · CSAT 1"
    assert item.raw_payload["survey_kind"] == "csat"
    assert compile_conditions(rule.conditions)(facts_for(facts_queryset([item.pk]).get()))
    assert other.title == "#detractor"  # not a survey item: someone's own words stay as they are
    shipped = AutomationRule.objects.get(name__contains="Survey detractors")  # converted on the way here
    assert {"field": "survey_band", "op": "any", "value": ["detractor", "low"]} in shipped.conditions
