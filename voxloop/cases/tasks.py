"""Celery tasks: thin, idempotent wrappers over services."""

from __future__ import annotations

from celery import shared_task

from voxloop.cases import outbox, services


@shared_task(ignore_result=True)
def sla_sweep_task() -> dict:
    """Flip due SLA warnings, breaches and escalations. Concurrent runs are harmless (conditional updates)."""
    result = services.sweep_sla()
    return {"examined": result.examined, "flipped": result.flipped, "events": result.events}


@shared_task(ignore_result=True)
def process_case_events_task() -> int:
    return outbox.process_case_events()
