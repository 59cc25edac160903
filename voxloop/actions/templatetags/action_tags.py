"""Words for the numbers of an effect report (verdicts and warnings are codes in the stored report)."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

WARNINGS = {
    "small_n_before": _("Few feedback items before the action: the baseline is uncertain."),
    "small_n_after": _("Few feedback items since the action: the effect is uncertain."),
    "short_baseline": _("Less than four weeks of data before the action."),
    "pre_trend_unstable": _(
        "The weeks before the action were not a steady trend, so the expected line is a weak guess."
    ),
    "parallel_trends_doubtful": _("The scope and the rest of the business drifted apart before the action."),
    "estimators_disagree": _("The time series and the comparison with the rest of the business disagree."),
    "customers_not_fixed": _(
        "Most customers who answered “is it fixed for you?” say it is not: the verdict cannot be “effective”."
    ),
}


@register.filter
def warning_text(code: str) -> str:
    return str(WARNINGS.get(code, code))


@register.filter
def num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{float(value) * 100:.0f}%"
