import json
from typing import Any

from django import template

from voxloop.accounts import privacy

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """`{{ row|get_item:column }}` — a dict value by a key that is not a valid attribute name."""
    if isinstance(mapping, dict):
        value = mapping.get(key, "")
        return "" if value is None else value
    return ""


@register.filter
def items_of(mapping: Any) -> list[tuple[Any, Any]]:
    """`{% for k, v in row|mask_payload:user|items_of %}`: a dict's pairs, for a dict made by a filter."""
    return list(mapping.items()) if isinstance(mapping, dict) else []


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True, default=str)


# Masking for roles that may not see personal data; the rule itself is voxloop.accounts.privacy.
@register.filter
def mask_contact(value: Any, user: Any) -> Any:
    """A phone, e-mail or handle: `{{ customer.phone|mask_contact:user }}`."""
    return privacy.contact_for(value, user)


@register.filter
def mask_name(value: Any, user: Any) -> Any:
    """A person's name: `{{ customer.name|mask_name:user }}`."""
    return privacy.name_for(value, user)


@register.filter
def mask_text(value: Any, user: Any) -> Any:
    """Free text with phones, e-mails, addresses... replaced: `{{ reply.text|mask_text:user }}`."""
    return privacy.text_for(value, user)


@register.filter
def mask_payload(value: Any, user: Any) -> Any:
    """A raw payload or an imported row, every personal value masked: `{{ q.raw|mask_payload:user }}`."""
    return privacy.payload_for(value, user)


@register.filter
def feedback_text(item: Any, user: Any) -> Any:
    """A feedback item's text, masked with the item's own names and contacts: `{{ item|feedback_text:user }}`."""
    return privacy.text_for(getattr(item, "text", ""), user, _known(item, user))


@register.filter
def feedback_title(item: Any, user: Any) -> Any:
    return privacy.text_for(getattr(item, "title", ""), user, _known(item, user))


@register.filter
def feedback_payload(item: Any, user: Any) -> Any:
    return privacy.payload_for(getattr(item, "raw_payload", None), user, _known(item, user))


@register.filter
def case_title(case: Any, user: Any) -> Any:
    """A case's title (often the feedback's first words), masked with its customer's names and contacts."""
    return privacy.text_for(getattr(case, "title", ""), user, _known(case, user))


def _known(item: Any, user: Any) -> list[str]:
    return [] if privacy.may_see(user) else privacy.known_values(item)
