"""Celery tasks: thin, idempotent wrappers over the early-warning services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.alerts import services


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery ships no types
def detect_alerts_task() -> dict[str, Any]:
    """Score the last year of roll-ups and upsert/announce alerts (ALERTS_DETECT_SECONDS, hourly by default).
    Safe to run twice at once: alerts are keyed by fingerprint and each announcement is claimed once."""
    return services.detect().as_dict()
