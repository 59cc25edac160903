"""Thin tasks: they call a service and are safe to run twice (measurements and notices are claimed)."""

from __future__ import annotations

from celery import shared_task

from voxloop.actions import notices, services
from voxloop.actions.models import ImprovementAction


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def measure_effects_task() -> int:
    """The scheduled measurements at 14, 30, 60 and 90 days after "implemented on", and a new one of each action
    closed effective whose "is it fixed for you?" question got answers since (daily)."""
    return services.measure_due_effects() + notices.remeasure_answered()


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def measure_action_task(action_id: int) -> int | None:
    action = ImprovementAction.objects.filter(pk=action_id).select_related("department", "owner").first()
    if action is None or action.implemented_on is None:
        return None
    return services.measure_effect(action, services.ON_DEMAND).pk


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def overdue_actions_task() -> tuple[int, int]:
    return services.flag_overdue_actions()
