"""Request and response shapes of the API (pydantic v2 via django-ninja)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field, field_validator


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field("", max_length=2000, description="Where the file can be fetched.")
    name: str = Field("", max_length=255)
    content_type: str = Field("", max_length=100)
    size: int | None = Field(None, ge=0)


# Inputs are plain pydantic models: ninja's Schema drops unknown keys, and we keep them in raw_payload.


class FeedbackIn(BaseModel):
    """One feedback item. Fields not listed here are kept, as sent, in the item's raw payload."""

    model_config = ConfigDict(extra="allow")
    text: str = Field(..., description="What the customer said (required, not empty).")
    title: str | None = None
    channel: str | None = Field(None, description="Channel; defaults to `api`.", examples=["review"])
    received_at: datetime | None = Field(None, description="ISO 8601; without a zone it is read in TIME_ZONE.")
    external_id: str | int | None = Field(
        None, description="Your id for this item; (source, external_id) makes retries safe."
    )
    source: str | None = Field(None, max_length=100, description="Defaults to `api:<token name>`.")
    rating: Decimal | None = None
    rating_scale: int | None = Field(None, ge=1, le=1000, description="e.g. 5, 10 or 100")
    customer_id: str | int | None = None
    customer_name: str | None = None
    email: str | None = None
    phone: str | int | None = None
    handle: str | None = None
    product: str | None = Field(None, description="Product or service code.")
    product_name: str | None = None
    order_ref: str | int | None = None
    attachments: list[AttachmentIn] | None = None
    thread_key: str | None = None
    language: str | None = None


def _check_batch_size(items: Any) -> Any:
    limit = settings.API_BATCH_LIMIT
    if isinstance(items, list) and len(items) > limit:
        # Checked before the items are validated, so an oversized batch costs little and stores nothing.
        raise ValueError(f"A batch holds at most {limit:,} items; this one has {len(items):,}. Nothing was stored.")
    if isinstance(items, list) and not items:
        raise ValueError("The batch is empty.")
    return items


class FeedbackBatchIn(BaseModel):
    items: list[FeedbackIn] = Field(..., description="Up to API_BATCH_LIMIT (1,000) items.")
    history: Literal["auto", "all", "none"] = Field(
        "auto",
        description="Which items are history, not news: analysed and counted, but they open no case and notify "
        "nobody. `auto`: received more than HISTORICAL_AFTER_DAYS (7) days before now; `all`; `none`.",
    )

    _size = field_validator("items", mode="before")(_check_batch_size)


# Batch responses are plain pydantic models too: ninja's Schema wraps every object it validates, which
# costs ~15 ms per 1,000-item response on the benchmarked path.


class ItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "rejected"]
    id: int | None = Field(None, description="The stored item (for a duplicate: the one stored earlier).")
    code: str | None = None
    field: str | None = None
    message: str | None = None


class FeedbackBatchOut(BaseModel):
    batch_id: int | None
    created: int
    duplicates: int
    rejected: int
    items: list[ItemResult]


class FeedbackCreatedOut(Schema):
    id: int
    status: Literal["created", "duplicate"]


class ErrorOut(Schema):
    detail: str | list[dict[str, Any]]
    code: str | None = None
    field: str | None = None


class FeedbackOut(Schema):
    id: int
    channel: str
    source: str
    external_id: str
    received_at: datetime
    title: str
    text: str
    rating: Decimal | None
    rating_scale: int | None
    customer: int | None = Field(None, description="Customer id in VoxLoop.")
    customer_external_id: str | None = None
    contact_name: str
    contact_email: str
    contact_phone: str
    product: str | None = Field(None, description="Product code.")
    order_ref: str
    thread_key: str
    attachments: list[dict[str, Any]]
    batch_id: int | None
    language: str
    sentiment: str
    sentiment_score: float | None
    kind: str
    urgency: str
    analysis_status: str
    created_at: datetime


class FeedbackDetailOut(FeedbackOut):
    raw_payload: dict[str, Any]


class FeedbackPageOut(Schema):
    items: list[FeedbackOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last.")


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    customer_id: str | int | None = None
    name: str | None = None
    email: str | None = None
    phone: str | int | None = None
    handle: str | None = None
    language: str | None = None
    tags: list[str] | str | None = None
    segment: str | None = None
    opted_out: bool | None = None


class CustomerBatchIn(BaseModel):
    items: list[CustomerIn]

    _size = field_validator("items", mode="before")(_check_batch_size)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: str | int
    ordered_at: datetime
    amount: Decimal = Decimal("0")
    quantity: int = Field(1, ge=0, le=2_147_483_647)
    customer_id: str | int | None = None
    customer_name: str | None = None
    email: str | None = None
    phone: str | int | None = None
    product: str | None = None
    product_name: str | None = None
    status: str | None = None


class OrderBatchIn(BaseModel):
    items: list[OrderIn]

    _size = field_validator("items", mode="before")(_check_batch_size)


class RecordsOut(BaseModel):
    created: int
    updated: int
    rejected: int
    ids: list[int | None] = Field(..., description="The stored record per input item; null where rejected.")
    errors: list[ItemResult]
