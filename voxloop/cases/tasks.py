"""Celery tasks: thin, idempotent wrappers over services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.cases import followup, holidays, outbox, sla
from voxloop.cases.events import OUTBOX_KICK, kick_outbox
from voxloop.core.kicks import kick_taken


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def sla_sweep_task() -> dict[str, Any]:
    """Flip due SLA warnings, breaches and escalations. Concurrent runs are harmless (conditional updates)."""
    result = sla.sweep_sla()
    return {"examined": result.examined, "flipped": result.flipped, "events": result.events}


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def fill_holidays_task() -> dict[str, int]:
    """Load this year's and next year's holidays from the library into calendars that have none for them."""
    return holidays.fill_missing_years()


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def process_case_events_task() -> int:
    """Drain the outbox in batches (kicked once per committing transaction, and by beat as a catch-up). A run
    that leaves events behind queues exactly one follow-up run: the work a run queues is bounded."""
    kick_taken(OUTBOX_KICK)  # events committed from now on need another run (one, however many commits)
    processed, more = outbox.drain_case_events()
    if more:
        kick_outbox()
    return processed


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def follow_up_sweep_task() -> dict[str, Any]:
    """Turn due follow-ups into survey invitations or agent tasks; each is claimed once (conditional update)."""
    run = followup.process_due_follow_ups()
    return {"due": run.due, "sent": run.sent, "failed": run.failed}


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def auto_close_task() -> dict[str, Any]:
    """Close resolved cases whose follow-up window has passed; concurrent runs close each case once."""
    run = followup.auto_close_cases()
    return {"closed": run.closed, "skipped": run.skipped}
