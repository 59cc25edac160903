"""Helpers for the actions tests: daily feedback with a known complaint rate, before and after a fix."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import notices, services
from voxloop.actions.models import FixNotice, ImprovementAction
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Customer, Feedback
from voxloop.surveys import answers
from voxloop.surveys.models import Question, Survey


def seed_feedback(
    first: date,
    days: int,
    *,
    per_day: int,
    rate_before: float,
    rate_after: float,
    change_on: date,
    topic: str = "delivery",
    seed: int = 0,
    channel: str = "webform",
) -> int:
    """``per_day`` items a day from ``first``; a share of them complaints about ``topic`` that drops from
    ``rate_before`` to ``rate_after`` on ``change_on``. Returns the items written."""
    rng = np.random.default_rng(seed)
    tz = timezone.get_current_timezone()
    rows, kinds = [], []
    for d in range(days):
        day = first + timedelta(days=d)
        rate = rate_after if day >= change_on else rate_before
        for i in range(per_day):
            complaint = rng.random() < rate
            at = timezone.make_aware(datetime.combine(day, time(9)) + timedelta(minutes=i), tz)
            rows.append(Feedback(
                channel=channel, source="test", external_id=f"{seed}-{d}-{i}", received_at=at, text="…",
                kind="complaint" if complaint else "praise", sentiment="negative" if complaint else "positive",
            ))  # fmt: skip
            kinds.append(complaint)
    created = Feedback.objects.bulk_create(rows, batch_size=2000)
    FeedbackTopic.objects.bulk_create(
        [FeedbackTopic(feedback_id=f.pk, code=topic, top_code=topic) for f, c in zip(created, kinds, strict=True) if c],
        batch_size=2000,
    )
    return len(created)


def implement(approver, owner, action, on: date, plan: str = "换快递公司"):
    """Walk a proposed action through approval and start to "implemented on ``on``"."""
    services.approve_action(approver, action)
    services.start_action(owner, action, plan=plan)
    return services.implement_action(owner, action, on)


def told_action(manager, agent, today: date, customers: int) -> ImprovementAction:
    """An action implemented 31 days before ``today``, measured effective there and closed, with a note for
    customers; ``customers`` customers (every other one English) who complained in its baseline window were
    told, each notice with a link to a one-question CSAT survey "is it fixed for you?"."""
    implemented = today - timedelta(days=31)
    department = Department.objects.create(name="物流部", name_en="Logistics", manager=manager)
    seed_feedback(
        implemented - timedelta(days=95), 126, per_day=40, rate_before=0.25, rate_after=0.12, change_on=implemented,
        seed=2,
    )  # fmt: skip
    tz = timezone.get_current_timezone()
    for i in range(customers):
        customer = Customer.objects.create(
            name=f"客户{i}", email=f"c{i}@example.com", language="en" if i % 2 else "zh-CN"
        )
        item = Feedback.objects.create(
            channel="webform", source="t", external_id=f"told-{i}", text="快递太慢", kind="complaint",
            sentiment="negative", customer=customer, received_at=timezone.make_aware(
                datetime.combine(today - timedelta(days=60), time(11)), tz),
        )  # fmt: skip
        FeedbackTopic.objects.create(feedback=item, code="delivery", top_code="delivery")
    action = services.create_action(
        manager, title="换快递公司", department=department, owner=agent, due_date=today, topics=["delivery"],
        today=today,
    )  # fmt: skip
    implement(manager, agent, action, implemented)
    services.measure_due_effects(today)
    action.refresh_from_db()
    assert action.latest_verdict == "effective"
    services.close_action(manager, action, effective=True)
    action.public_note = "我们换了快递公司。"
    action.save(update_fields=["public_note"])
    survey = Survey.objects.create(name="修好了吗", kind="csat", languages=["zh-hans", "en"])
    Question.objects.create(survey=survey, order=1, kind="csat", text_zh="问题解决了吗？", text_en="Is it fixed?")
    assert notices.send_fix_notices(manager, action, survey=survey).sent == customers
    return action


def answer_notices(action: ImprovementAction, scores: list[int]) -> None:
    """The first ``len(scores)`` customers told answer "is it fixed for you?" with these CSAT scores."""
    for notice, score in zip(FixNotice.objects.filter(action=action).order_by("pk"), scores, strict=False):
        assert notice.invitation is not None
        answers.submit_response(invitation=notice.invitation, data={"q1": str(score)})
