"""Numbers, lights and links as the report prints them, in the snapshot's language (active when these run)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext

# Every message of the renderer carries the context "service report" (spelled out in each call: makemessages reads
# only literals): "Target" or "Status" mean one thing in the report and may mean another elsewhere
# (voxloop/core/tests/test_translations.py: one msgid, one translation).


def language_of(snapshot: dict[str, Any]) -> str:
    language = str(snapshot.get("language") or settings.LANGUAGE_CODE)
    return "en" if language.startswith("en") else "zh-hans"


@contextmanager
def in_language(snapshot: dict[str, Any]) -> Iterator[str]:
    language = language_of(snapshot)
    with translation.override(language):
        yield language


def absolute(url: str | None) -> str | None:
    """Links in a PDF or an email leave the site: they need the public address (settings.SITE_URL)."""
    if not url:
        return None
    if url.startswith(("http://", "https://", "mailto:")):
        return url
    return settings.SITE_URL.rstrip("/") + "/" + url.lstrip("/")


def light_label(light: str | None, *, has_target: bool = True) -> str:
    """The traffic light in words, so that it never relies on colour alone. The words say what was judged: with a
    target, whether it is met; without one the snapshot (snapshot.traffic_light) judges the change against the
    previous period, and "misses target" would claim a target the reader cannot find in the table."""
    if has_target:
        labels = {
            "green": pgettext("service report", "Meets target"),
            "amber": pgettext("service report", "Watch"),
            "red": pgettext("service report", "Misses target"),
        }
    else:
        labels = {
            "green": pgettext("service report", "No significant decline"),
            "amber": pgettext("service report", "Watch"),
            "red": pgettext("service report", "Significantly worse"),
        }
    return labels.get(light or "grey", pgettext("service report", "No target or data"))


def unit_suffix(unit: str) -> str:
    return {"hours": pgettext("service report", "h"), "minutes": pgettext("service report", "min")}.get(unit, "")


def numeric(*values: Any) -> bool:
    """Snapshots are archived forever: a value of an unexpected type prints as "–" rather than stopping a report."""
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def number(value: Any, unit: str) -> str:
    """A raw KPI number in its unit. "percent" values are fractions in the snapshot (0.7249 is 72.5%: the
    snapshot builder's convention, voxloop/reports/snapshot.py), like the shares of a whole (Pareto, changes)."""
    if not numeric(value):
        return "–" if value is None else str(value)
    if unit in ("percent", "share"):
        return f"{value * 100:.1f}%"
    if unit == "count":
        return f"{round(value):,}"
    if unit in ("hours", "minutes"):
        return f"{value:.1f} {unit_suffix(unit)}"
    if unit == "score":
        return f"{value:.2f}"
    return f"{value:.1f}"


def delta(value: Any, unit: str) -> str:
    """A change in the KPI's unit; rates (fractions) change by percentage points, not per cent."""
    if not numeric(value):
        return "–"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    size = abs(value)
    if unit in ("percent", "share"):
        points = pgettext("service report", "pts")
        return f"{sign}{size * 100:.1f} {points}"
    if unit == "count":
        return f"{sign}{round(size):,}"
    if unit in ("hours", "minutes"):
        return f"{sign}{size:.1f} {unit_suffix(unit)}"
    if unit == "score":
        return f"{sign}{size:.2f}"
    return f"{sign}{size:.1f}"


def interval(low: Any, high: Any, unit: str) -> str:
    """ "27.0–35.1", "86.1–88.6%" (from fractions 0.861, 0.886), "2.2–2.7 h": the unit once, at the end, so the
    column stays narrow."""
    if not numeric(low, high):
        return "–"
    if unit in ("percent", "share"):
        return f"{low * 100:.1f}–{high * 100:.1f}%"
    if unit in ("hours", "minutes"):
        return f"{low:.1f}–{high:.1f} {unit_suffix(unit)}"
    if unit == "count":
        return f"{round(low):,}–{round(high):,}"
    if unit == "score":
        return f"{low:.2f}–{high:.2f}"
    return f"{low:.1f}–{high:.1f}"


def share(value: Any) -> str:
    """A fraction of a whole (0.21) as per cent (21.0%)."""
    return f"{value * 100:.1f}%" if numeric(value) else "–"


def share_delta(value: Any) -> str:
    """A change of a fraction (0.06) in percentage points (+6.0 pts)."""
    return delta(value, "percent")


def share_interval(low: Any, high: Any) -> str:
    return interval(low, high, "percent")
