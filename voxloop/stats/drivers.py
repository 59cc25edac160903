"""Drivers: which topics move NPS or CSAT most.

For each topic: the mean score of respondents whose comment mentions it against those whose comment does
not, the difference with its 95% interval (Welch), and the weighted impact

    impact = (mean with topic - mean without) x share of respondents mentioning it

i.e. roughly how many points the overall score would move if the topic's effect disappeared. For NPS a
respondent counts +100 (promoter, 9-10), 0 (passive, 7-8) or -100 (detractor, 0-6), so a group's mean
is that group's NPS and the difference is in NPS points.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from scipy.stats import t as student_t

# A topic's type, whatever the caller groups by: a Mapping is invariant in its keys, so Mapping[Hashable, ...]
# would refuse the caller's dict[str, ...].
TopicT = TypeVar("TopicT", bound=Hashable)


class Scale(StrEnum):
    NPS = "nps"  # 0..10 answers, scored as promoter/passive/detractor
    MEAN = "mean"  # any numeric score averaged as is (CSAT 1..5, CES 1..7)


@dataclass(frozen=True)
class Driver:
    topic: Hashable
    mentions: int  # respondents mentioning the topic
    share: float  # mentions / all respondents
    mean_with: float
    mean_without: float | None  # None when every respondent mentions it
    difference: float | None  # mean_with - mean_without
    ci_low: float | None  # 95% Welch interval of the difference
    ci_high: float | None
    impact: float | None  # difference x share
    enough_data: bool  # both groups have at least ``min_group`` respondents


def _score(value: float, scale: Scale) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"a score must be a number, not {value!r}")
    if scale is Scale.NPS:
        if not 0 <= value <= 10 or value != int(value):
            raise ValueError(f"an NPS answer is a whole number 0..10, not {value!r}")
        return 100.0 if value >= 9 else 0.0 if value >= 7 else -100.0
    return float(value)


def _mean_var(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def _driver(
    topic: Hashable,
    with_group: tuple[int, float, float],
    without_group: tuple[int, float, float],
    total: int,
    min_group: int,
    confidence: float,
) -> Driver:
    """One topic's driver from (n, mean, sample variance) of the respondents mentioning it and of the rest."""
    k_with, mean_with, var_with = with_group
    k_without, mean_without, var_without = without_group
    share = k_with / total
    if k_without == 0:
        return Driver(topic, k_with, share, mean_with, None, None, None, None, None, False)
    difference = mean_with - mean_without
    se2_a, se2_b = var_with / k_with, var_without / k_without
    se = math.sqrt(se2_a + se2_b)
    if se > 0:
        # Welch-Satterthwaite degrees of freedom; groups of one contribute no variance estimate
        dof_terms = [se2**2 / (k - 1) for se2, k in ((se2_a, k_with), (se2_b, k_without)) if k > 1 and se2 > 0]
        dof = (se2_a + se2_b) ** 2 / sum(dof_terms) if dof_terms else 1.0
        half = float(student_t.ppf(0.5 + confidence / 2, dof)) * se
    else:
        half = 0.0
    return Driver(
        topic=topic,
        mentions=k_with,
        share=share,
        mean_with=mean_with,
        mean_without=mean_without,
        difference=difference,
        ci_low=difference - half,
        ci_high=difference + half,
        impact=difference * share,
        enough_data=k_with >= min_group and k_without >= min_group,
    )


def _ranked(drivers: list[Driver]) -> list[Driver]:
    drivers.sort(key=lambda d: (-abs(d.impact) if d.impact is not None else 0.0, str(d.topic)))
    return drivers


def driver_impacts(
    responses: Iterable[tuple[float, Collection[Hashable]]],
    *,
    scale: Scale | str = Scale.NPS,
    min_group: int = 5,
    confidence: float = 0.95,
) -> list[Driver]:
    """Rank topics by |impact| (largest first) from ``(score, topics mentioned)`` pairs."""
    scale = Scale(scale)
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    scored = []
    for score, topics in responses:
        if isinstance(topics, str):
            # frozenset("delivery") would silently be eight one-letter topics
            raise ValueError(f"topics must be a collection of topic codes, not the string {topics!r}")
        scored.append((_score(score, scale), frozenset(topics)))
    if not scored:
        raise ValueError("no responses to analyse")
    n = len(scored)
    topics = sorted({t for _, ts in scored for t in ts}, key=str)
    drivers = []
    for topic in topics:
        with_topic = [s for s, ts in scored if topic in ts]
        without = [s for s, ts in scored if topic not in ts]
        without_group = (len(without), *_mean_var(without)) if without else (0, 0.0, 0.0)
        drivers.append(
            _driver(topic, (len(with_topic), *_mean_var(with_topic)), without_group, n, min_group, confidence)
        )
    return _ranked(drivers)


# --- the same from additive sums (daily roll-ups) ---------------------------------------------------------


@dataclass(frozen=True)
class ScoreSums:
    """Additive sums of a group's scores: how many, their sum and their sum of squares. Sums of days add up,
    so a period's group comes from its daily roll-ups exactly."""

    n: int
    total: float
    squares: float

    @classmethod
    def from_nps_groups(cls, promoters: int, passives: int, detractors: int) -> ScoreSums:
        """NPS scores each respondent +100, 0 or -100: the sums follow from the three counts."""
        return cls(promoters + passives + detractors, 100.0 * (promoters - detractors),
                   10_000.0 * (promoters + detractors))  # fmt: skip

    def minus(self, other: ScoreSums) -> ScoreSums:
        return ScoreSums(self.n - other.n, self.total - other.total, self.squares - other.squares)

    def mean_var(self) -> tuple[float, float]:
        mean = self.total / self.n
        var = max(0.0, (self.squares - self.n * mean * mean) / (self.n - 1)) if self.n > 1 else 0.0
        return mean, var


def driver_impacts_from_sums(
    overall: ScoreSums,
    by_topic: Mapping[TopicT, ScoreSums],
    *,
    min_group: int = 5,
    confidence: float = 0.95,
) -> list[Driver]:
    """:func:`driver_impacts` from aggregates: ``overall`` sums every respondent once, ``by_topic`` the
    respondents mentioning each topic (a respondent counts in every topic it mentions). Respondents without
    a topic are those in ``overall`` minus the topic's group, so means, NPS and the Welch interval are the
    same as from the individual responses (up to rounding of the sums of squares)."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if overall.n <= 0:
        raise ValueError("no responses to analyse")
    drivers = []
    for topic in sorted(by_topic, key=str):
        group = by_topic[topic]
        if group.n <= 0:
            continue
        if group.n > overall.n:
            raise ValueError(f"topic {topic!r} has more respondents ({group.n}) than all of them ({overall.n})")
        rest = overall.minus(group)
        without_group = (rest.n, *rest.mean_var()) if rest.n > 0 else (0, 0.0, 0.0)
        drivers.append(_driver(topic, (group.n, *group.mean_var()), without_group, overall.n, min_group, confidence))
    return _ranked(drivers)
