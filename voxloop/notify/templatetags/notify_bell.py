"""The bell in the top bar (templates/base.html): one count query per page."""

from __future__ import annotations

from typing import Any

from django import template

from voxloop.notify.inbox import unread_count

register = template.Library()


@register.inclusion_tag("notify/_bell.html", takes_context=True)
def notification_bell(context: dict[str, Any]) -> dict[str, Any]:
    user = context.get("user")
    return {"unread": unread_count(user) if user is not None and user.is_authenticated else 0}
