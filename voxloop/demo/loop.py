"""The demo's closed loop: the demo feedback analysed, run through the rules on the day it arrived, and its
cases worked through their lives (taken, answered, waiting, resolved, reopened, closed), followed up with
satisfaction surveys, plus a relationship NPS survey — so every page of the product has history to show.

Everything goes through the same services the product uses, with the historical time passed as ``now``;
only survey answers are written directly (the public page's service stamps them with the wall clock and
queues the follow-up work, which would replay history as if it happened today)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.analysis.models import FeedbackTopic
from voxloop.cases import services as case_services
from voxloop.cases import sla
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseEvent, CaseStatus, FollowUp, FollowUpStatus
from voxloop.cases.services import CaseError
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPLIES_ZH = [
    "您好，非常抱歉给您带来不便，我们已经在核实处理，今天内给您答复。",
    "您好，已为您登记，售后同事会尽快联系您安排处理。",
    "您好，感谢反馈！我们已经联系仓库加急处理您的订单。",
]
REPLIES_EN = [
    "Hello, we are sorry for the trouble. We are looking into it and will get back to you today.",
    "Thanks for letting us know. Our after-sales team will contact you shortly.",
]
RESOLUTIONS = [
    "已补发商品并承担运费。",
    "已安排上门维修，客户确认恢复正常。",
    "已按原价退款，并赠送优惠券一张。",
    "已向客户说明计费规则并返还多收费用。",
    "已更换新品，客户表示满意。",
]
COMMENTS_HAPPY = [
    "处理很及时，谢谢！",
    "客服态度很好，问题解决了。",
    "Quick and helpful, thank you!",
    "满意，下次还来。",
]
COMMENTS_UNHAPPY = [
    "等了太久才有人处理。",
    "问题还是没有彻底解决。",
    "The fix did not last, still broken.",
    "态度一般，解决得很慢。",
]


@dataclass
class LoopResult:
    analysed: int = 0
    cases: int = 0
    resolved: int = 0
    responses: int = 0


def _analyse(ids: list[int]) -> int:
    from voxloop.analysis.services import analyze_feedback

    # Rules run below, on each item's own day, instead of "now".
    with override_settings(AUTOMATION_ON_ANALYSIS=False):
        return analyze_feedback(ids)


def _apply_rules_on_arrival(ids: list[int], progress: Callable[[int], None] | None) -> None:
    from voxloop.automation.services import apply_rules

    rows = list(Feedback.objects.filter(pk__in=ids).order_by("received_at", "pk").values_list("pk", "received_at"))
    for start in range(0, len(rows), 25):
        chunk = rows[start : start + 25]
        apply_rules([pk for pk, _ in chunk], now=chunk[-1][1] + timedelta(minutes=5))
        if progress:
            progress(len(chunk))


def _next_working_time(instant: datetime) -> datetime:
    """Agents work 09:00-18:00 Shanghai time on weekdays: what arrives at night is answered the next morning."""
    local = instant.astimezone(SHANGHAI)
    while local.weekday() >= 5 or local.hour >= 18:
        local = (local + timedelta(days=1)).replace(hour=9, minute=0)
    if local.hour < 9:
        local = local.replace(hour=9, minute=0)
    return local


def _team_members(case: Case, agents: list[User]) -> list[User]:
    if case.team_id:
        members = [u for u in agents if case.team_id in u.team_ids]
        if members:
            return members
    return agents


def _work_case(case: Case, rng: random.Random, agents: list[User], now: datetime, topics: dict[int, str]) -> str:
    """Walk one case from its opening to where it stands today; returns its final status."""
    opened = case.created_at
    age = now - opened
    if age < timedelta(hours=6):
        return case.status  # fresh: still waiting for someone
    members = _team_members(case, agents)
    agent = case.assignee if case.assignee_id else rng.choice(members)
    # Most answers come within the hour; some wait a working day and breach the first-response target.
    t = _next_working_time(opened) + timedelta(minutes=rng.choice([8, 15, 25, 40, 55, 90, 200, 600, 1500]))
    if t >= now:
        return case.status
    if not case.assignee_id:
        case = case_services.take_case(case, agent, now=t)
    language_en = (case.language or "").startswith("en")
    reply = rng.choice(REPLIES_EN if language_en else REPLIES_ZH)
    case_services.add_reply(case, agent, reply, public=True, now=t)
    if rng.random() < 0.25:
        t += timedelta(minutes=rng.randint(5, 120))
        case_services.add_reply(case, agent, "已联系仓库/售后核实，等待回复。", public=False, now=t)
    if rng.random() < 0.12 and age < timedelta(days=20):
        case_services.set_status(case, CaseStatus.PENDING_CUSTOMER, agent, now=t + timedelta(minutes=5))
        return CaseStatus.PENDING_CUSTOMER
    if rng.random() < 0.1 and age < timedelta(days=10):
        return case.status  # still being worked on
    t += timedelta(hours=rng.choice([1, 2, 4, 8, 20, 30, 50, 90]))
    if t >= now:
        return case.status
    root_cause = topics.get(case.pk) or "quality"
    case_services.resolve_case(case, agent, root_cause=root_cause, resolution=rng.choice(RESOLUTIONS), now=t)
    case.resolved_at = t
    return CaseStatus.RESOLVED


def _root_causes(case_ids: list[int]) -> dict[int, str]:
    """The top-level topic of each case's first feedback item: what the agent records as the root cause."""
    from voxloop.cases.models import CaseFeedback

    first_feedback = dict(
        CaseFeedback.objects.filter(case_id__in=case_ids).order_by("-linked_at").values_list("case_id", "feedback_id")
    )
    codes: dict[int, str] = {}
    for feedback_id, code in FeedbackTopic.objects.filter(feedback_id__in=set(first_feedback.values())).values_list(
        "feedback_id", "code"
    ):
        codes.setdefault(feedback_id, code.split(".")[0])
    return {case_id: codes[fid] for case_id, fid in first_feedback.items() if fid in codes}


def _score(rng: random.Random, case: Case) -> int:
    """CSAT 1-5: quick, unbreached cases are mostly satisfied; slow ones much less."""
    slow = case.first_response_breached or case.resolution_breached or case.reopen_count
    weights = [10, 12, 18, 30, 30] if slow else [2, 3, 10, 35, 50]
    return rng.choices([1, 2, 3, 4, 5], weights=weights)[0]


def _answer(
    survey: Any, invitation: Any, answers: dict[int, Any], comment: str, at: datetime, case: Case | None
) -> Any:
    from voxloop.surveys import services as survey_services
    from voxloop.surveys.models import Answer, InvitationStatus, Response

    questions = {q.order: q for q in survey.questions.all()}
    response = Response(
        survey=survey,
        invitation=invitation,
        customer_id=invitation.customer_id,
        submitted_at=at,
        editable_until=at,
        language=invitation.language,
        channel=invitation.channel,
        comment=comment,
        **({survey.kind: answers[1]} if survey.kind in ("nps", "csat", "ces") else {}),
    )
    if case is not None:
        response.case = case
        for key, value in survey_services._case_context(case).items():
            setattr(response, key, value)
    response.save()
    rows = [
        Answer(response=response, question=questions[o], dimension=questions[o].dimension, number=v)
        for o, v in answers.items()
    ]
    if comment:
        text_q = next((q for q in questions.values() if q.kind == "text"), None)
        if text_q is not None:
            rows.append(Answer(response=response, question=text_q, dimension="", text=comment))
    Answer.objects.bulk_create(rows)
    type(invitation).objects.filter(pk=invitation.pk).update(
        status=InvitationStatus.ANSWERED, answered_at=at, sent_at=at - timedelta(hours=6)
    )
    return response


def _comment_to_feedback(response: Any, at: datetime, comments: list[tuple[int, datetime]]) -> None:
    """The comment becomes feedback; ``comments`` collects it to be analysed and judged by the rules at the
    moment it was written (see ``_judge_comments``)."""
    from voxloop.surveys import services as survey_services

    feedback_id = survey_services.comment_to_feedback(response)
    if feedback_id:
        comments.append((feedback_id, at + timedelta(minutes=15)))


def _judge_comments(comments: list[tuple[int, datetime]]) -> None:
    from voxloop.automation.services import apply_rules

    if not comments:
        return
    _analyse([fid for fid, _ in comments])  # one batch: the pipeline is fast in bulk, slow one by one
    for feedback_id, at in sorted(comments, key=lambda c: c[1]):
        apply_rules([feedback_id], now=at)


def _follow_up_surveys(
    cases: list[Case], rng: random.Random, now: datetime, result: LoopResult, comments: list[tuple[int, datetime]]
) -> None:
    from voxloop.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey

    survey = Survey.objects.filter(template_code="csat").first()
    if survey is None:
        return
    if not Survey.objects.filter(is_followup_default=True).exists():
        Survey.objects.filter(pk=survey.pk).update(is_followup_default=True)
    for case in cases:
        if case.resolved_at is None or case.customer_id is None or rng.random() > 0.45:
            continue
        at = case.resolved_at + timedelta(days=3, hours=rng.randint(1, 40))
        if at >= now:
            continue
        customer = case.customer
        invitation = Invitation.objects.create(
            survey=survey, customer=customer, case=case, channel=InvitationChannel.FOLLOWUP,
            email=customer.email, language="en" if (customer.language or "").startswith("en") else "zh-hans",
            status=InvitationStatus.SENT, sent_at=at, expires_at=at + timedelta(days=30),
        )  # fmt: skip
        overall = _score(rng, case)
        answers = {1: overall, 2: max(1, min(5, overall + rng.choice([-1, 0, 0, 1]))),
                   3: overall, 4: max(1, min(5, overall + rng.choice([0, 0, 1])))}  # fmt: skip
        unhappy = overall <= 2
        comment = rng.choice(COMMENTS_UNHAPPY if unhappy else COMMENTS_HAPPY) if unhappy or rng.random() < 0.3 else ""
        response = _answer(survey, invitation, answers, comment, at, case)
        result.responses += 1
        FollowUp.objects.filter(case=case, status=FollowUpStatus.SCHEDULED).update(
            status=FollowUpStatus.SENT, method="survey", done_at=at
        )
        reopen = unhappy and at + timedelta(hours=2) < now
        if reopen:
            try:
                case_services.reopen_case(case, None, reason="follow_up_dissatisfied", now=at + timedelta(minutes=10))
            except CaseError:  # merged meanwhile: nothing to reopen
                reopen = False
        _comment_to_feedback(response, at, comments)
        if reopen:
            # The customer was not satisfied: the case opened again and is worked a second time.
            fix_at = at + timedelta(days=rng.randint(1, 3))
            if fix_at < now:
                agent = case.assignee
                try:
                    case_services.add_reply(
                        case, agent, "再次致歉，已为您重新安排处理。", public=True, now=fix_at - timedelta(hours=3)
                    )
                    case_services.resolve_case(
                        case, agent, root_cause=case.root_cause or "quality", resolution="二次处理完成。", now=fix_at
                    )
                except CaseError:  # the comment joined another case, or it was merged: left as it is
                    pass


def _relationship_nps(
    rng: random.Random, now: datetime, result: LoopResult, comments: list[tuple[int, datetime]]
) -> None:
    """A quarterly relationship NPS to a sample of customers; promoters are the customers without complaints."""
    from voxloop.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey

    survey = Survey.objects.filter(template_code="nps").first()
    if survey is None or survey.responses.exists():
        return
    complained = set(Case.objects.exclude(customer__isnull=True).values_list("customer_id", flat=True))
    customers = list(Customer.objects.exclude(email="").order_by("pk")[:1000])
    for customer in rng.sample(customers, min(400, len(customers))):
        at = now - timedelta(days=rng.randint(1, 170), hours=rng.randint(0, 23))
        invitation = Invitation.objects.create(
            survey=survey, customer=customer, channel=InvitationChannel.BATCH, email=customer.email,
            language="en" if (customer.language or "").startswith("en") else "zh-hans",
            status=InvitationStatus.SENT, sent_at=at, expires_at=at + timedelta(days=30),
        )  # fmt: skip
        weights = (
            [3, 2, 2, 3, 3, 5, 8, 10, 14, 18, 16] if customer.pk in complained else [1, 1, 1, 1, 1, 2, 4, 8, 16, 30, 35]
        )
        score = rng.choices(range(11), weights=weights)[0]
        comment = ""
        if score <= 6 or rng.random() < 0.2:
            comment = rng.choice(COMMENTS_UNHAPPY if score <= 6 else COMMENTS_HAPPY)
        _comment_to_feedback(_answer(survey, invitation, {1: score}, comment, at, None), at, comments)
        result.responses += 1


def simulate_loop(*, seed: int = 42, progress: Callable[[int], None] | None = None) -> LoopResult:
    """Run the demo's history through the loop once (a second call finds nothing new to do)."""
    rng = random.Random(seed)
    now = timezone.now()
    result = LoopResult()
    pending = list(
        Feedback.objects.filter(source__startswith="demo:", analysis_status=AnalysisStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    if not pending:
        return result
    result.analysed = _analyse(pending)
    _apply_rules_on_arrival(pending, progress)
    agents = list(User.objects.filter(role__in=[Role.AGENT, Role.MANAGER], is_active=True).prefetch_related("teams"))
    for agent in agents:
        agent.team_ids = {t.pk for t in agent.teams.all()}
    cases = list(
        Case.objects.filter(status__in=ACTIVE_STATUSES, resolved_at__isnull=True)
        .select_related("customer")
        .order_by("created_at")
    )
    topics = _root_causes([c.pk for c in cases])
    for case in cases:
        with transaction.atomic():
            status = _work_case(case, rng, agents, now, topics)
        result.resolved += status == CaseStatus.RESOLVED
    result.cases = len(cases)
    for case in cases:
        case.refresh_from_db()
    comments: list[tuple[int, datetime]] = []
    with transaction.atomic():
        _follow_up_surveys(cases, rng, now, result, comments)
        _relationship_nps(rng, now, result, comments)
    _judge_comments(comments)
    # Resolved long enough ago: closed by the auto-close the product runs every few minutes.
    from voxloop.cases import followup

    followup.auto_close_cases(now=now)
    sla.sweep_sla(now=now)
    # History is not news: nobody is emailed about what "happened" months ago.
    CaseEvent.objects.filter(processed=False).update(processed=True)
    FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_at__lt=now).update(
        status=FollowUpStatus.SKIPPED, skip_reason="demo history"
    )
    # Segments first: the roll-ups cut by the customers' segments as they stand when a day is computed.
    from voxloop.dashboards.segmentation import assign_segments

    assign_segments(now)
    # The KPI panel and the insight pages read daily roll-ups: build them for the whole history at once.
    from voxloop.metrics.services import rebuild

    rebuild()
    # Early warning over the history (older alerts stored closed, nobody emailed), and one emerging-topics run.
    from voxloop.alerts.services import detect
    from voxloop.analysis.emerging import find_emerging_topics

    detect(backfill=True)
    find_emerging_topics(days=180)
    return result
