"""Fixtures for survey tests: surveys built through the services, customers, and cases to follow up."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from voxloop.feedback.models import Customer
from voxloop.surveys import building, invitations
from voxloop.surveys.models import Invitation, Survey


@pytest.fixture(autouse=True)
def english_and_fresh_rate_limits(client):
    """Messages are asserted in English (the Chinese pages have their own tests); rate-limit counters start at 0."""
    cache.clear()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
    cache.clear()


@pytest.fixture
def nps_survey(db) -> Survey:
    """NPS with a "why?" shown only after a score of 6 or less, and an optional choice question."""
    survey = building.save_survey(None, name="Relationship NPS", kind="nps", languages=["zh-hans", "en"])
    building.add_question(
        survey, kind="text", text_zh="为什么？", text_en="Why?", show_if={"question": 1, "lte": 6}, required=True
    )
    building.add_question(
        survey,
        kind="multiple",
        text_zh="您用过哪些渠道？",
        text_en="Which channels did you use?",
        choices=[{"zh": "电话", "en": "Phone"}, {"zh": "在线", "en": "Chat"}],
    )
    return survey


@pytest.fixture
def customer(db) -> Customer:
    return Customer.objects.create(external_id="C-100", name="王小明", email="wang@example.com", language="zh-hans")


@pytest.fixture
def invitation(nps_survey, customer) -> Invitation:
    # English, so messages can be asserted in English; the customer's own language has its own test.
    return invitations.create_link_invitation(nps_survey, customer=customer, language="en")


@pytest.fixture
def sla_defaults(db) -> None:
    from django.apps import apps

    from voxloop.cases.models import SLAPolicy

    if not SLAPolicy.objects.exists():
        module = importlib.import_module("voxloop.cases.migrations.0002_default_calendar_and_policies")
        module.create_defaults(apps, None)


@pytest.fixture
def resolved_case(sla_defaults, customer, agent, manager):
    """A case for ``customer``: assigned to ``agent``, answered publicly by ``manager``, then resolved."""
    from voxloop.cases import services as case_services
    from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

    now = timezone.now() - timedelta(days=5)
    result = ingest_feedback(
        [
            FeedbackInput(
                text="快递三天了还没到",
                channel="webform",
                received_at=now,
                source="test",
                external_id="fb-case-1",
                customer_id=customer.external_id,
            )
        ]
    )
    case = case_services.open_case(result.created, now=now)
    case_services.assign_case(case, agent, now=now)
    case_services.add_reply(case, manager, "非常抱歉，已为您加急处理。", now=now + timedelta(hours=1))
    return case_services.resolve_case(
        case, agent, root_cause="logistics", resolution="已重新发货", now=now + timedelta(hours=2)
    )
