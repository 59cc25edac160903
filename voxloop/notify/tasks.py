"""Celery tasks: thin, idempotent wrappers over notify services."""

from __future__ import annotations

from celery import shared_task

from voxloop.notify import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery ships no types
def send_outgoing_messages_task() -> dict[str, int]:
    """Send waiting messages (kicked after each commit that stores some, and periodically for retries)."""
    run = services.send_due_messages()
    return {"sent": run.sent, "retrying": run.retrying, "failed": run.failed, "skipped": run.skipped}
