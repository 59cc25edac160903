"""Helpers for the actions tests: daily feedback with a known complaint rate, before and after a fix."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
from django.utils import timezone

from voxloop.actions import services
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Feedback


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
