"""Celery tasks of the insights pages: thin, idempotent wrappers over their services."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from voxloop.insights import segmentation


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # celery ships no types
def assign_segments_task() -> dict[str, Any]:
    """Place every customer in a segment (daily, and on "Recompute segments now"). Safe to run twice: a run
    while another is going does nothing, and a run writes only the segments that changed."""
    result = segmentation.assign_segments()
    return {"customers": result.customers, "changed": result.changed, "skipped": result.skipped}
