"""Hands newly stored feedback to the analysis pipeline, in batches, after the storing commit."""

from __future__ import annotations

from django.conf import settings

from voxloop.analysis.services import ANALYSIS_CHUNK
from voxloop.analysis.tasks import analyze_feedback_task


def queue_analysis(feedback_ids: list[int]) -> None:
    if not getattr(settings, "ANALYZE_ON_INGEST", True):
        return
    for start in range(0, len(feedback_ids), ANALYSIS_CHUNK):
        ids = feedback_ids[start : start + ANALYSIS_CHUNK]
        # A short argsrepr: Celery otherwise writes out every id for the task's logs and monitoring, a cost
        # each imported row paid (about 2 µs).
        analyze_feedback_task.apply_async((ids,), argsrepr=f"[{len(ids)} feedback ids from #{ids[0]}]")
