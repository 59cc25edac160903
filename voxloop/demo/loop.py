"""The demo's closed loop: the demo feedback analysed and replayed in the order it arrived through the rules,
its cases worked through their lives (taken, answered, waiting, resolved, reopened, auto-closed) as the replay
moves on, followed up with satisfaction (CSAT) and effort (CES) surveys and the orders customers placed
afterwards, plus a relationship NPS survey — so every page of the product has history to show, all of it in
the past.

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
from django.db.models import Max, Q
from django.test.utils import override_settings
from django.utils import timezone

from voxloop.accounts.models import Role, User
from voxloop.alerts.services import detect
from voxloop.analysis.emerging import find_emerging_topics
from voxloop.analysis.models import FeedbackTopic
from voxloop.analysis.services import analyze_feedback
from voxloop.automation.services import apply_rules
from voxloop.cases import followup, sla
from voxloop.cases import services as case_services
from voxloop.cases.macros import save_macro
from voxloop.cases.models import (
    ACTIVE_STATUSES,
    CannedReply,
    Case,
    CaseEvent,
    CaseFeedback,
    CaseStatus,
    FollowUp,
    FollowUpStatus,
)
from voxloop.cases.outbox import drain_case_events
from voxloop.cases.services import CaseError
from voxloop.demo.phrases import PRODUCTS
from voxloop.feedback.models import AnalysisStatus, Customer, Feedback
from voxloop.feedback.records import prepare_order, upsert_orders
from voxloop.insights.segmentation import assign_segments
from voxloop.metrics.services import rebuild
from voxloop.notify.services import send_due_messages
from voxloop.surveys import answers as survey_answers
from voxloop.surveys import loop as survey_loop
from voxloop.surveys.models import Answer, Invitation, InvitationChannel, InvitationStatus, Response, Survey

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
COMMENTS_EFFORT = [
    "打了三次电话才找到负责的人。",
    "要重复说明好几次问题。",
    "It took several emails to get an answer.",
]
# Canned replies use the variables of cases.macros ({customer_name}, {case_number}, {tracking_url}).
CANNED_REPLIES = [
    ("致歉并核实", "{customer_name}您好，非常抱歉给您带来不便。我们已受理您的问题（工单 {case_number}），"
     "会在今天内核实并答复您。处理进度可在此查看：{tracking_url}", "zh-hans"),
    ("物流延误安抚", "{customer_name}您好，您的包裹因物流原因延误，我们已联系快递加急派送，"
     "如两天内仍未送达，我们将为您补发。", "zh-hans"),
    ("退换货说明", "{customer_name}您好，商品签收 7 天内可无理由退货，15 天内质量问题可换货。"
     "我们已为您登记，售后同事会联系您上门取件。", "zh-hans"),
    ("结案回访", "{customer_name}您好，您的问题（工单 {case_number}）已处理完毕。如仍有疑问，直接回复即可。",
     "zh-hans"),
    ("Apology and follow-up", "Dear {customer_name}, we are sorry for the trouble. Your request ({case_number}) "
     "is being looked into and we will reply today. You can follow it here: {tracking_url}", "en"),
    ("Delivery delay", "Dear {customer_name}, your parcel is delayed by the courier. We have asked them to "
     "prioritise it; if it has not arrived within two days we will send a replacement.", "en"),
]  # fmt: skip
BACKLOG_AGE = timedelta(days=14)
# How long working a case takes at most in _work_case (a working day to answer, up to 90 hours to resolve).
WORK_SPAN = timedelta(days=6)
# Case events of the last two days go through the outbox at load time, so the demo shows mail going out.
RECENT_MAIL = timedelta(days=2)
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
    # Rules run below, on each item's own day, instead of "now".
    with override_settings(AUTOMATION_ON_ANALYSIS=False):
        return analyze_feedback(ids)


def _replay(
    ids: list[int],
    rng: random.Random,
    agents: list[User],
    now: datetime,
    progress: Callable[[int], None] | None,
) -> list[Case]:
    """The feedback in the order it arrived, through the rules at its arrival time; each case is worked once the
    replay has passed the days its work takes, and resolved cases are auto-closed as the product does every few
    minutes. So a customer who writes again after the earlier case was closed gets a new case flagged as a
    repeat (cases.repeat), and one who writes while it is open joins it, as in real life. Returns the cases."""

    rows = list(Feedback.objects.filter(pk__in=ids).order_by("received_at", "pk").values_list("pk", "received_at"))
    opened: list[int] = []
    # Cases waiting to be worked, with the moment their work starts: opened, or reopened by a new complaint.
    waiting: dict[int, datetime] = {}
    for start in range(0, len(rows), 25):
        chunk = rows[start : start + 25]
        # Never later than now: a case opened "in five minutes" would show up dated in the future.
        at = min(chunk[-1][1] + timedelta(minutes=5), now)
        _work_cases(waiting, rng, agents, now, before=at - WORK_SPAN)
        followup.auto_close_cases(now=at)
        result = apply_rules([pk for pk, _ in chunk], now=at)
        opened += result.cases_opened
        for pk in [*result.cases_opened, *result.cases_linked]:
            waiting.setdefault(pk, at)
        if progress:
            progress(len(chunk))
    _work_cases(waiting, rng, agents, now, before=now)
    return list(Case.objects.filter(pk__in=opened).select_related("customer").order_by("created_at", "pk"))


def _work_cases(
    waiting: dict[int, datetime], rng: random.Random, agents: list[User], now: datetime, before: datetime
) -> None:
    """Work the waiting cases whose work starts before ``before`` (and take them out of ``waiting``)."""
    due = {pk: since for pk, since in waiting.items() if since < before}
    if not due:
        return
    for pk in due:
        del waiting[pk]
    cases = list(
        Case.objects.filter(pk__in=due, status__in=ACTIVE_STATUSES, resolved_at__isnull=True)
        .select_related("customer")
        .order_by("created_at", "pk")
    )
    topics = _root_causes([c.pk for c in cases])
    for case in sorted(cases, key=lambda c: (due[c.pk], c.pk)):
        try:
            with transaction.atomic():
                _work_case(case, rng, agents, now, topics, since=due[case.pk])
        except CaseError:  # a step the case's state no longer allows (already waiting, merged): left as it is
            continue


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
        members = [u for u in agents if case.team_id in u.team_ids]  # type: ignore[attr-defined]  # set in run()
        if members:
            return members
    return agents


def _work_case(
    case: Case,
    rng: random.Random,
    agents: list[User],
    now: datetime,
    topics: dict[int, str],
    since: datetime | None = None,
) -> str:
    """Walk one case from its opening (or ``since``, when a new complaint reopened or joined it) to where it
    stands today; returns its final status."""
    opened = max(since or case.created_at, case.created_at)
    age = now - opened
    if age < timedelta(hours=6):
        return case.status  # fresh: still waiting for someone
    members = _team_members(case, agents)
    agent = case.assignee or rng.choice(members)
    # Most answers come within the hour; some wait one or two working days and breach the first-response target.
    t = _next_working_time(opened) + timedelta(minutes=rng.choice([8, 15, 25, 40, 55, 90, 200, 600, 1500, 3000]))
    if t >= now:
        return case.status
    if not case.assignee_id:
        case = case_services.take_case(case, agent, now=t)
    language_en = (case.language or "").startswith("en")
    reply = rng.choice(REPLIES_EN if language_en else REPLIES_ZH)
    case_services.add_reply(case, agent, reply, public=True, now=t)
    if case.first_response_due_at and t > case.first_response_due_at:
        # In the product the SLA sweep (every minute) flags the breach while the case waits; the replay answers
        # it in one go, before any sweep at that hour, so the flag the sweep would have set is set here.
        Case.objects.filter(pk=case.pk).update(first_response_breached=True)
    if rng.random() < 0.25:
        t += timedelta(minutes=rng.randint(5, 120))
        case_services.add_reply(case, agent, "已联系仓库/售后核实，等待回复。", public=False, now=t)
    if rng.random() < 0.12 and age < timedelta(days=20):
        case_services.set_status(case, CaseStatus.PENDING_CUSTOMER, agent, now=t + timedelta(minutes=5))
        return CaseStatus.PENDING_CUSTOMER
    # Still being worked on; more often among last week's cases, so today's queue holds a few breached by days.
    if rng.random() < (0.35 if timedelta(days=3) < age < timedelta(days=9) else 0.1) and age < timedelta(days=10):
        return case.status
    t += timedelta(hours=rng.choice([1, 2, 4, 8, 20, 30, 50, 90]))
    if t >= now:
        return case.status
    root_cause = topics.get(case.pk) or "quality"
    case_services.resolve_case(case, agent, root_cause=root_cause, resolution=rng.choice(RESOLUTIONS), now=t)
    case.resolved_at = t
    return CaseStatus.RESOLVED


def _root_causes(case_ids: list[int]) -> dict[int, str]:
    """The top-level topic of each case's first feedback item: what the agent records as the root cause."""
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
        for key, value in survey_answers.case_credit(case).items():
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

    feedback_id = survey_loop.comment_to_feedback(response)
    if feedback_id:
        comments.append((feedback_id, at + timedelta(minutes=15)))


def _judge_comments(comments: list[tuple[int, datetime]], now: datetime) -> None:
    if not comments:
        return
    _analyse([fid for fid, _ in comments])  # one batch: the pipeline is fast in bulk, slow one by one
    customers = dict(Feedback.objects.filter(pk__in=[fid for fid, _ in comments]).values_list("pk", "customer_id"))
    for feedback_id, at in sorted(comments, key=lambda c: c[1]):
        at = min(at, now)
        # The rules see the cases as they stand at the end of the replay: a comment whose customer has a case
        # opened, resolved or closed after it would join or reopen it before its time. It stays feedback.
        later = Q(created_at__gt=at) | Q(resolved_at__gt=at) | Q(closed_at__gt=at)
        if customers.get(feedback_id) and Case.objects.filter(later, customer_id=customers[feedback_id]).exists():
            continue
        apply_rules([feedback_id], now=at)


def _invite_after_case(survey: Any, case: Case, at: datetime) -> Any:
    customer = case.customer
    assert customer is not None  # the callers pick cases with a customer
    return Invitation.objects.create(
        survey=survey, customer=customer, case=case, channel=InvitationChannel.FOLLOWUP,
        email=customer.email, language="en" if (customer.language or "").startswith("en") else "zh-hans",
        status=InvitationStatus.SENT, sent_at=at, expires_at=at + timedelta(days=30),
    )  # fmt: skip


def _follow_up_surveys(
    cases: list[Case], rng: random.Random, now: datetime, result: LoopResult, comments: list[tuple[int, datetime]]
) -> None:
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
        invitation = _invite_after_case(survey, case, at)
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


def _effort_surveys(
    cases: list[Case], rng: random.Random, now: datetime, result: LoopResult, comments: list[tuple[int, datetime]]
) -> None:
    """A customer-effort (CES, 1-7) survey to a share of the resolved cases not asked for satisfaction."""
    survey = Survey.objects.filter(template_code="ces").first()
    if survey is None:
        return
    asked = set(Invitation.objects.filter(case_id__in=[c.pk for c in cases]).values_list("case_id", flat=True))
    for case in cases:
        if case.resolved_at is None or case.customer_id is None or case.pk in asked or rng.random() > 0.3:
            continue
        at = case.resolved_at + timedelta(days=1, hours=rng.randint(1, 30))
        if at >= now:
            continue
        invitation = _invite_after_case(survey, case, at)
        slow = case.first_response_breached or case.resolution_breached or case.reopen_count
        weights = [8, 10, 14, 16, 20, 18, 14] if slow else [1, 2, 4, 8, 20, 35, 30]
        score = rng.choices(range(1, 8), weights=weights)[0]
        comment = rng.choice(COMMENTS_EFFORT) if score <= 3 else ""
        _comment_to_feedback(_answer(survey, invitation, {1: score}, comment, at, case), at, comments)
        result.responses += 1


def _repurchases(rng: random.Random, now: datetime) -> None:
    """Orders placed after a survey answer: satisfied customers come back far more often than dissatisfied ones
    (the premise the metrics page's repurchase bands test). Through the same import service as the orders."""

    orders = []
    responses = (
        Response.objects.filter(customer__isnull=False, submitted_at__lt=now)
        .exclude(customer__external_id="")
        .select_related("customer")
        .order_by("submitted_at", "pk")
    )
    for response in responses:
        happy = (response.csat or 0) >= 4 or (response.nps or 0) >= 9 or (response.ces or 0) >= 6
        # The metrics page's bands: CSAT 4–5 against 1–3, promoters against detractors.
        unhappy = (response.csat is not None and response.csat <= 3) or (response.nps is not None and response.nps <= 6)
        chance = 0.6 if happy else 0.06 if unhappy else 0.25
        if rng.random() > chance:
            continue
        # Most come back within weeks (a month's answers already show the difference), a few months later.
        days = 3 + min(int(rng.expovariate(1 / 20)), 150)
        ordered_at = response.submitted_at + timedelta(days=days, hours=rng.randint(0, 10))
        if ordered_at >= now:
            continue
        code, name, _name_en, _category = rng.choice(PRODUCTS)
        customer = response.customer
        assert customer is not None  # responses with a customer only (above)
        orders.append(prepare_order({
            "order_id": f"SO{customer.external_id[1:]}R{response.pk}",
            "customer_id": customer.external_id,
            "ordered_at": ordered_at.isoformat(),
            "amount": f"{rng.choice([69, 129, 299, 499, 899, 1299])}.00",
            "product": code,
            "product_name": name,
            "status": "已完成",
        }))  # fmt: skip
    upsert_orders(orders)


def _finish_backlog(rng: random.Random, now: datetime) -> None:
    """Cases still open after two weeks, and reopened cases nobody reworked: the team clears them (unless their
    last step was too recent), as a real queue never keeps complaints open for months."""
    stale = list(
        Case.objects.filter(
            Q(created_at__lt=now - BACKLOG_AGE) | Q(status=CaseStatus.REOPENED), status__in=ACTIVE_STATUSES
        ).select_related("assignee")
    )
    if not stale:
        return
    agents = list(User.objects.filter(role__in=[Role.AGENT, Role.MANAGER], is_active=True).order_by("pk"))
    topics = _root_causes([c.pk for c in stale])
    last = dict(
        CaseEvent.objects.filter(case_id__in=[c.pk for c in stale])
        .values("case_id")
        .annotate(at=Max("created_at"))
        .values_list("case_id", "at")
    )
    for case in stale:
        t = _next_working_time(last.get(case.pk, case.created_at)) + timedelta(hours=rng.randint(2, 30))
        if t >= now:
            continue
        agent = case.assignee or rng.choice(agents)
        try:
            with transaction.atomic():
                if case.assignee_id is None:
                    case = case_services.take_case(case, agent, now=t - timedelta(minutes=30))
                if case.first_responded_at is None:
                    reply = (
                        "再次致歉，已为您安排处理。" if not (case.language or "").startswith("en") else REPLIES_EN[0]
                    )
                    case_services.add_reply(case, agent, reply, public=True, now=t - timedelta(minutes=20))
                case_services.resolve_case(
                    case, agent, root_cause=topics.get(case.pk) or "quality", resolution=rng.choice(RESOLUTIONS), now=t
                )
        except CaseError:  # merged or taken meanwhile: left as it stands
            continue


def ensure_canned_replies() -> int:
    """The canned replies a service team starts with, in both languages (skipped when their title exists)."""
    created = 0
    for title, body, language in CANNED_REPLIES:
        if not CannedReply.objects.filter(title=title).exists():
            save_macro(None, title=title, body=body, language=language)
            created += 1
    return created


def _relationship_nps(
    rng: random.Random, now: datetime, result: LoopResult, comments: list[tuple[int, datetime]]
) -> None:
    """A quarterly relationship NPS to a sample of customers; promoters are the customers without complaints."""
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
    ensure_canned_replies()
    pending = list(
        Feedback.objects.filter(source__startswith="demo:", analysis_status=AnalysisStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    if not pending:
        return result
    result.analysed = _analyse(pending)
    agents = list(User.objects.filter(role__in=[Role.AGENT, Role.MANAGER], is_active=True).prefetch_related("teams"))
    for agent in agents:
        # read once for the whole replay, not per case (not a field: only _team_members reads it)
        agent.team_ids = {t.pk for t in agent.teams.all()}  # type: ignore[attr-defined]
    cases = _replay(pending, rng, agents, now, progress)
    result.cases = len(cases)
    result.resolved = sum(c.resolved_at is not None for c in cases)
    comments: list[tuple[int, datetime]] = []
    with transaction.atomic():
        _follow_up_surveys(cases, rng, now, result, comments)
        _effort_surveys(cases, rng, now, result, comments)
        _relationship_nps(rng, now, result, comments)
    _judge_comments(comments, now)
    # The cases the survey comments opened are worked like any other, not left to breach for months.
    worked = {c.pk for c in cases}
    later = list(
        Case.objects.filter(status__in=ACTIVE_STATUSES, resolved_at__isnull=True)
        .exclude(pk__in=worked)
        .select_related("customer")
        .order_by("created_at")
    )
    later_topics = _root_causes([c.pk for c in later])
    for case in later:
        with transaction.atomic():
            _work_case(case, rng, agents, now, later_topics)
    _finish_backlog(rng, now)
    with transaction.atomic():
        _repurchases(rng, now)
    # Resolved long enough ago: closed by the auto-close the product runs every few minutes.

    followup.auto_close_cases(now=now)
    sla.sweep_sla(now=now)
    # History is not news: nobody is emailed about what "happened" months ago. The last two days are handed to
    # the outbox like live events, so staff notifications and customer replies go out to the demo's local mail
    # sink and show on Settings → Outgoing mail.
    CaseEvent.objects.filter(processed=False, created_at__lt=now - RECENT_MAIL).update(processed=True)
    drain_case_events(budget_s=120.0)
    CaseEvent.objects.filter(processed=False).update(processed=True)
    send_due_messages(now)
    FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_at__lt=now).update(
        status=FollowUpStatus.SKIPPED, skip_reason="demo history"
    )
    # Segments first: the roll-ups cut by the customers' segments as they stand when a day is computed.

    assign_segments(now)
    # The KPI panel and the insight pages read daily roll-ups: build them for the whole history at once.

    rebuild()
    # Early warning over the history (older alerts stored closed, nobody emailed), and one emerging-topics run.

    detect(backfill=True)
    find_emerging_topics(days=180)
    return result
