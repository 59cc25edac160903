"""Celery tasks: thin wrappers over the privacy services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.privacy import retention


@shared_task(ignore_result=True)
def apply_retention_task() -> dict[str, Any]:
    """The nightly retention run (PRIVACY_RETENTION_HOUR): applies every active policy and returns, and keeps as a
    RetentionRun, what each removed. Running it twice removes nothing more the second time."""
    run = retention.apply_policies(dry_run=False)
    return {"run": run.pk, "results": run.results}
