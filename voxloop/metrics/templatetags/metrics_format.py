"""Formatting of metric values for the panel: "no data" for None, units by kind."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

from voxloop.surveys.models import dimension_label

register = template.Library()


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return _("%(n).0f s") % {"n": seconds}
    if seconds < 3600:
        return _("%(n).0f min") % {"n": seconds / 60}
    if seconds < 2 * 86400:
        return _("%(n).1f h") % {"n": seconds / 3600}
    return _("%(n).1f d") % {"n": seconds / 86400}


@register.filter
def kpi_format(value: float | None, unit: str) -> str:
    if value is None:
        return _("no data")
    if unit == "rate":
        return f"{value * 100:.1f}%"
    if unit == "duration":
        return format_duration(value)
    if unit == "points":
        return f"{value:+.1f}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:,.0f}"


@register.filter
def delta_format(delta: float | None, unit: str) -> str:
    """The change against the previous period: percentage points for rates, points for NPS."""
    if delta is None:
        return "–"
    if unit == "rate":
        return _("%(n)+.1f pp") % {"n": delta * 100}
    if unit == "duration":
        sign = "+" if delta >= 0 else "−"
        return sign + format_duration(abs(delta))
    if unit == "points":
        return f"{delta:+.1f}"
    if unit == "score":
        return f"{delta:+.2f}"
    return f"{delta:+,.0f}"


@register.filter
def delta_class(card: object, _unused: str = "") -> str:
    """good / bad / flat, taking into account whether higher is better for that metric."""
    delta = card.comparison.delta  # type: ignore[attr-defined]
    if not delta:
        return "flat"
    better = delta > 0 if card.definition.higher_is_better else delta < 0  # type: ignore[attr-defined]
    return "good" if better else "bad"


@register.filter
def percent(value: float | None) -> str:
    return _("no data") if value is None else f"{value * 100:.1f}%"


@register.filter
def ratio_format(value: float | None) -> str:
    return _("no data") if value is None else f"{value:.2f}×"


@register.filter
def get_item(mapping: dict[str, Any] | None, key: str) -> object:
    return mapping.get(key) if mapping else None


@register.filter
def dimension_name(code: str) -> str:
    """A CSAT sub-dimension by its name (速度, not speed)."""
    return dimension_label(code)
