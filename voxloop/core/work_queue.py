"""Rows that wait to be sent (notification emails, webhook deliveries): pick the due ones and claim each
for one worker. A claim is a conditional update on the attempt count that also pushes the next attempt
past a lease, so two workers never send the same row and a row whose worker died is tried again later."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Model


def due_rows(
    model: type[Model], pending: str, now: datetime, *, limit: int, ids: Iterable[int] | None = None
) -> list[tuple[int, int]]:
    """(pk, attempts) of pending rows whose next attempt has come, oldest first."""
    due = model.objects.filter(status=pending, next_attempt_at__lte=now)  # type: ignore[attr-defined]
    if ids is not None:
        due = due.filter(pk__in=list(ids))
    return list(due.order_by("next_attempt_at", "id").values_list("pk", "attempts")[:limit])


def claim_row(
    model: type[Model], pk: int, attempts: int, now: datetime, *, pending: str, lease: timedelta, **extra: Any
) -> bool:
    """Take one row for this worker: only the update that still sees the same attempt count wins."""
    return bool(
        model.objects.filter(  # type: ignore[attr-defined]
            pk=pk, status=pending, attempts=attempts, next_attempt_at__lte=now
        ).update(attempts=attempts + 1, next_attempt_at=now + lease, updated_at=now, **extra)
    )
