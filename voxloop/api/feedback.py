"""Feedback endpoints: create one, create a batch, list with filters, read one."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.decorators import decorate_view
from pydantic import BaseModel, Field

from voxloop.accounts import privacy
from voxloop.accounts.models import User
from voxloop.api import services
from voxloop.api.auth import TokenAuth, TokenRequest
from voxloop.api.cursors import decode_cursor, encode_cursor
from voxloop.api.idempotency import IDEMPOTENCY, idempotent
from voxloop.api.models import ApiToken, Scope
from voxloop.api.schemas import (
    ApiDateTime,
    ErrorOut,
    FeedbackBatchIn,
    FeedbackBatchOut,
    FeedbackCreatedOut,
    FeedbackDetailOut,
    FeedbackIn,
    FeedbackPageOut,
    escape_surrogates,
)
from voxloop.feedback.models import Feedback
from voxloop.feedback.normalize import RowError, nul_fields, without_nul

router = Router(tags=["feedback"])

FEEDBACK_FIELDS = (
    "id", "channel", "source", "external_id", "received_at", "title", "text", "rating", "rating_scale",
    "customer_id", "customer__external_id", "contact_name", "contact_email", "contact_phone", "product__code",
    "order_ref", "thread_key", "attachments", "batch_id", "language", "sentiment", "sentiment_score", "kind",
    "urgency", "analysis_status", "created_at",
)  # fmt: skip


def _storable(value: Any) -> Any:
    """An item as sent, made storable in a JSON column: lone surrogates spelt out (\\ud800), numbers JSON
    cannot hold (1e400 reads as infinity) kept as text."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {escape_surrogates(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


@dataclass
class SplitItems:
    data: list[dict[str, Any]]  # validated values for the write path (an empty dict where refused)
    raw: list[dict[str, Any]]  # each item as it was sent, for its raw payload
    refused: dict[int, RowError] = field(default_factory=dict)  # input index -> why it does not fit its schema
    warnings: list[dict[str, Any]] = field(default_factory=list)  # what was changed to store an item


def split_items(request: HttpRequest, items: Sequence[BaseModel | RowError], *, single: bool = False) -> SplitItems:
    """Validated values for the write path, and each item exactly as it was sent for its raw payload.

    NUL characters cannot be stored: they are removed, and the removal is recorded in the item's raw payload
    (`_voxloop.nul_removed_from`) and reported in the response, so nothing changes without notice."""
    # The body already parsed as JSON with these items (ninja validated it); re-reading it keeps the
    # client's own values and spelling, not our normalised ones.
    body = json.loads(request.body)
    raw_items = [body] if single else body["items"]
    split = SplitItems(data=[], raw=[])
    has_nul = b"\\u0000" in request.body  # rare: only then walk the items
    for index, (item, raw) in enumerate(zip(items, raw_items, strict=True)):
        raw = raw if isinstance(raw, dict) else {"item": raw}
        if isinstance(item, RowError):
            split.refused[index] = item
            split.data.append({})
            split.raw.append(_storable(without_nul(raw) if has_nul else raw))
            continue
        data = item.model_dump(exclude_none=True)
        removed = nul_fields(raw) if has_nul else []
        if removed:
            data, raw = without_nul(data), without_nul(raw)
            notes = raw.get("_voxloop")
            raw["_voxloop"] = {**(notes if isinstance(notes, dict) else {}), "nul_removed_from": removed}
            split.warnings.append(
                {
                    "index": index,
                    "code": "nul_removed",
                    "fields": removed,
                    "message": _("NUL characters were removed from %(fields)s: the database cannot store them.")
                    % {"fields": ", ".join(removed)},
                }
            )
        split.data.append(data)
        split.raw.append(raw)
    return split


@router.post(
    "/feedback",
    auth=TokenAuth(Scope.FEEDBACK_WRITE),
    response={201: FeedbackCreatedOut, 200: FeedbackCreatedOut, 409: ErrorOut, 422: ErrorOut},
    exclude_none=True,
    summary="Create one feedback item",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def create_feedback(request: TokenRequest, payload: FeedbackIn):
    """201 when stored, 200 with the existing id when (source, external_id) was already stored,
    422 naming the field when the item cannot be accepted."""
    split = split_items(request, [payload], single=True)
    outcome = services.submit_feedback(
        split.data, raw_payloads=split.raw, token=request.auth, record_batch=False
    ).items[0]
    if outcome.status == "rejected":
        return Status(422, {"detail": outcome.message, "code": outcome.code, "field": outcome.field})
    answer: dict[str, Any] = {"id": outcome.id, "status": outcome.status}
    if split.warnings:
        answer["warnings"] = [w["message"] for w in split.warnings]
    return Status(201 if outcome.status == "created" else 200, answer)


@router.post(
    "/feedback/batch",
    auth=TokenAuth(Scope.FEEDBACK_WRITE),
    response={200: FeedbackBatchOut, 409: ErrorOut, 422: ErrorOut},
    summary="Create up to 1,000 feedback items",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def create_feedback_batch(request: TokenRequest, payload: FeedbackBatchIn):
    """Each item is reported, in order, as `created`, `duplicate` (with the id stored earlier) or
    `rejected` (with code, field and message). A retried batch creates nothing new."""
    split = split_items(request, payload.items)
    outcome = services.submit_feedback(
        split.data, raw_payloads=split.raw, token=request.auth, refused=split.refused, history=payload.history
    )
    return {
        "batch_id": outcome.batch_id,
        "created": outcome.count("created"),
        "duplicates": outcome.count("duplicate"),
        "rejected": outcome.count("rejected"),
        "items": [item.__dict__ for item in outcome.items],
        "warnings": split.warnings,
    }


class FeedbackFilters(Schema):
    channel: str | None = None
    source: str | None = None
    since: ApiDateTime | None = Field(None, description="received_at ≥ since (ISO 8601)")
    until: ApiDateTime | None = Field(None, description="received_at < until (ISO 8601)")
    customer: str | None = Field(None, description="The customer's id in your system (or VoxLoop's, as #123).")
    product: str | None = Field(None, description="Product code.")
    external_id: str | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=500)


@router.get(
    "/feedback",
    auth=TokenAuth(Scope.FEEDBACK_READ),
    response={200: FeedbackPageOut, 400: ErrorOut},
    summary="List feedback, newest first",
)
def list_feedback(request: HttpRequest, filters: Query[FeedbackFilters]):
    qs = Feedback.objects.all()
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.source:
        qs = qs.filter(source=filters.source)
    if filters.since:
        qs = qs.filter(received_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(received_at__lt=filters.until)
    if filters.customer:
        if filters.customer.startswith("#") and filters.customer[1:].isdigit():
            qs = qs.filter(customer_id=int(filters.customer[1:]))
        else:
            qs = qs.filter(customer__external_id=filters.customer)
    if filters.product:
        qs = qs.filter(product__code=filters.product)
    if filters.external_id:
        qs = qs.filter(external_id=filters.external_id)
    if filters.cursor:
        stamp, pk = decode_cursor(filters.cursor)
        # Keyset pagination on the (received_at, id) order: stable while new items arrive.
        qs = qs.filter(Q(received_at__lt=stamp) | Q(received_at=stamp, id__lt=pk))
    rows = list(qs.order_by("-received_at", "-id").values(*FEEDBACK_FIELDS)[: filters.limit + 1])
    more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    items = [_shown(request, _row(r)) for r in rows]
    _audit(request, items)
    next_cursor = encode_cursor(rows[-1]["received_at"], rows[-1]["id"]) if more else None
    return {"items": items, "next_cursor": next_cursor}


def _row(row: dict) -> dict:
    row["customer"] = row.pop("customer_id")
    row["customer_external_id"] = row.pop("customer__external_id") or None
    row["product"] = row.pop("product__code")
    return row


@router.get(
    "/feedback/{feedback_id}",
    auth=TokenAuth(Scope.FEEDBACK_READ),
    response={200: FeedbackDetailOut, 404: ErrorOut},
    summary="Read one feedback item, with its raw payload",
)
def get_feedback(request: HttpRequest, feedback_id: int):
    row = _shown(
        request, _row(get_object_or_404(Feedback.objects.values(*FEEDBACK_FIELDS, "raw_payload"), pk=feedback_id))
    )
    _audit(request, [row])
    return row


def _viewer(request: HttpRequest) -> User | None:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    return token.created_by


def _shown(request: HttpRequest, row: dict) -> dict:
    """The item as the token's user may see it: masked as on the pages for a role without the right. A token
    that acts for no user was given feedback:read by an administrator for a system, and reads unmasked."""
    user = _viewer(request)
    if user is None or privacy.may_see(user):
        return row
    known = [row.get(k) for k in ("contact_name", "contact_phone", "contact_email")]
    for key in ("title", "text"):
        row[key] = privacy.mask_text(row[key], known)
    row["contact_name"] = privacy.mask_name(row["contact_name"])
    row["contact_email"] = privacy.mask_contact(row["contact_email"])
    row["contact_phone"] = privacy.mask_contact(row["contact_phone"])
    if "raw_payload" in row:
        row["raw_payload"] = privacy.mask_payload(row["raw_payload"], known)
    return row


def _audit(request: HttpRequest, rows: list[dict]) -> None:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    privacy.record_shown(
        token.created_by, Feedback, [(r["id"], r["customer"]) for r in rows], request=request,
        username=f"API token {token.prefix}",
    )  # fmt: skip
