"""Celery tasks: thin, idempotent wrappers over the roll-up services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.metrics import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def refresh_rollups_task() -> dict[str, Any]:
    """Mark the days touched since the last run, then recompute every dirty day. Safe to run twice at once:
    recomputing a day is idempotent and each dirty mark is taken by one worker."""
    marked = services.catch_up()
    return {"marked": marked, "refreshed": services.refresh_dirty()}
