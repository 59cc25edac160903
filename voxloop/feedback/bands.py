"""The score bands of NPS and CSAT answers: the one definition of an "unhappy" answer.

NPS (0-10): 0-6 detractor, 7-8 passive, 9-10 promoter (the standard bands). CSAT (1-5): 1-2 low, 3 neutral, 4-5
high. A detractor or a low CSAT is unhappy: it reopens the case a survey followed, opens a recovery case through
the default rule, fills the inbox's "low rating" filter and the insights' unhappy segment. It lives in the
feedback layer because the feedback inbox is the lowest code that asks (a rating on a 10- or 5-point scale);
surveys, metrics, dashboards, alerts and the automation facts import it from here. Plain Python, no Django.
"""

from __future__ import annotations

NPS_DETRACTOR_MAX = 6
NPS_PASSIVE_MAX = 8
CSAT_LOW_MAX = 2
CSAT_NEUTRAL_MAX = 3

NPS_BANDS = ("detractor", "passive", "promoter")
CSAT_BANDS = ("low", "neutral", "high")
UNHAPPY_BANDS = ("detractor", "low")

# The highest unhappy rating on each scale a feedback item's rating may use (10: NPS, 5: CSAT or stars).
UNHAPPY_RATING_MAX = {10: NPS_DETRACTOR_MAX, 5: CSAT_LOW_MAX}


def nps_band(score: int) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter."""
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS answer is 0..10, not {score}")
    return "detractor" if score <= NPS_DETRACTOR_MAX else "passive" if score <= NPS_PASSIVE_MAX else "promoter"


def csat_band(score: int) -> str:
    """1-2 low, 3 neutral, 4-5 high."""
    if not 1 <= score <= 5:
        raise ValueError(f"a CSAT answer is 1..5, not {score}")
    return "low" if score <= CSAT_LOW_MAX else "neutral" if score <= CSAT_NEUTRAL_MAX else "high"


def answer_bands(nps: int | None, csat: int | None) -> tuple[str, ...]:
    """The bands of one survey answer's scores, NPS first (an answer may carry both)."""
    bands = []
    if nps is not None:
        bands.append(nps_band(nps))
    if csat is not None:
        bands.append(csat_band(csat))
    return tuple(bands)


def is_unhappy(nps: int | None, csat: int | None) -> bool:
    """A detractor NPS or a low CSAT."""
    return any(band in UNHAPPY_BANDS for band in answer_bands(nps, csat))
