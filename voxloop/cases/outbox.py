"""The notification outbox: CaseEvent rows with processed=False, handed to registered handlers after commit.

Handlers (email to the customer, notifications to escalation targets, webhooks) register themselves from
their own apps; until one is registered, events stay unprocessed so nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import transaction

from voxloop.cases.models import CaseEvent

EventHandler = Callable[[CaseEvent], None]
_handlers: list[EventHandler] = []


def register_event_handler(handler: EventHandler) -> EventHandler:
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def unregister_event_handler(handler: EventHandler) -> None:
    if handler in _handlers:
        _handlers.remove(handler)


def process_case_events(limit: int = 500) -> int:
    """Hand unprocessed events to every handler, oldest first; concurrent workers skip each other's rows."""
    if not _handlers:
        return 0
    with transaction.atomic():
        events = list(
            CaseEvent.objects.select_for_update(skip_locked=True).filter(processed=False).order_by("id")[:limit]
        )
        for event in events:
            for handler in list(_handlers):
                handler(event)
        CaseEvent.objects.filter(pk__in=[e.pk for e in events]).update(processed=True)
    return len(events)


def drain_case_events(*, batch: int = 500, budget_s: float = 20.0) -> tuple[int, bool]:
    """Process batches of events until none is left or ``budget_s`` is spent; returns (processed, more_left).

    The budget keeps one run short, so other urgent tasks (the SLA sweep) get the consumer between runs; the
    caller queues one follow-up run when events are left, never one per event."""
    deadline = time.monotonic() + budget_s
    processed = 0
    while True:
        done = process_case_events(limit=batch)
        processed += done
        if done < batch:
            return processed, False
        if time.monotonic() >= deadline:
            return processed, True
