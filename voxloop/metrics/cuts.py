"""The values a metrics cut can take, by name: the panel lists them (a team by its name, an agent by theirs),
and a value that names nothing is refused instead of showing zeros."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from voxloop.accounts.models import Role, Team, User
from voxloop.analysis.models import Topic
from voxloop.feedback.models import AnalysedLanguage, Channel, CustomerSegment, Product
from voxloop.metrics.models import Dimension, MetricDaily

PRODUCT_LIMIT = 500  # a catalogue larger than this is cut by typing the product's id in the URL
FIXED: dict[str, Any] = {
    "channel": Channel.choices,
    "segment": CustomerSegment.choices,
    "language": AnalysedLanguage.choices,
}


def cut_choices(language: str = "", current: tuple[str, str] = ("", "")) -> dict[str, list[tuple[str, str]]]:
    """{dimension: [(value, name), ...]} for the panel's value list; the current cut's value is always there."""
    english = language.startswith("en")
    choices: dict[str, list[tuple[str, str]]] = {
        "team": [(str(t.pk), t.name_en if english and t.name_en else t.name) for t in Team.objects.order_by("name")],
        "agent": [
            (str(u.pk), u.get_full_name() or u.username)
            for u in User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.MANAGER, Role.ADMIN]).order_by(
                "first_name", "username"
            )
        ],
        "topic": [
            (t.code, t.display_name(language) or t.code)
            for t in Topic.objects.filter(is_active=True).order_by("sort_order", "code")
        ],
        "product": [(str(p.pk), p.display_name(language)) for p in Product.objects.order_by("code")[:PRODUCT_LIMIT]],
    }
    for dimension, pairs in FIXED.items():
        choices[dimension] = [(str(code), str(label)) for code, label in pairs]
    dimension, value = current
    if dimension in choices and value and value not in dict(choices[dimension]):
        choices[dimension].append((value, value))  # e.g. a former agent's id taken from a link
    return choices


def _exists(dimension: str, value: str) -> bool:
    if dimension == "team":
        return value.isdigit() and Team.objects.filter(pk=int(value)).exists()
    if dimension == "agent":
        return value.isdigit() and User.objects.filter(pk=int(value)).exists()
    if dimension == "product":
        return value.isdigit() and Product.objects.filter(pk=int(value)).exists()
    if dimension == "topic":
        return Topic.objects.filter(code=value).exists()
    if dimension in FIXED:
        return value in {str(code) for code, _label in FIXED[dimension]}
    return True


def unknown_value_message(dimension: str, value: str) -> str:
    """Why a cut value names nothing ("" when it is fine). A value that has data is fine even if its team,
    topic or code has gone since (history stays reachable)."""
    if not dimension or not value or _exists(dimension, value):
        return ""
    if MetricDaily.objects.filter(dimension=dimension, value=value).exists():
        return ""
    return _("“%(value)s” is not a known value of “%(dimension)s”; choose one from the list.") % {
        "dimension": Dimension(dimension).label,
        "value": value,
    }
