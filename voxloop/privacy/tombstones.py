"""Erasure tombstones: salted hashes of an erased person's identifiers, checked on every ingest so a re-import, a
retried API call or a forwarded email cannot bring them back.

An incoming item that matches is still stored (nothing a customer sent is lost, and import counts still add up),
but de-identified the way the erasure left the person's other items: no customer, no contacts, no payload or
attachments, the text masked with their own identifiers replaced.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction

from voxloop.feedback.bulk import read_fragment
from voxloop.feedback.normalize import RowError, clean_email, clean_phone
from voxloop.privacy.models import ErasureTombstone, TombstoneKey
from voxloop_nlp.components.pii import mask_pii

IDENTIFIER_KINDS = ("customer_id", "phone", "email", "handle", "order")
ERASED_MARK = "[erased]"  # what replaces a person's own identifiers in text


def _key() -> bytes:
    row = TombstoneKey.objects.order_by("id").first()
    if row is None:
        with transaction.atomic():
            row = TombstoneKey.objects.select_for_update().order_by("id").first() or TombstoneKey.objects.create(
                key=secrets.token_hex(32)
            )
    return bytes.fromhex(row.key)


def normalise(kind: str, value: Any) -> str:
    """An identifier the way it is stored and compared (phones as digits, emails lower-case)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    try:
        if kind == "phone":
            return clean_phone(text)
        if kind == "email":
            return clean_email(text).lower()
    except RowError:
        return text.lower() if kind == "email" else text
    return text


def digest(kind: str, value: str, key: bytes) -> str:
    # Keyed BLAKE2b is a MAC: without the key a digest cannot be tested against guessed phone numbers.
    return hashlib.blake2b(f"{kind}\x1f{value}".encode(), key=key, digest_size=32).hexdigest()


def digests_for(identifiers: Mapping[str, Iterable[str]], key: bytes | None = None) -> dict[str, str]:
    """{digest: kind} for every non-empty identifier value."""
    key = key or _key()
    out: dict[str, str] = {}
    for kind, values in identifiers.items():
        for value in values:
            clean = normalise(kind, value)
            if clean:
                out[digest(kind, clean, key)] = kind
    return out


def bury(identifiers: Mapping[str, Iterable[str]], request_id: int | None) -> int:
    """Store the tombstones of an erased person; returns how many identifiers were buried (new or known)."""
    found = digests_for(identifiers)
    ErasureTombstone.objects.bulk_create(
        [ErasureTombstone(digest=d, kind=kind, request_id=request_id) for d, kind in found.items()],
        ignore_conflicts=True,
    )
    return len(found)


def is_buried(kind: str, value: str) -> bool:
    clean = normalise(kind, value)
    return bool(clean) and ErasureTombstone.objects.filter(digest=digest(kind, clean, _key())).exists()


def _replaceable(value: str) -> bool:
    # Chinese names are often two characters; a Latin value that short would replace parts of ordinary words.
    return bool(value) and len(value) >= (2 if not value.isascii() else 3)


def scrub_text(text: str, values: Iterable[str]) -> str:
    """The text with PII masked and each of the person's own identifiers replaced (longest first, so an email
    is replaced whole before a shorter value inside it)."""
    if not text:
        return text
    for value in sorted({v for v in values if _replaceable(v)}, key=len, reverse=True):
        text = text.replace(value, ERASED_MARK)
    return mask_pii(text)


def _item_identifiers(item: Any) -> dict[str, list[str]]:
    handle = item.handles.get("handle", "") if item.handles else ""
    return {
        "customer_id": [item.customer_id],
        "phone": [item.phone],
        "email": [item.email],
        "handle": [handle],
        "order": [item.order_ref],
    }


def screen_erased_subjects(inputs: Sequence[Any]) -> None:
    """The ingest screen (voxloop.feedback.hooks): de-identify, in place, the items of an erased person."""
    if not ErasureTombstone.objects.exists():
        return  # the usual case: one cheap query per chunk, no hashing
    key = _key()
    per_item = [digests_for(_item_identifiers(item), key) for item in inputs]
    wanted = set().union(*per_item)
    if not wanted:
        return
    buried = set(ErasureTombstone.objects.filter(digest__in=wanted).values_list("digest", flat=True))
    for item, digests in zip(inputs, per_item, strict=True):
        if buried.intersection(digests):
            _deidentify(item)


def screen_erased_records(kind: str, items: Sequence[Any]) -> None:
    """The record screen (voxloop.feedback.hooks) for customer and order imports: an erased person's row keeps
    no identifier, so it cannot recreate their customer record (it becomes an empty, opted-out one; an order
    stays an order, for the accounts, without its customer's identity or raw payload)."""
    if not items or not ErasureTombstone.objects.exists():
        return
    key = _key()
    for item in items:
        identifiers = {
            "customer_id": [item.customer_id],
            "phone": [item.phone],
            "email": [item.email],
            "handle": [getattr(item, "handle", "")],
        }
        found = digests_for(identifiers, key)
        if not found or not ErasureTombstone.objects.filter(digest__in=found).exists():
            continue
        item.customer_id = item.phone = item.email = ""
        item.raw_payload = {}
        if kind == "customers":
            item.name = item.handle = item.segment = ""
            item.tags = []
            item.opted_out = True
        else:
            item.customer_name = ""


def _deidentify(item: Any) -> None:
    if item.copy_fragment is not None:
        # Formatted ahead of time: the text lives in the fragment only; read it back and let ingest format anew.
        values = read_fragment(item.copy_fragment)
        item.text, item.title = values["text"], values["title"]
        item.received_at, item.rating, item.rating_scale = (
            values["received_at"],
            values["rating"],
            values["rating_scale"],
        )
        item.thread_key = values["thread_key"]
    own = [
        item.customer_id, item.customer_name, item.phone, item.email, item.order_ref,
        *(item.handles or {}).values(),
    ]  # fmt: skip
    item.text = scrub_text(item.text, own) or ERASED_MARK
    item.title = scrub_text(item.title, own)
    item.customer_id = item.customer_name = item.phone = item.email = item.order_ref = item.thread_key = ""
    item.handles = {}
    item.attachments = []
    item.raw_payload = {}
    item.raw_payload_json = None
    item.copy_fragment = None
