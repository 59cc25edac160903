"""Celery tasks: thin, idempotent wrappers over webhook services."""

from __future__ import annotations

from celery import shared_task

from voxloop.webhooks import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery ships no types
def deliver_webhooks_task(ids: list[int] | None = None) -> dict[str, int]:
    """Post waiting deliveries (kicked after each commit that stores some, and periodically for retries)."""
    run = services.deliver_due(ids=ids)
    return {"delivered": run.delivered, "retrying": run.retrying, "dead": run.dead, "skipped": run.skipped}
