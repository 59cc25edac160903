"""The rules catch-up: an analysed item whose rules run died after its analysis committed (a deadlock, a lost
worker) still gets its case from the beat task; an item whose rules ran is never taken again."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from voxloop.analysis.services import analyze_feedback
from voxloop.automation.models import AutomationRule, FeedbackTag, RuleFiring, RulesDue
from voxloop.automation.services import apply_pending_rules, register_rule_runner
from voxloop.automation.tasks import apply_pending_rules_task
from voxloop.cases.models import Case, CaseFeedback, Severity
from voxloop.cases.rule_actions import RuleRun

FIRE = "手机充电时起火了，差点烧到孩子，我要投诉到消协"
PRAISE = "非常满意，服务很好，下次还来"


def later() -> datetime:
    """A moment past the catch-up's grace period (its own run had time to apply the rules)."""
    return timezone.now() + timedelta(minutes=3)


def dying_run(*_args):
    """A rules run that dies after the analysis committed, as a wave that lost a deadlock did (issue 17)."""

    def run(*_args) -> None:
        raise OperationalError("deadlock detected")

    return run


@pytest.fixture
def runner():
    """Swap the rule runner for a test; the real one (cases.rule_actions.RuleRun) is put back after it."""
    yield register_rule_runner
    register_rule_runner(RuleRun)


def test_an_item_whose_rules_run_died_gets_its_case_from_the_catch_up(default_rules, make_item, runner):
    item = make_item(FIRE, customer="C-crash", analysed=False)
    runner(dying_run)
    with pytest.raises(OperationalError):
        analyze_feedback([item.pk])  # the analysis commits, then its rules run dies
    item.refresh_from_db()
    assert item.analysis_status == "done"
    assert not CaseFeedback.objects.filter(feedback=item).exists()
    runner(RuleRun)  # the workers are healthy again

    assert apply_pending_rules().evaluated == 0  # within the grace period its own run may still be at it
    result = apply_pending_rules(now=later())

    assert result.evaluated == 1 and len(result.cases_opened) == 1
    case = CaseFeedback.objects.get(feedback=item).case
    assert case.severity == Severity.URGENT
    assert not RulesDue.objects.exists()
    assert apply_pending_rules(now=later()).evaluated == 0


def test_items_whose_rules_ran_are_not_taken_again(default_rules, make_item):
    fire = make_item(FIRE, customer="C-ok", analysed=False)
    praise = make_item(PRAISE, customer="C-happy", analysed=False)
    analyze_feedback([fire.pk, praise.pk])  # the rules run right after, as in production
    assert CaseFeedback.objects.filter(feedback=fire).exists()
    firings = RuleFiring.objects.count()

    # Neither the item that opened a case nor the one no rule fired on is due any more.
    assert not RulesDue.objects.exists()
    assert apply_pending_rules_task() == {"evaluated": 0, "matched": 0, "cases_opened": 0}
    assert apply_pending_rules(now=later()).evaluated == 0
    assert Case.objects.count() == 1
    assert RuleFiring.objects.count() == firings


def test_re_analysis_marks_the_item_due_again_until_its_rules_run(default_rules, make_item, runner):
    item = make_item(FIRE, customer="C-again", analysed=False)
    analyze_feedback([item.pk])
    case = CaseFeedback.objects.get(feedback=item).case
    AutomationRule.objects.create(
        name="tag everything", conditions=[], actions=[{"type": "add_tags", "tags": ["seen"]}]
    )

    runner(dying_run)
    with pytest.raises(OperationalError):
        analyze_feedback([item.pk])  # re-analysed, and this time its rules run dies
    assert RulesDue.objects.filter(feedback_id=item.pk).exists()
    runner(RuleRun)

    result = apply_pending_rules(now=later())
    assert result.evaluated == 1 and result.cases_opened == []  # only the new rule fires: nothing fires twice
    assert FeedbackTag.objects.filter(feedback=item, tag="seen").exists()
    assert list(CaseFeedback.objects.filter(feedback=item).values_list("case", flat=True)) == [case.pk]
    assert not RulesDue.objects.exists()


def test_nothing_is_due_while_the_rules_are_off_after_analysis(default_rules, make_item, settings):
    settings.AUTOMATION_ON_ANALYSIS = False
    item = make_item(FIRE, customer="C-off", analysed=False)
    analyze_feedback([item.pk])

    assert not RulesDue.objects.exists()
    assert apply_pending_rules(now=later()).evaluated == 0
    assert not CaseFeedback.objects.filter(feedback=item).exists()
