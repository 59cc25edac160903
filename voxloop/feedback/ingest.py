"""The one write path for feedback: every channel (API, form, file, email, staff) ends here.

`prepare_feedback` turns a loose mapping into a validated `FeedbackInput` (or raises RowError);
`ingest_feedback` stores a batch of them, idempotently on (source, external_id).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from voxloop.feedback.bulk import insert_feedback
from voxloop.feedback.models import Channel, Customer, Feedback, ImportBatch, Order, Product
from voxloop.feedback.normalize import (
    RowError,
    clean_email,
    clean_phone,
    clean_text,
    parse_datetime,
    parse_rating,
)

CHANNELS = frozenset(Channel.values)

# The fields a channel may give us; anything else is kept in raw_payload.
FEEDBACK_FIELDS = (
    "text", "title", "channel", "received_at", "external_id", "source", "rating", "rating_scale",
    "customer_id", "customer_name", "email", "phone", "handle", "product", "product_name",
    "order_ref", "attachments", "thread_key", "language",
)  # fmt: skip


@dataclass
class FeedbackInput:
    text: str
    channel: str
    received_at: datetime
    source: str
    external_id: str
    title: str = ""
    rating: Decimal | None = None
    rating_scale: int | None = None
    customer_id: str = ""
    customer_name: str = ""
    email: str = ""
    phone: str = ""
    handles: dict[str, str] = field(default_factory=dict)
    product: str = ""
    product_name: str = ""
    order_ref: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    thread_key: str = ""
    raw_payload: dict[str, Any] = field(default_factory=dict)
    created_by_id: int | None = None


@dataclass
class IngestResult:
    created: list[int] = field(default_factory=list)  # ids of new Feedback rows, in input order
    duplicates: list[int] = field(default_factory=list)  # input positions already stored
    existing_ids: dict[int, int] = field(default_factory=dict)  # input position -> the stored Feedback id


def content_external_id(channel: str, received_at: datetime, text: str, contact: str) -> str:
    """An external id for records that bring none: the same feedback imported twice is one record."""
    digest = hashlib.sha256(f"{channel}\x1f{received_at.isoformat()}\x1f{contact}\x1f{text}".encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def prepare_feedback(
    data: Mapping[str, Any],
    *,
    channel: str | None = None,
    source: str = "",
    default_tz: str | None = None,
    now: datetime | None = None,
    raw_payload: Mapping[str, Any] | None = None,
    generate_external_id: str = "content",
) -> FeedbackInput:
    """Validate one incoming record. Raises RowError naming the field on the first problem.

    generate_external_id: what to do when the record has none — "content" derives one from its
    content (re-imports do not duplicate), "random" makes a fresh one (web form, staff entry)."""
    tz = default_tz or settings.TIME_ZONE
    chan = str(data.get("channel") or channel or "").strip().lower()
    if chan not in CHANNELS:
        raise RowError(
            "invalid_channel", f"Unknown channel '{chan}'. Use one of: {', '.join(Channel.values)}.", "channel"
        )
    text = clean_text(data.get("text"), max_chars=settings.FEEDBACK_TEXT_MAX_CHARS)
    title = clean_text(data.get("title"), max_chars=500, field="title", required=False)
    received_raw = data.get("received_at")
    if received_raw in (None, ""):
        received_at = now or timezone.now()
    else:
        received_at = parse_datetime(received_raw, default_tz=tz)
    if received_at > (now or timezone.now()) + timezone.timedelta(days=1):
        raise RowError("date_in_future", f"The date {received_at.isoformat()} is in the future.", "received_at")
    rating = parse_rating(data.get("rating"))
    scale = data.get("rating_scale")
    try:
        rating_scale = int(scale) if scale not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise RowError("invalid_rating_scale", f"'{scale}' is not a rating scale.", "rating_scale") from exc
    if rating_scale is not None and not 1 <= rating_scale <= 1000:
        raise RowError(
            "invalid_rating_scale", f"The rating scale {rating_scale} is out of range (1-1000).", "rating_scale"
        )
    if rating is not None and rating_scale is None:
        rating_scale = 5 if rating <= 5 else 10 if rating <= 10 else 100
    if rating is not None and rating_scale is not None and rating > rating_scale:
        raise RowError("invalid_rating", f"The rating {rating} is above its scale {rating_scale}.", "rating")
    email = clean_email(data.get("email"))
    phone = clean_phone(data.get("phone"))
    handle = str(data.get("handle") or "").strip()[:200]
    customer_id = str(data.get("customer_id") or "").strip()[:100]
    src = str(data.get("source") or source or chan).strip()[:100]
    external_id = str(data.get("external_id") or "").strip()
    if len(external_id) > 200:
        raise RowError("invalid_external_id", "The external id is longer than 200 characters.", "external_id")
    if not external_id:
        if generate_external_id == "random":
            external_id = f"uuid:{uuid.uuid4()}"
        else:
            contact = customer_id or email or phone or handle
            external_id = content_external_id(chan, received_at, text, contact)
    attachments = data.get("attachments") or []
    if not isinstance(attachments, list):
        attachments = [attachments]
    attachments = [a if isinstance(a, dict) else {"url": str(a)} for a in attachments]
    return FeedbackInput(
        text=text,
        title=title,
        channel=chan,
        received_at=received_at,
        source=src,
        external_id=external_id,
        rating=rating,
        rating_scale=rating_scale,
        customer_id=customer_id,
        customer_name=str(data.get("customer_name") or "").strip()[:200],
        email=email,
        phone=phone,
        handles={"handle": handle} if handle else {},
        product=str(data.get("product") or "").strip()[:100],
        product_name=str(data.get("product_name") or "").strip()[:200],
        order_ref=str(data.get("order_ref") or "").strip()[:100],
        attachments=attachments,
        thread_key=str(data.get("thread_key") or "").strip()[:200],
        raw_payload=dict(raw_payload if raw_payload is not None else data),
    )


def _resolve_customers(inputs: Sequence[FeedbackInput]) -> dict[int, Customer | None]:
    """Find each input's customer by customer id, then phone, then email; create the missing ones."""
    ids = {i.customer_id for i in inputs if i.customer_id}
    phones = {i.phone for i in inputs if i.phone}
    emails = {i.email for i in inputs if i.email}
    by_id = {c.external_id: c for c in Customer.objects.filter(external_id__in=ids)} if ids else {}
    by_phone = {c.phone: c for c in Customer.objects.filter(phone__in=phones)} if phones else {}
    by_email = {c.email: c for c in Customer.objects.filter(email__in=emails)} if emails else {}
    handles = {i.handles["handle"] for i in inputs if i.handles.get("handle")}
    by_handle = (
        {c.handles.get("handle"): c for c in Customer.objects.filter(handles__handle__in=handles)} if handles else {}
    )
    resolved: dict[int, Customer | None] = {}
    pending: dict[tuple[str, str, str, str], Customer] = {}  # new customers, created together below

    def lookup(item: FeedbackInput) -> Customer | None:
        return (
            (by_id.get(item.customer_id) if item.customer_id else None)
            or (by_phone.get(item.phone) if item.phone else None)
            or (by_email.get(item.email) if item.email else None)
            or (by_handle.get(item.handles.get("handle")) if item.handles else None)
        )

    for pos, item in enumerate(inputs):
        customer = lookup(item)
        if customer is None and (item.customer_id or item.phone or item.email or item.handles):
            customer = Customer(
                external_id=item.customer_id,
                name=item.customer_name,
                phone=item.phone,
                email=item.email,
                handles=item.handles,
            )
            pending[(item.customer_id, item.phone, item.email, item.handles.get("handle", ""))] = customer
            if item.customer_id:
                by_id[item.customer_id] = customer
            if item.phone:
                by_phone[item.phone] = customer
            if item.email:
                by_email[item.email] = customer
            if item.handles.get("handle"):
                by_handle[item.handles["handle"]] = customer
        resolved[pos] = customer
    if pending:
        Customer.objects.bulk_create(list(pending.values()), batch_size=500)
    return resolved


def _resolve_products(inputs: Sequence[FeedbackInput]) -> dict[str, Product]:
    codes = {i.product or i.product_name for i in inputs if i.product or i.product_name}
    if not codes:
        return {}
    products = {p.code: p for p in Product.objects.filter(code__in=codes)}
    for item in inputs:
        code = item.product or item.product_name
        if code and code not in products:
            products[code] = Product.objects.create(code=code, name=item.product_name or code)
    return products


def ingest_feedback(
    inputs: Sequence[FeedbackInput],
    *,
    batch: ImportBatch | None = None,
    created_by_id: int | None = None,
) -> IngestResult:
    """Store validated feedback. Items whose (source, external_id) is already stored, or repeats an
    earlier item of the same call, are reported as duplicates and not stored again."""
    result = IngestResult()
    if not inputs:
        return result
    keys = [(i.source, i.external_id) for i in inputs]
    with transaction.atomic():
        existing: dict[tuple[str, str], int] = {}
        for source in {k[0] for k in keys}:
            wanted = [k[1] for k in keys if k[0] == source]
            for start in range(0, len(wanted), 500):
                for pk, ext in Feedback.objects.filter(
                    source=source, external_id__in=wanted[start : start + 500]
                ).values_list("pk", "external_id"):
                    existing[(source, ext)] = pk
        fresh_positions: list[int] = []
        seen: set[tuple[str, str]] = set()
        for pos, key in enumerate(keys):
            if key in existing or key in seen:
                result.duplicates.append(pos)
                if key in existing:
                    result.existing_ids[pos] = existing[key]
            else:
                seen.add(key)
                fresh_positions.append(pos)
        fresh = [inputs[p] for p in fresh_positions]
        customers = _resolve_customers(fresh)
        products = _resolve_products(fresh)
        orders = {
            o.external_id: o for o in Order.objects.filter(external_id__in={i.order_ref for i in fresh if i.order_ref})
        }
        rows = []
        for n, item in enumerate(fresh):
            customer = customers.get(n)
            order = orders.get(item.order_ref)
            product = products.get(item.product or item.product_name)
            rows.append(
                {
                    "channel": item.channel,
                    "source": item.source,
                    "external_id": item.external_id,
                    "customer_id": customer.pk if customer else None,
                    "contact_name": item.customer_name,
                    "contact_email": item.email,
                    "contact_phone": item.phone,
                    "received_at": item.received_at,
                    "title": item.title,
                    "text": item.text,
                    "rating": item.rating,
                    "rating_scale": item.rating_scale,
                    "product_id": product.pk if product else None,
                    "order_ref": item.order_ref,
                    "order_id": order.pk if order else None,
                    "raw_payload": item.raw_payload,
                    "attachments": item.attachments,
                    "batch_id": batch.pk if batch else None,
                    "thread_key": item.thread_key,
                    "created_by_id": item.created_by_id or created_by_id,
                }
            )
        inserted = insert_feedback(rows)
        # A row another process stored between our duplicate check and the insert counts as a duplicate.
        for pos, row in zip(fresh_positions, rows, strict=True):
            pk = inserted.get((row["source"], row["external_id"]))
            if pk is None:
                result.duplicates.append(pos)
            else:
                result.created.append(pk)
        result.duplicates.sort()
        if result.created:
            ids = list(result.created)
            transaction.on_commit(lambda: _after_ingest(ids))
    return result


def _after_ingest(feedback_ids: list[int]) -> None:
    """Queue analysis of what was just stored (the analysis bridge subscribes here)."""
    from voxloop.analysis.dispatch import queue_analysis

    queue_analysis(feedback_ids)
