"""The roll-ups read what the real case services write: a case opened from feedback, answered, put on hold
over a holiday, resolved, reopened twice and resolved again."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases import services as cases
from voxloop.cases.models import Case, SLAPolicy
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.metrics import queries
from voxloop.metrics import services as metrics
from voxloop.metrics.models import Source
from voxloop.metrics.tests.conftest import MONDAY, sh
from voxloop.stats import formulas


@pytest.fixture
def default_policies(db):
    if not SLAPolicy.objects.exists():  # a transactional test flushed the data migration's rows
        module = importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies")
        module.create_defaults(apps, None)


def test_case_services_flow_rolls_up(default_policies, people):
    result = ingest_feedback([FeedbackInput(text="快递丢了", channel="hotline", received_at=sh(23, 9),
                                            source="t", external_id="flow-1", customer_id="C-9")])  # fmt: skip
    feedback_id = result.created[0]
    FeedbackTopic.objects.create(feedback_id=feedback_id, code="logistics.lost", top_code="logistics")
    case = cases.open_case([feedback_id], team=people["team"], now=sh(23, 9))
    Case.objects.filter(pk=case.pk).update(created_at=sh(23, 9))  # the row's own timestamp is "now"
    agent = people["assignee"]
    cases.add_reply(case, agent, "我们在查", now=sh(23, 10))
    cases.set_status(case, "pending_customer", agent, now=sh(23, 11))
    cases.set_status(case, "open", agent, now=sh(23, 14))  # 11:00-12:00 and 13:00-14:00 on the hold: 2 business h
    cases.resolve_case(case, agent, root_cause="logistics", resolution="补发", now=sh(24, 10))
    for day in (24, 26):
        cases.reopen_case(case, None, reason="没收到", now=sh(day, 15))
        cases.resolve_case(case, agent, root_cause="logistics", resolution="再次补发", now=sh(day, 17))
    metrics.refresh_day(Source.CASES, MONDAY)
    totals = queries.load_days([Source.CASES], queries.Cut(), MONDAY, MONDAY)[Source.CASES][MONDAY]
    assert totals.n == 1 and totals.get("resolved") == 1
    assert totals.get("reopened") == 1 and totals.get("ever_resolved") == 1  # reopened twice: one reopened case
    assert totals.get("fcr") == 0
    # First response 1 business hour after opening (09:00-10:00 on the default calendar).
    frt = formulas.histogram_percentile(totals.histograms["frt_business"], 50)
    low, high = formulas.bucket_bounds(formulas.bucket_of(3600))
    assert frt is not None and low <= frt <= high
    # The cut by channel and topic comes from the feedback the case was opened for.
    hotline = queries.load_days([Source.CASES], queries.Cut("channel", "hotline"), MONDAY, MONDAY)
    assert hotline[Source.CASES][MONDAY].n == 1
    topic = queries.load_days([Source.CASES], queries.Cut("topic", "logistics"), MONDAY, MONDAY)
    assert topic[Source.CASES][MONDAY].n == 1
