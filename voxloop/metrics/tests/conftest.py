"""Fixtures for metric tests: a calendar with a holiday, an SLA policy on it, and helpers that write the rows
metrics read (cases with their timelines, survey responses with sub-dimension answers, orders)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from voxloop.accounts.models import Role, Team, User
from voxloop.analysis.models import FeedbackAnalysis, FeedbackTopic
from voxloop.cases.models import BusinessCalendar, Case, CaseEvent, EventKind, Holiday, Severity, SLAPolicy
from voxloop.feedback.models import Customer, Feedback, Order
from voxloop.surveys.models import Answer, Question, Response, Survey

SH = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)  # Wednesday 25 November is a holiday in the test calendar


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.fixture(autouse=True)
def english_messages():
    with translation.override("en"):
        yield


@pytest.fixture
def policy(db) -> SLAPolicy:
    calendar = BusinessCalendar.objects.create(
        name="metrics test", time_zone="Asia/Shanghai",
        working_hours={d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )  # fmt: skip
    Holiday.objects.create(calendar=calendar, date=date(2026, 11, 25), kind="holiday", name="test holiday")
    return SLAPolicy.objects.create(
        name="metrics test", severity=Severity.NORMAL, calendar=calendar,
        first_response_minutes=480, resolution_minutes=2400,
    )  # fmt: skip


@pytest.fixture
def people(db) -> dict:
    team = Team.objects.create(name="售后组", name_en="After-sales")
    other_team = Team.objects.create(name="物流组", name_en="Logistics")
    assignee = User.objects.create_user("wang-assignee", password="x", role=Role.AGENT, first_name="Wang")
    replier = User.objects.create_user("li-replier", password="x", role=Role.AGENT, first_name="Li")
    return {"team": team, "other_team": other_team, "assignee": assignee, "replier": replier}


_counter = iter(range(1, 1_000_000))


def make_case(created: datetime, *, policy: SLAPolicy | None = None, replies: Sequence[datetime] = (), resolved=None,
              status: str = "open", reopen_count: int = 0, customer: Customer | None = None, team=None,
              assignee=None, breached: bool = False, repeat_of: Case | None = None,
              pauses: Sequence[tuple[datetime, int]] = ()) -> Case:  # fmt: skip
    """A case as the case services leave it: first_responded_at is the first public reply's time; each
    return from 'waiting on customer' is a status_changed event carrying the paused business seconds."""
    n = next(_counter)
    case = Case.objects.create(
        number=f"M{n}", status=status, sla_policy=policy, customer=customer, team=team, assignee=assignee,
        first_responded_at=replies[0] if replies else None, resolved_at=resolved, reopen_count=reopen_count,
        resolution_breached=breached, repeat_of=repeat_of,
        paused_business_seconds=sum(s for _t, s in pauses),
    )  # fmt: skip
    Case.objects.filter(pk=case.pk).update(created_at=created)
    for moment in replies:
        CaseEvent.objects.create(case=case, kind=EventKind.PUBLIC_REPLY, created_at=moment, payload={"text": "hi"})
    for moment, seconds in pauses:
        CaseEvent.objects.create(
            case=case, kind=EventKind.STATUS_CHANGED, created_at=moment,
            payload={"from": "pending_customer", "to": "open", "paused_business_seconds": seconds},
        )  # fmt: skip
    case.refresh_from_db()
    return case


@pytest.fixture
def csat_survey(db) -> Survey:
    survey = Survey.objects.create(name="CSAT", kind="csat", languages=["zh-hans"])
    for order, dimension in enumerate(("speed", "attitude"), start=1):
        Question.objects.create(survey=survey, order=order, kind="csat", dimension=dimension, text_zh=dimension)
    return survey


def make_response(survey: Survey, submitted: datetime, *, nps=None, csat=None, ces=None, customer=None, case=None,
                  agent=None, team=None, dimensions: dict[str, int] | None = None) -> Response:  # fmt: skip
    response = Response.objects.create(
        survey=survey, submitted_at=submitted, editable_until=submitted + timedelta(minutes=30), channel="link",
        nps=nps, csat=csat, ces=ces, customer=customer, case=case, agent=agent, team=team,
    )  # fmt: skip
    for dimension, number in (dimensions or {}).items():
        question = survey.questions.get(dimension=dimension)
        Answer.objects.create(response=response, question=question, dimension=dimension, number=number)
    return response


def make_customer(name: str, segment: str = "") -> Customer:
    return Customer.objects.create(external_id=name, name=name, segment=segment)


def make_order(customer: Customer, when: datetime) -> Order:
    return Order.objects.create(external_id=f"O{next(_counter)}", customer=customer, ordered_at=when)


def make_feedback(received: datetime, *, channel: str = "email", sentiment: str = "", score: float | None = None,
                  kind: str = "", language: str = "zh", product=None, customer: Customer | None = None,
                  topics: tuple[str, ...] = (), emotions: list[dict] | None = None, needs: list[str] | None = None,
                  text: str = "") -> Feedback:  # fmt: skip
    """A feedback item as the analysis leaves it: the denormalised fields on the item, the JSON on its
    analysis, and one FeedbackTopic row per topic code ("parent.child" codes also count for their parent)."""
    n = next(_counter)
    item = Feedback.objects.create(
        channel=channel, source="test", external_id=f"F{n}", received_at=received, text=text or f"item {n}",
        sentiment=sentiment, sentiment_score=score, kind=kind, language=language, product=product,
        customer=customer, analysis_status="done",
    )  # fmt: skip
    FeedbackAnalysis.objects.create(
        feedback=item, language=language, sentiment=sentiment, sentiment_score=score, kind=kind,
        emotions=emotions or [], needs=needs or [], topics=list(topics), model_version="test", analysed_at=received,
    )  # fmt: skip
    for code in topics:
        FeedbackTopic.objects.create(feedback=item, code=code, top_code=code.split(".")[0])
    return item
