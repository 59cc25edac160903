"""Hands newly stored feedback to the analysis pipeline (filled in by the analysis bridge)."""

from __future__ import annotations


def queue_analysis(feedback_ids: list[int]) -> None:
    """Queue analysis for these feedback ids. Until the bridge lands, items stay 'pending'."""
    return None
