"""Celery tasks: thin wrappers over the privacy services."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from voxloop.privacy import retention

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery ships no types
def apply_retention_task() -> dict[str, Any]:
    """The nightly retention run (PRIVACY_RETENTION_HOUR): applies every active policy and returns, logs and keeps
    as a RetentionRun what each removed. Running it twice removes nothing more the second time."""
    run = retention.apply_policies(dry_run=False)
    for data_class, entry in run.results.items():
        logger.info("retention %s: %s removed%s", data_class, entry["count"], " (legal hold)" if entry["held"] else "")
    return {"run": run.pk, "results": run.results}
