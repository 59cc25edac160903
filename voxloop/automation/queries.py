"""Read models for the rule editor: what a rule would have matched, and how often rules fired."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count
from django.utils import timezone

from voxloop.automation.models import RuleFiring
from voxloop.automation.rules import compile_conditions, facts_for, facts_queryset
from voxloop.feedback.models import AnalysisStatus, Feedback

PREVIEW_DAYS = 30
PREVIEW_LIMIT = 2000


@dataclass
class Preview:
    examined: int = 0
    matched: int = 0
    examples: list[Feedback] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.matched / self.examined if self.examined else None


def preview_conditions(
    conditions: Any, *, days: int = PREVIEW_DAYS, limit: int = PREVIEW_LIMIT, now: datetime | None = None
) -> Preview:
    """Evaluate ``conditions`` on the most recent analysed feedback (at most ``limit`` items of the last
    ``days`` days) without running any action. Raises RuleValidationError for conditions that cannot be used."""
    predicate = compile_conditions(conditions)
    since = (now or timezone.now()) - timedelta(days=days)
    ids = list(
        Feedback.objects.filter(analysis_status=AnalysisStatus.DONE, received_at__gte=since)
        .order_by("-received_at", "-id")
        .values_list("pk", flat=True)[:limit]
    )
    preview = Preview()
    for start in range(0, len(ids), 500):
        for item in facts_queryset(ids[start : start + 500]):
            preview.examined += 1
            if predicate(facts_for(item)):
                preview.matched += 1
                if len(preview.examples) < 5:
                    preview.examples.append(item)
    return preview


def firing_counts(days: int = PREVIEW_DAYS, now: datetime | None = None) -> dict[int, int]:
    """rule id -> how many items it fired on in the last ``days`` days."""
    since = (now or timezone.now()) - timedelta(days=days)
    rows = RuleFiring.objects.filter(fired_at__gte=since).values("rule_id").annotate(n=Count("id"))
    return {row["rule_id"]: row["n"] for row in rows}
