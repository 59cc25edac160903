"""Celery tasks: thin wrappers over services."""

from __future__ import annotations

from celery import shared_task

from voxloop.automation import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def apply_pending_rules_task() -> dict[str, int]:
    """Catch-up (beat, RULES_CATCH_UP_SECONDS): one bounded batch of analysed items whose rules never ran to the
    end (their run died after the analysis committed) gets its rules applied."""
    result = services.apply_pending_rules()
    return {"evaluated": result.evaluated, "matched": result.matched, "cases_opened": len(result.cases_opened)}
