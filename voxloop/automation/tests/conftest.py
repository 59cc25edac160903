"""Fixtures for rule tests: feedback stored through the one ingest path, then analysed for real or given
analysis fields directly; the default SLA policies and rules (data migrations) put back when flushed."""

from __future__ import annotations

import importlib
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.utils import timezone, translation

from voxloop.analysis.models import FeedbackAnalysis, FeedbackTopic
from voxloop.automation.models import AutomationRule
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback

# Monday 23 November 2026, 10:00 in Shanghai: inside working hours.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


@pytest.fixture
def sla_defaults(db) -> None:
    from voxloop.cases.models import SLAPolicy

    if not SLAPolicy.objects.exists():
        module = importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies")
        module.create_defaults(apps, None)


@pytest.fixture
def default_rules(db, sla_defaults) -> list[AutomationRule]:
    module = importlib.import_module("voxloop.automation.migrations.0002_default_rules")
    module.create_defaults(apps, None)
    return list(AutomationRule.objects.all())


@pytest.fixture
def no_rules(db, sla_defaults) -> None:
    """Start from an empty rule set (the shipped defaults would fire too)."""
    AutomationRule.objects.all().delete()


@pytest.fixture
def make_item(db, sla_defaults):
    """Store one feedback item and mark it analysed with the given fields (no pipeline run)."""
    counter = iter(range(1, 100_000))

    def _make(
        text: str = "快递三天了还没到",
        *,
        customer: str = "C-1",
        sentiment: str = "negative",
        kind: str = "complaint",
        urgency: str = "normal",
        reasons: list[str] | None = None,
        topics: list[str] | None = None,
        language: str = "zh",
        channel: str = "webform",
        rating: str | None = None,
        product: str = "",
        analysed: bool = True,
    ) -> Feedback:
        n = next(counter)
        created = ingest_feedback(
            [
                FeedbackInput(
                    text=text,
                    channel=channel,
                    received_at=NOW,
                    source="rules-test",
                    external_id=f"r-{n}",
                    customer_id=customer,
                    customer_name=f"客户{customer}" if customer else "",
                    rating=Decimal(rating) if rating is not None else None,
                    rating_scale=5 if rating is not None else None,
                    product=product,
                )
            ]
        ).created[0]
        item = Feedback.objects.get(pk=created)
        if not analysed:
            return item
        item.sentiment, item.kind, item.urgency, item.language = sentiment, kind, urgency, language
        item.analysis_status = AnalysisStatus.DONE
        item.save()
        FeedbackAnalysis.objects.create(
            feedback=item,
            language=language,
            sentiment=sentiment,
            kind=kind,
            urgency=urgency,
            urgency_reasons=reasons or [],
            topics=[{"code": c} for c in topics or []],
            model_version="test",
            analysed_at=timezone.now(),
        )
        for code in topics or []:
            FeedbackTopic.objects.create(feedback=item, code=code, top_code=code.split(".")[0])
        return item

    return _make


def set_customer(external_id: str, **fields) -> Customer:
    customer = Customer.objects.get(external_id=external_id)
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.save()
    return customer
