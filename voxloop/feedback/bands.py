"""The score bands of NPS and CSAT answers. Plain Python, no Django."""

from __future__ import annotations

# NPS 0-6 are detractors; CSAT 1-2 is dissatisfied: both reopen the case the survey followed.
NPS_DETRACTOR_MAX = 6
CSAT_LOW_MAX = 2


def nps_band(score: int) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter (the standard bands)."""
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS answer is 0..10, not {score}")
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
