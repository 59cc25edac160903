""" "Is it fixed for you?": the answers of the customers told of a fix (docs/actions.md, "Customers' answers in
the verdict").

A "we fixed it" notice may carry a one-question survey link (FixNotice.invitation). Each answer is read as
*fixed*, *not fixed* or *neither*:

- a CSAT score (1–5): 4–5 fixed, 1–2 not fixed, 3 neither;
- else an NPS score (0–10): 9–10 fixed, 0–6 not fixed, 7–8 neither;
- else a choice coded ``yes``/``fixed`` (fixed) or ``no``/``not_fixed`` (not fixed).

The share that says fixed gets a 95% Wilson interval. With at least ``MIN_ANSWERS`` answers, an interval wholly
below one half means most customers say the problem is *not* fixed: that contradicts an "effective" verdict,
which then becomes "inconclusive" (warning ``customers_not_fixed``). An interval wholly above one half confirms
it. Answers never turn another verdict into "effective": the customers who answer chose to, so their answers
may veto a claim of the time series, not make one. Anonymous surveys keep no link to the invitation and cannot
count."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from voxloop.actions.models import FixNotice, ImprovementAction
from voxloop.stats.formulas import wilson_interval
from voxloop.surveys.models import Answer, Response

MIN_ANSWERS = 10  # fewer: shown with a "small n" mark, but they do not move the verdict
FIXED_CODES = frozenset({"yes", "fixed"})
NOT_FIXED_CODES = frozenset({"no", "not_fixed"})
CONTRADICTS = "customers_not_fixed"  # the warning code an overruled verdict carries


def _reading(csat: int | None, nps: int | None, codes: set[str]) -> str | None:
    if csat is not None:
        return "fixed" if csat >= 4 else "not_fixed" if csat <= 2 else "neither"
    if nps is not None:
        return "fixed" if nps >= 9 else "not_fixed" if nps <= 6 else "neither"
    if codes & FIXED_CODES:
        return "fixed"
    if codes & NOT_FIXED_CODES:
        return "not_fixed"
    return None  # only a comment: it becomes feedback, but says nothing on "fixed"


def no_answers() -> dict[str, Any]:
    """What :func:`answers` says of an action nobody was asked about."""
    return {"fixed": 0, "not_fixed": 0, "neither": 0, "n": 0, "share": None, "low": None, "high": None,
            "call": None, "min_answers": MIN_ANSWERS}  # fmt: skip


def asked_action_ids() -> set[int]:
    """The actions whose notices carried the question (one query: a run that measures many actions asks it once
    and reads answers only for these)."""
    asked = FixNotice.objects.filter(invitation__isnull=False).order_by()  # no ordering column in the DISTINCT
    return set(asked.values_list("action_id", flat=True).distinct())


def answers(action: ImprovementAction) -> dict[str, Any]:
    """The counts of the action's "is it fixed for you?" answers, the share that says fixed with its 95%
    interval, and the call: ``fixed`` / ``not_fixed`` (the interval wholly on one side of one half, with enough
    answers), ``unclear``, ``too_few`` (fewer than MIN_ANSWERS), or None (nobody answered). Two queries."""
    invitations = FixNotice.objects.filter(action=action, invitation__isnull=False).values("invitation_id")
    rows = list(Response.objects.filter(invitation_id__in=invitations).values_list("pk", "csat", "nps"))
    need_codes = [pk for pk, csat, nps in rows if csat is None and nps is None]
    codes: dict[int, set[str]] = {}
    if need_codes:
        chosen = Answer.objects.filter(Q(response_id__in=need_codes) & ~Q(choices=[]))
        for response_id, choices in chosen.values_list("response_id", "choices"):
            codes.setdefault(response_id, set()).update(str(c) for c in choices or [])
    counts = {"fixed": 0, "not_fixed": 0, "neither": 0}
    for pk, csat, nps in rows:
        reading = _reading(csat, nps, codes.get(pk, set()))
        if reading is not None:
            counts[reading] += 1
    n = sum(counts.values())
    result = no_answers()
    if n == 0:
        return result
    result.update(counts, n=n)
    low, high = wilson_interval(counts["fixed"], n)
    result.update(share=counts["fixed"] / n, low=low, high=high)
    if n < MIN_ANSWERS:
        result["call"] = "too_few"
    elif high < 0.5:
        result["call"] = "not_fixed"
    elif low > 0.5:
        result["call"] = "fixed"
    else:
        result["call"] = "unclear"
    return result


def apply(report: dict[str, Any], confirmation: dict[str, Any]) -> dict[str, Any]:
    """Count the answers toward the verdict (rules in the module's docstring): an "effective" verdict that most
    answering customers contradict becomes "inconclusive", with the warning saying why."""
    report["confirmation"] = confirmation
    if confirmation["call"] == "not_fixed" and report["verdict"] == "effective":
        report["verdict"] = "inconclusive"
        report["overruled_by_customers"] = True
        report["warnings"] = [*report.get("warnings", []), CONTRADICTS]
    return report
