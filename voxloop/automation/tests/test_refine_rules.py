"""A label the refine lane changes goes through the rules again: a rule on the new label fires."""

import pytest
from django.test import override_settings

from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.automation.models import AutomationRule, RuleFiring
from voxloop.feedback.models import Feedback

pytestmark = pytest.mark.django_db


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_complaint_the_fast_lane_missed_fires_the_negative_rule_once_refined(make_item, no_rules):
    rule = AutomationRule.objects.create(
        name="negative", order=10, conditions=[{"field": "sentiment", "op": "eq", "value": "negative"}],
        actions=[{"type": "add_tags", "tags": ["negative"]}],
    )  # fmt: skip
    item = make_item("快递太慢了，包装也破了，客服也不回复，非常失望", sentiment="positive", kind="other")
    FeedbackAnalysis.objects.filter(feedback=item).update(sentiment="positive", sentiment_score=0.05, fast_margin=0.05)
    assert not RuleFiring.objects.filter(rule=rule).exists()

    assert refine.refine_feedback([item.pk]).changed == [(item.pk, "positive", "negative")]

    assert RuleFiring.objects.filter(rule=rule, feedback=item).count() == 1
    assert Feedback.objects.get(pk=item.pk).sentiment == "negative"
    refine.refine_feedback([item.pk])  # judged once: nothing to do again, and the rule does not fire twice
    assert RuleFiring.objects.filter(rule=rule, feedback=item).count() == 1


@override_settings(AUTOMATION_ON_ANALYSIS=True)
def test_a_complaint_the_fast_lane_took_for_praise_fires_the_complaint_rules_once_refined(make_item, no_rules):
    by_kind = AutomationRule.objects.create(
        name="complaint", order=10, conditions=[{"field": "kind", "op": "eq", "value": "complaint"}],
        actions=[{"type": "add_tags", "tags": ["complaint"]}],
    )  # fmt: skip
    by_urgency = AutomationRule.objects.create(
        name="important", order=20, conditions=[{"field": "urgency", "op": "in", "value": ["important", "urgent"]}],
        actions=[{"type": "add_tags", "tags": ["important"]}],
    )  # fmt: skip
    text = "第三次反馈了，快递太慢了，包装也破了，客服也不回复，非常失望"
    item = make_item(text, sentiment="positive", kind="praise", urgency="normal")
    FeedbackAnalysis.objects.filter(feedback=item).update(sentiment="positive", sentiment_score=0.05, fast_margin=0.05)

    assert refine.refine_feedback([item.pk]).changed == [(item.pk, "positive", "negative")]

    item.refresh_from_db()
    assert (item.kind, item.urgency) == ("complaint", "important")
    assert RuleFiring.objects.filter(rule=by_kind, feedback=item).count() == 1
    assert RuleFiring.objects.filter(rule=by_urgency, feedback=item).count() == 1
