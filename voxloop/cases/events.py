"""The case timeline: ``record_event`` is the one writer of CaseEvent rows for single events, and every
write kicks the outbox after commit so the registered handlers (notify, webhooks) hear of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent


def record_event(case: Case, kind: str, actor: User | None, now: datetime, **payload: Any) -> CaseEvent:
    """Write one timeline row in the caller's transaction; the outbox runs after it commits."""
    event = CaseEvent.objects.create(case=case, kind=kind, actor=actor, payload=_jsonable(payload), created_at=now)
    transaction.on_commit(kick_outbox)
    return event


def _jsonable(payload: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in payload.items()}


def kick_outbox() -> None:
    """Hand unprocessed events to the outbox worker (call it through transaction.on_commit)."""
    # Imported here: cases.tasks imports cases.services, which imports this module.
    from voxloop.cases.tasks import process_case_events_task

    process_case_events_task.delay()
