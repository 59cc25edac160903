"""The one write path for feedback: every channel (API, form, file, email, staff) ends here.

`prepare_feedback` turns a loose mapping into a validated `FeedbackInput` (or raises RowError);
`ingest_feedback` stores a batch of them, idempotently on (source, external_id).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext_noop

from voxloop.feedback.bulk import (
    FRAGMENT,
    DuplicateFeedback,
    JsonText,
    copy_fragment,
    customer_ids_by,
    existing_feedback,
    insert_customers,
    insert_feedback,
    json_text,
)
from voxloop.feedback.hooks import feedback_stored, feedback_storing, screen_feedback
from voxloop.feedback.models import Channel, ImportBatch, Order, Product
from voxloop.feedback.normalize import (
    RowError,
    clean_email,
    clean_phone,
    clean_text,
    parse_datetime,
    parse_rating,
)

CHANNELS = frozenset(Channel.values)
# received_at of an input that crossed a process boundary preformatted (its fragment holds the real one).
_FRAGMENT_ONLY = datetime.min.replace(tzinfo=UTC)
_ONE_DAY = timedelta(days=1)


# Called with the ids of newly stored feedback once their transaction has committed.


def _optional(data: Mapping[str, Any], key: str, limit: int) -> str:
    """A trimmed optional string field; "" when absent. Most of a row's fields are absent: no str() for those."""
    value = data.get(key)
    if not value:
        return ""
    return (value if value.__class__ is str else str(value)).strip()[:limit]


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
    # Storage formats computed ahead of time by bulk callers (see `preformat`), or None.
    raw_payload_json: JsonText | None = field(default=None, repr=False, compare=False)
    copy_fragment: str | None = field(default=None, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # An input sent from an import's reader process (fileimport/preparer.py) once `preformat` gave it its
        # COPY fragment: only what the writer still reads travels (1 µs a row each way instead of ~25), since
        # the fragment already holds everything else. Without a fragment the whole input travels.
        if self.copy_fragment is None:
            return _unpickle_input, (self.__dict__,)
        return _unpickle_preformatted, (
            self.channel, self.source, self.external_id, self.customer_id, self.customer_name, self.email,
            self.phone, self.handles, self.product, self.product_name, self.order_ref, self.created_by_id,
            self.copy_fragment,
        )  # fmt: skip


def _unpickle_input(values: dict[str, Any]) -> FeedbackInput:
    item = FeedbackInput.__new__(FeedbackInput)
    item.__dict__.update(values)
    return item


def _unpickle_preformatted(
    channel: str, source: str, external_id: str, customer_id: str, customer_name: str, email: str, phone: str,
    handles: dict[str, str], product: str, product_name: str, order_ref: str, created_by_id: int | None,
    copy_fragment: str,
) -> FeedbackInput:  # fmt: skip
    # The fields the fragment holds (text, dates, rating, payload...) are left empty: the writer never reads
    # them from a preformatted input.
    return FeedbackInput(
        text="", channel=channel, received_at=_FRAGMENT_ONLY, source=source, external_id=external_id,
        customer_id=customer_id, customer_name=customer_name, email=email, phone=phone, handles=handles,
        product=product, product_name=product_name, order_ref=order_ref, created_by_id=created_by_id,
        copy_fragment=copy_fragment,
    )  # fmt: skip


@dataclass
class IngestResult:
    created: list[int] = field(default_factory=list)  # ids of new Feedback rows, in input order
    duplicates: list[int] = field(default_factory=list)  # input positions already stored
    existing_ids: dict[int, int] = field(default_factory=dict)  # input position -> the stored Feedback id


def content_external_id(channel: str, received_at: datetime, text: str, contact: str) -> str:
    """An external id for records that bring none: the same feedback imported twice is one record."""
    digest = hashlib.sha256(f"{channel}\x1f{received_at.isoformat()}\x1f{contact}\x1f{text}".encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def derived_external_id(item: FeedbackInput, moment: datetime) -> str:
    """The content id of a prepared item as if it had been received at `moment` (see `content_external_id`)."""
    contact = item.customer_id or item.email or item.phone or item.handles.get("handle", "")
    return content_external_id(item.channel, moment, item.text, contact)


def prepare_feedback(
    data: Mapping[str, Any],
    *,
    channel: str | None = None,
    source: str = "",
    default_tz: str | None = None,
    now: datetime | None = None,
    raw_payload: Mapping[str, Any] | None = None,
    generate_external_id: str = "content",
    text_max_chars: int | None = None,
) -> FeedbackInput:
    """Validate one incoming record. Raises RowError naming the field on the first problem.

    generate_external_id: what to do when the record has none — "content" derives one from its
    content (re-imports do not duplicate), "random" makes a fresh one (web form, staff entry).
    text_max_chars: FEEDBACK_TEXT_MAX_CHARS, read once per chunk by bulk callers (settings are slow to read
    row by row)."""
    tz = default_tz or settings.TIME_ZONE
    chan = str(data.get("channel") or channel or "").strip().lower()
    if chan not in CHANNELS:
        raise RowError(
            "invalid_channel",
            gettext_noop("Unknown channel '%(value)s'. Use one of: %(choices)s."),
            "channel",
            value=chan,
            choices=", ".join(Channel.values),
        )
    text = clean_text(data.get("text"), max_chars=text_max_chars or settings.FEEDBACK_TEXT_MAX_CHARS)
    title = data.get("title")
    title = "" if title in (None, "") else clean_text(title, max_chars=500, field="title", required=False)
    # datetime.now(UTC) is timezone.now() under USE_TZ (always on here) without a settings read per row.
    current = now or datetime.now(UTC)
    received_raw = data.get("received_at")
    if received_raw in (None, ""):
        received_at = current
    else:
        received_at = parse_datetime(received_raw, default_tz=tz)
    if received_at > current + _ONE_DAY:
        raise RowError(
            "date_in_future",
            gettext_noop("The date %(date)s is in the future."),
            "received_at",
            date=received_at.isoformat(),
        )
    rating = parse_rating(data.get("rating"))
    scale = data.get("rating_scale")
    try:
        rating_scale = int(scale) if scale not in (None, "") else None
    except (TypeError, ValueError) as exc:
        raise RowError(
            "invalid_rating_scale", gettext_noop("'%(value)s' is not a rating scale."), "rating_scale", value=scale
        ) from exc
    if rating_scale is not None and not 1 <= rating_scale <= 1000:
        raise RowError(
            "invalid_rating_scale",
            gettext_noop("The rating scale %(value)s is out of range (1-1000)."),
            "rating_scale",
            value=rating_scale,
        )
    if rating is not None and rating_scale is None:
        rating_scale = 5 if rating <= 5 else 10 if rating <= 10 else 100
    if rating is not None and rating_scale is not None and rating > rating_scale:
        raise RowError(
            "invalid_rating",
            gettext_noop("The rating %(value)s is above its scale %(scale)s."),
            "rating",
            value=str(rating),
            scale=rating_scale,
        )
    email = clean_email(data.get("email"))
    phone = clean_phone(data.get("phone"))
    handle = _optional(data, "handle", 200)
    customer_id = _optional(data, "customer_id", 100)
    src = str(data.get("source") or source or chan).strip()[:100]
    external_id = str(data.get("external_id") or "").strip()
    if len(external_id) > 200:
        raise RowError(
            "invalid_external_id", gettext_noop("The external id is longer than 200 characters."), "external_id"
        )
    if not external_id:
        if generate_external_id == "random":
            external_id = f"uuid:{uuid.uuid4()}"
        else:
            contact = customer_id or email or phone or handle
            external_id = content_external_id(chan, received_at, text, contact)
    attachments = data.get("attachments") or []
    if attachments:
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
        customer_name=_optional(data, "customer_name", 200),
        email=email,
        phone=phone,
        handles={"handle": handle} if handle else {},
        product=_optional(data, "product", 100),
        product_name=_optional(data, "product_name", 200),
        order_ref=_optional(data, "order_ref", 100),
        attachments=attachments,
        thread_key=_optional(data, "thread_key", 200),
        raw_payload=dict(raw_payload if raw_payload is not None else data),
    )


def _input_values(item: FeedbackInput) -> dict[str, Any]:
    """The stored columns that come from the record alone (bulk.FRAGMENT_COLUMNS)."""
    return {
        "channel": item.channel,
        "source": item.source,
        "external_id": item.external_id,
        "contact_name": item.customer_name,
        "contact_email": item.email,
        "contact_phone": item.phone,
        "received_at": item.received_at,
        "title": item.title,
        "text": item.text,
        "rating": item.rating,
        "rating_scale": item.rating_scale,
        "order_ref": item.order_ref,
        "raw_payload": item.raw_payload if item.raw_payload_json is None else item.raw_payload_json,
        "attachments": item.attachments,
        "thread_key": item.thread_key,
    }


_NO_ATTACHMENTS = json_text([])


def preformat(item: FeedbackInput, vendor: str) -> None:
    """Do the storage formatting `ingest_feedback` would do, ahead of time: a bulk caller runs this in a
    thread or process of its own (fileimport's read-ahead) so that the writer, which waits on the database,
    has less to do."""
    payload = item.raw_payload_json = json_text(item.raw_payload)
    if vendor == "postgresql":
        # bulk.FRAGMENT_TEXT_COLUMNS, in its order; the same values as _input_values.
        texts = (
            item.channel, item.source, item.external_id, item.customer_name, item.email, item.phone, item.title,
            item.text, item.order_ref, item.thread_key, payload,
            json_text(item.attachments) if item.attachments else _NO_ATTACHMENTS,
        )  # fmt: skip
        item.copy_fragment = copy_fragment(texts, item.received_at, item.rating, item.rating_scale)


def _resolve_customers(inputs: Sequence[FeedbackInput]) -> dict[int, int | None]:
    """Find each input's customer id by customer id, then phone, then email, then handle; create the missing
    ones. One lookup per kind of key for the whole chunk (set-based), one bulk insert for the new ones."""
    by_id = customer_ids_by("external_id", {i.customer_id for i in inputs if i.customer_id})
    by_phone = customer_ids_by("phone", {i.phone for i in inputs if i.phone})
    by_email = customer_ids_by("email", {i.email for i in inputs if i.email})
    by_handle = customer_ids_by("handle", {i.handles["handle"] for i in inputs if i.handles.get("handle")})
    # New customers, created together below: -1 - n stands for the n-th new one until it has an id.
    new_rows: list[dict[str, Any]] = []
    resolved: dict[int, int | None] = {}
    for pos, item in enumerate(inputs):
        handle = item.handles.get("handle", "") if item.handles else ""
        customer = (
            (by_id.get(item.customer_id) if item.customer_id else None)
            or (by_phone.get(item.phone) if item.phone else None)
            or (by_email.get(item.email) if item.email else None)
            or (by_handle.get(handle) if handle else None)
        )
        if customer is None and (item.customer_id or item.phone or item.email or handle):
            customer = -1 - len(new_rows)
            new_rows.append({"external_id": item.customer_id, "name": item.customer_name, "phone": item.phone,
                             "email": item.email, "handles": item.handles})  # fmt: skip
            if item.customer_id:
                by_id[item.customer_id] = customer
            if item.phone:
                by_phone[item.phone] = customer
            if item.email:
                by_email[item.email] = customer
            if handle:
                by_handle[handle] = customer
        resolved[pos] = customer
    if new_rows:
        new_ids = insert_customers(new_rows)
        for pos, customer in resolved.items():
            if customer is not None and customer < 0:
                resolved[pos] = new_ids[-1 - customer]
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
    expect_new: bool = False,
) -> IngestResult:
    """Store validated feedback. Items whose (source, external_id) is already stored, or repeats an
    earlier item of the same call, are reported as duplicates and not stored again.

    expect_new: the caller expects none of the items to be stored yet (a file import whose previous chunk
    had no duplicates). On PostgreSQL they are then written without looking their keys up first; the
    unique constraint still refuses a stored one, and the whole call is then undone and redone the usual
    way. Measured: the lookup was about a tenth of the writer's time on a fresh import."""
    result = IngestResult()
    if not inputs:
        return result
    screen_feedback(inputs)  # e.g. an erased person's items are de-identified (voxloop.privacy)
    keys = [(i.source, i.external_id) for i in inputs]
    with transaction.atomic():
        stored = False
        if expect_new and connection.vendor == "postgresql" and len(set(keys)) == len(keys):
            try:
                with transaction.atomic():  # a savepoint: customers created for nothing go too
                    inserted = _store_fresh(inputs, batch, created_by_id, on_duplicate="raise")
                result.created = [inserted[key] for key in keys]
                stored = True
            except DuplicateFeedback:
                pass  # some were stored already: the usual way below sorts them out
        if not stored:
            _store_checked(inputs, keys, batch, created_by_id, result)
        if result.created:
            ids = list(result.created)
            feedback_storing.announce(ids)
            transaction.on_commit(lambda: _after_ingest(ids))
    return result


def _store_checked(
    inputs: Sequence[FeedbackInput],
    keys: list[tuple[str, str]],
    batch: ImportBatch | None,
    created_by_id: int | None,
    result: IngestResult,
) -> None:
    existing = existing_feedback(keys)
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
    inserted = _store_fresh([inputs[p] for p in fresh_positions], batch, created_by_id)
    # A row another process stored between our duplicate check and the insert counts as a duplicate, and
    # names that process's row: ON CONFLICT waited for it to commit, so a new statement sees it.
    lost = [keys[pos] for pos in fresh_positions if keys[pos] not in inserted]
    winners = existing_feedback(lost) if lost else {}
    for pos in fresh_positions:
        pk = inserted.get(keys[pos])
        if pk is None:
            result.duplicates.append(pos)
            if keys[pos] in winners:
                result.existing_ids[pos] = winners[keys[pos]]
        else:
            result.created.append(pk)
    result.duplicates.sort()


def _store_fresh(
    fresh: Sequence[FeedbackInput],
    batch: ImportBatch | None,
    created_by_id: int | None,
    on_duplicate: str = "skip",
) -> dict[tuple[str, str], int]:
    """Link the items to their customers, products and orders and insert them: {(source, external_id): id}
    of those inserted."""
    customers = _resolve_customers(fresh)
    products = _resolve_products(fresh)
    orders = {
        o.external_id: o for o in Order.objects.filter(external_id__in={i.order_ref for i in fresh if i.order_ref})
    }
    # COPY fragments are used for all rows or none (bulk.insert_feedback): format the few missing ones here.
    vendor = connection.vendor
    preformatted = vendor == "postgresql" and any(i.copy_fragment is not None for i in fresh)
    batch_id = batch.pk if batch else None
    rows = []
    for n, item in enumerate(fresh):
        order = orders.get(item.order_ref) if item.order_ref else None
        product = products.get(item.product or item.product_name)
        if preformatted:
            if item.copy_fragment is None:
                preformat(item, vendor)
            # The fragment holds every other column of FRAGMENT_COLUMNS.
            row: dict[str, Any] = {"source": item.source, "external_id": item.external_id, FRAGMENT: item.copy_fragment}
        else:
            row = _input_values(item)
        row["customer_id"] = customers.get(n)
        row["product_id"] = product.pk if product else None
        row["order_id"] = order.pk if order else None
        row["batch_id"] = batch_id
        row["created_by_id"] = item.created_by_id or created_by_id
        rows.append(row)
    return insert_feedback(rows, on_duplicate=on_duplicate)


def _after_ingest(feedback_ids: list[int]) -> None:
    """Announce what was just stored (after the commit); analysis and search subscribe in their AppConfig."""
    feedback_stored.announce(feedback_ids)
