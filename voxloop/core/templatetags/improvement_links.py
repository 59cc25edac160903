"""``{% create_action_url origin topics=... %}``: the prefilled "create action" link (voxloop.core.annotations),
for templates of apps below the actions app."""

from __future__ import annotations

from typing import Any

from django import template

from voxloop.core.annotations import create_action_link

register = template.Library()


def _listed(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, list | tuple | set):
        return [str(v) for v in value if str(v)]
    return [v.strip() for v in str(value).split(",") if v.strip()]


@register.simple_tag
def create_action_url(
    origin: str,
    topics: Any = "",
    products: Any = "",
    channels: Any = "",
    segment: Any = "",
    title: Any = "",
    ref: Any = "",
) -> str:
    return create_action_link(origin, title=str(title or ""), topics=_listed(topics), products=_listed(products),
                              channels=_listed(channels), segment=str(segment or ""), ref=str(ref or ""))  # fmt: skip
