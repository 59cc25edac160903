"""The bell in the top bar (templates/base.html).

The page renders it empty and htmx fetches the count at once and every 30 s after: the count costs the page no
query (pages keep their query budgets) and stays fresh without a reload."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("notify/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    return {"unread": 0, "first_load": True}
