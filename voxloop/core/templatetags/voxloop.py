import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """`{{ row|get_item:column }}` — a dict value by a key that is not a valid attribute name."""
    if isinstance(mapping, dict):
        value = mapping.get(key, "")
        return "" if value is None else value
    return ""


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


@register.filter
def mask_contact(value: Any, user: Any) -> Any:
    """Personal data shown only to roles that may see it (agents, managers, admins)."""
    if not isinstance(value, str) or not value or getattr(user, "may_see_personal_data", False):
        return value
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"{value[:3]}****{value[-2:]}" if len(value) > 6 else "****"
