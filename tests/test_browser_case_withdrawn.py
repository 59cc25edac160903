"""A case a rule opened on the fast lane's negative label, withdrawn once the refine lane finds the feedback positive,
reads as withdrawn on the case page in a real headless Chromium, in Chinese and in English."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.analysis import refine
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.automation.models import AutomationRule
from voxloop.automation.services import apply_rules
from voxloop.cases.models import Case, CaseStatus, SLAPolicy
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import AnalysisStatus, Feedback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "zh-hans": {"status": "已关闭", "summary": "撤回：复核后情感不再为负面。", "detail": "未通知客户", "kind": "已撤回"},
    "en": {"status": "Closed", "summary": "Withdrawn: after review the sentiment is no longer negative.",
           "detail": "the customer was not told", "kind": "Withdrawn"},
}  # fmt: skip


@pytest.fixture
def withdrawn_case(team) -> Case:
    if not SLAPolicy.objects.exists():  # a transactional test starts with empty tables
        importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies").create_defaults(
            apps, None
        )
    AutomationRule.objects.all().delete()
    AutomationRule.objects.create(
        name="负面开单", order=10, conditions=[{"field": "sentiment", "op": "eq", "value": "negative"}],
        actions=[{"type": "open_case", "severity": "normal"}, {"type": "set_team", "team": team.pk}],
    )  # fmt: skip
    with override_settings(ANALYZE_ON_INGEST=False, AUTOMATION_ON_ANALYSIS=True):
        created = ingest_feedback(
            [FeedbackInput(text="服务非常好，非常满意，下次还来", channel="webform", received_at=timezone.now(),
                           source="browser-test", external_id="w-1", customer_id="C-7", customer_name="王先生")]
        ).created  # fmt: skip
        # The fast lane's verdict, unsure of itself: negative.
        Feedback.objects.filter(pk=created[0]).update(
            sentiment="negative", sentiment_score=-0.05, kind="other", analysis_status=AnalysisStatus.DONE
        )
        FeedbackAnalysis.objects.create(
            feedback_id=created[0], language="zh", sentiment="negative", sentiment_score=-0.05, kind="other",
            fast_margin=0.05, model_version="test", analysed_at=timezone.now(),
        )  # fmt: skip
        apply_rules(created)
        assert refine.refine_feedback(created).changed == [(created[0], "negative", "positive")]
    case = Case.objects.get(feedback_links__feedback_id=created[0])
    assert case.status == CaseStatus.CLOSED and case.withdrawn_at is not None
    return case


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_case_page_shows_the_withdrawal_and_its_reason(login_page, live_server, agent, withdrawn_case, language):
    words = WORDS[language]
    page = login_page(agent)
    if language == "en":
        page.select_option("select[name=language]", "en")
        expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server.url}/cases/{withdrawn_case.pk}/")
    page.wait_for_load_state("networkidle")

    expect(page.locator("#case-status")).to_have_text(words["status"])
    entry = page.locator("ol.timeline li.kind-withdrawn")
    expect(entry).to_have_count(1)
    expect(entry.locator(".badge")).to_have_text(words["kind"])
    expect(entry.locator(".event-summary")).to_have_text(words["summary"])
    expect(entry.locator(".event-text")).to_contain_text(words["detail"])
    # A closed case offers no reply box: nothing more goes to the customer from here.
    expect(page.locator("#reply-box")).to_have_count(0)
