"""The one masking rule for customers' personal data, used by every page, export and API response.

Roles without ``Capability.SEE_PERSONAL_DATA`` (analysts, viewers) see:

- contacts (phones, e-mails, handles, order-free identifiers): ``138****00``, ``l***@example.com``; values of
  six characters or fewer are hidden whole (``****``), since a few kept characters would be most of them;
- names: the first character and ``**`` (``张**``, ``L**``);
- free text (feedback, titles, replies, rows of a file): phones, e-mails, ID and bank cards, addresses (and
  whatever else ``voxloop_nlp.components.pii.mask_pii`` knows) replaced by placeholders such as ``[PHONE]``,
  plus the names and contacts known for the item wherever they occur in it;
- raw payloads and rows of imported files: values under keys that name a person or a contact masked as above,
  every other string masked as free text.

Whoever is shown data unmasked is recorded with ``voxloop.accounts.audit.record_access``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from voxloop.accounts.models import AuditAction, AuditLog
from voxloop.accounts.permissions import may_see_personal_data
from voxloop_nlp.components.normalize import to_half_width
from voxloop_nlp.components.pii import mask_pii

HIDDEN = "****"
SHORT = 6  # contacts this short are hidden whole

# Keys of payloads and file columns whose values are a person's name or contact (English and Chinese headers).
_NAME_KEY = re.compile(
    r"^(?:(?:full|first|last|given|family|real|nick|contact|customer|receiver|recipient|user)_?)?name$|^nick$"
    r"|^(?:contact|receiver|recipient)$|姓名|名字|联系人|客户名|昵称|收件人|收货人"
)
_CONTACT_KEY = re.compile(
    r"phone|mobile|tel(?:ephone)?\b|^tel|e-?mail|wechat|weixin|wx|qq|handle|address|addr|id_?card|passport"
    r"|手机|电话|邮箱|微信|地址|身份证|联系方式",
    re.IGNORECASE,
)
_ADDRESS_KEY = re.compile(r"address|addr|地址", re.IGNORECASE)
_FULL_WIDTH_DIGIT = re.compile("[\uff10-\uff19]")


def may_see(user: Any) -> bool:
    """Whether ``user`` is shown personal data unmasked (the policy's SEE_PERSONAL_DATA)."""
    return may_see_personal_data(user)


def mask_contact(value: Any) -> Any:
    """A phone, e-mail, handle or other identifier, masked. Non-strings and empty values are returned as they are."""
    if not isinstance(value, str) or not value:
        return value
    value = value.strip()
    if "@" in value:
        name, _at, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"{value[:3]}****{value[-2:]}" if len(value) > SHORT else HIDDEN


def mask_name(value: Any) -> Any:
    """A person's name: its first character and two stars, whatever its length (so the length is not told)."""
    if not isinstance(value, str) or not value.strip():
        return value
    return f"{value.strip()[:1]}**"


def mask_text(text: Any, known: Iterable[Any] = ()) -> Any:
    """Free text with personal data replaced by placeholders; ``known`` names and contacts of the item (its
    customer's name, phone, e-mail) are replaced wherever they occur, so a name the patterns miss is hidden too."""
    if not isinstance(text, str) or not text:
        return text
    for value in sorted({str(v).strip() for v in known if v and len(str(v).strip()) >= 2}, key=len, reverse=True):
        text = text.replace(value, "[NAME]" if not any(ch.isdigit() or ch == "@" for ch in value) else "[CONTACT]")
    if _FULL_WIDTH_DIGIT.search(text):  # "１３８…" is a phone number too
        text = to_half_width(text)
    return mask_pii(text)


def _mask_value(key: str, value: Any, known: Iterable[Any]) -> Any:
    if isinstance(value, dict | list):
        return mask_payload(value, known)
    if not isinstance(value, str):
        return value
    if _NAME_KEY.search(key):
        return mask_name(value)
    if _ADDRESS_KEY.search(key):  # a few kept characters of an address still place the person
        return "[ADDRESS]" if value.strip() else value
    if _CONTACT_KEY.search(key):
        return mask_contact(value)
    return mask_text(value, known)


def mask_payload(payload: Any, known: Iterable[Any] = ()) -> Any:
    """A raw payload or a row of a file (dicts, lists, strings), with every personal value masked."""
    known = list(known)
    if isinstance(payload, dict):
        return {k: _mask_value(str(k).lower(), v, known) for k, v in payload.items()}
    if isinstance(payload, list):
        return [mask_payload(v, known) for v in payload]
    if isinstance(payload, str):
        return mask_text(payload, known)
    return payload


def holds_personal_data(*values: Any) -> bool:
    """Whether masking would change any of ``values`` (texts, payloads): then showing them unmasked is audited."""
    return any(mask_payload(v) != v for v in values if v)


# --- the same, for a viewer: unmasked for roles with the right ---------------------------------------------


def contact_for(value: Any, user: Any) -> Any:
    return value if may_see(user) else mask_contact(value)


def name_for(value: Any, user: Any) -> Any:
    return value if may_see(user) else mask_name(value)


def text_for(text: Any, user: Any, known: Iterable[Any] = ()) -> Any:
    return text if may_see(user) else mask_text(text, known)


def payload_for(payload: Any, user: Any, known: Iterable[Any] = ()) -> Any:
    return payload if may_see(user) else mask_payload(payload, known)


def known_values(*objects: Any) -> list[str]:
    """The names and contacts held on feedback items or customers, for ``mask_text``'s ``known``."""
    found: list[str] = []
    for obj in objects:
        if obj is None:
            continue
        for attr in ("name", "phone", "email", "contact_name", "contact_phone", "contact_email"):
            value = getattr(obj, attr, "")
            if isinstance(value, str) and value.strip():
                found.append(value.strip())
        handles = getattr(obj, "handles", None)
        if isinstance(handles, dict):
            found += [str(v) for v in handles.values() if v]
        customer = getattr(obj, "customer", None) if getattr(obj, "customer_id", None) else None
        if customer is not None and customer is not obj:
            found += known_values(customer)
    return found


# --- the audit of lists shown unmasked ------------------------------------------------------------------------


def record_shown(
    user: Any,
    model: type[models.Model],
    rows: Iterable[tuple[Any, int | None]],
    *,
    action: str = AuditAction.VIEW_PERSONAL_DATA,
    request: HttpRequest | None = None,
    username: str = "",
    unmasked: bool | None = None,
) -> int:
    """One audit entry per (object id, customer id) that a list page, export or API response showed unmasked,
    written in bulk (``record_access`` writes one). A view by a role that is shown masked data leaves none; an
    export is always recorded. ``user`` None with a ``username``: an API token that acts for no user. ``unmasked``
    says so where the page decided by more than the role (the uploader of a file sees its rows)."""
    if user is None and not username:
        return 0
    shown_unmasked = may_see(user) if unmasked is None else unmasked
    if user is not None and action == AuditAction.VIEW_PERSONAL_DATA and not shown_unmasked:
        return 0
    path = request.get_full_path()[:500] if request is not None else ""
    ip = (request.META.get("REMOTE_ADDR") or None) if request is not None else None
    entries = [
        AuditLog(
            user=user,
            username=(user.get_username() if user is not None else username)[:150],
            action=action,
            object_type=model._meta.label_lower,
            object_id=str(pk),
            customer_id=customer_id,
            path=path,
            ip_address=ip,
        )
        for pk, customer_id in dict.fromkeys(rows)
    ]
    AuditLog.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
