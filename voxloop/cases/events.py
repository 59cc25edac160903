"""The case timeline: ``record_event`` is the one writer of CaseEvent rows for single events, and every
transaction that writes some kicks the outbox once after commit so the registered handlers (notify, webhooks)
hear of them. The kick is one task per transaction, never one per event (voxloop.core.kicks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent
from voxloop.core.kicks import on_commit_once, send_unless_queued


def record_event(case: Case, kind: str, actor: User | None, now: datetime, **payload: Any) -> CaseEvent:
    """Write one timeline row in the caller's transaction; the outbox runs after it commits."""
    event = CaseEvent.objects.create(case=case, kind=kind, actor=actor, payload=_jsonable(payload), created_at=now)
    on_commit_once(kick_outbox)
    return event


def record_events(rows: Sequence[tuple[Case, str, User | None, datetime, dict[str, Any]]]) -> list[CaseEvent]:
    """Write many timeline rows in one INSERT, in the given order (ids follow it, so each case's timeline
    reads as if recorded one by one), in the caller's transaction; the outbox runs once after it commits.
    For batch writers (the rules); events with a text for search (replies, notes) go through ``record_event``."""
    events = CaseEvent.objects.bulk_create(
        [
            CaseEvent(case=case, kind=kind, actor=actor, payload=_jsonable(payload), created_at=now)
            for case, kind, actor, now, payload in rows
        ]
    )
    if events:
        on_commit_once(kick_outbox)
    return events


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in payload.items()}


#: The name under which a queued outbox run is remembered (voxloop.core.kicks.send_unless_queued).
OUTBOX_KICK = "case-events"


def kick_outbox_after_commit() -> None:
    """Kick the outbox once when the current transaction commits (for writers that bulk-create events)."""
    on_commit_once(kick_outbox)


def kick_outbox() -> None:
    """Hand unprocessed events to the outbox worker (call it through kick_outbox_after_commit)."""
    # Imported here: cases.tasks imports cases.services, which imports this module.
    from voxloop.cases.tasks import process_case_events_task

    send_unless_queued(OUTBOX_KICK, process_case_events_task.delay)
