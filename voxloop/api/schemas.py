"""Request and response shapes of the API (pydantic v2 via django-ninja)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.translation import gettext_noop
from ninja import Schema
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonDict
from pydantic_core import PydanticCustomError

from voxloop.feedback.models import Channel
from voxloop.feedback.normalize import RowError


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer, not {value}", {"value": value})
    return value


# An id or phone sent as a string or a whole number (100.0 is one, as JSON Schema has it); true or 1.5 are
# refused, not read as 1.
Key = StrictStr | Annotated[int, BeforeValidator(_not_a_boolean)]

# PostgreSQL refuses a UTC offset of 16 hours or more ("time zone displacement out of range"); Python reads
# up to 23:59. Real offsets lie between -12:00 and +14:00.
MAX_UTC_OFFSET = timedelta(hours=16)
_SURROGATE = re.compile("[\ud800-\udfff]")
_NUMBER = re.compile(r"[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?")


def _storable_datetime(value: datetime) -> datetime:
    """A date the database can store and compare: its offset within ±15:59 and its UTC time within years 1-9999
    (SQLite keeps UTC; year 1 east of Greenwich is year 0 there)."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
        raise PydanticCustomError(
            "datetime_offset_out_of_range",
            "The UTC offset {offset} is out of range: use one between -15:59 and +15:59 (e.g. +08:00).",
            {"offset": value.strftime("%z")},
        )
    aware = value if offset is not None else value.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    try:
        aware.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "The date {value} is out of range in UTC.", {"value": value.isoformat()}
        ) from None
    return value


def _iso_only(value: Any) -> Any:
    # pydantic would read a number as Unix seconds; the schema promises (and the docs say) ISO 8601.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value.strip())):
        raise PydanticCustomError(
            "datetime_not_iso",
            "Use an ISO 8601 date and time, e.g. 2026-03-01T10:00:00+08:00, not {value}.",
            {"value": str(value)},
        )
    return value


# Every date the API reads: what the database cannot store is a 422 naming the field, not a 500.
ApiDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_storable_datetime),
    # RFC 3339 allows offsets to ±23:59; the schema says what is accepted: Z, ±00:00..±15:59, or none.
    Field(
        json_schema_extra={"pattern": "([Zz]|[+-](0[0-9]|1[0-5]):?[0-5][0-9]|[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?)$"}
    ),
]


def escape_surrogates(text: str) -> str:
    """A lone surrogate spelt out (\\ud800) so that the text can be stored and shown."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def first_bad_unicode(value: Any, path: str = "") -> str | None:
    """Where a string (key or value) holds a lone surrogate: JSON allows "\\ud800", UTF-8 and the database do
    not. None when all is well (the common case costs one isascii() per string)."""
    if isinstance(value, str):
        return path or "body" if not value.isascii() and _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                return escape_surrogates(name)
            found = first_bad_unicode(item, name)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = first_bad_unicode(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _no_lone_surrogates(data: Any) -> Any:
    field = first_bad_unicode(data)
    if field:
        raise PydanticCustomError(
            "invalid_unicode",
            "The field {field} holds a lone UTF-16 surrogate (such as \\ud800), which is not a character: "
            "send valid UTF-8 text.",
            {"field": field},
        )
    return data


class AttachmentIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    url: str = Field("", max_length=2000, description="Where the file can be fetched.")
    name: str = Field("", max_length=255)
    content_type: str = Field("", max_length=100)
    size: int | None = Field(None, ge=0)


# Inputs are plain pydantic models: ninja's Schema drops unknown keys, and we keep them in raw_payload.


# What the ingest path checks itself (so that its refusal keeps its own code, e.g. empty_text), stated in the
# schema for clients: text with at least one visible character, a rating from 0 to 100.
_VISIBLE = "[^\\s\\x00-\\x1f\\x7f]"
# external_id as the documentation states it: text of at most 200 characters, a number, or null.
_EXTERNAL_ID: JsonDict = {"anyOf": [{"type": "string", "maxLength": 200}, {"type": "integer"}, {"type": "null"}]}
_RATING: JsonDict = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 100},
        {"type": "string", "pattern": "^(100|[0-9]{1,2})(\\.[0-9]{1,2})?$"},
        {"type": "null"},
    ],
    "description": "0 to 100, at most its rating_scale (guessed as 5, 10 or 100 when omitted).",
}


class FeedbackIn(BaseModel):
    """One feedback item. Fields not listed here are kept, as sent, in the item's raw payload."""

    model_config = ConfigDict(extra="allow")
    text: str = Field(
        ...,
        description="What the customer said (required, not empty).",
        json_schema_extra={"minLength": 1, "maxLength": settings.FEEDBACK_TEXT_MAX_CHARS, "pattern": _VISIBLE},
    )
    title: str | None = Field(None, json_schema_extra={"maxLength": 500})
    channel: str | None = Field(
        None,
        description="Channel; defaults to `api`.",
        examples=["review"],
        json_schema_extra={"anyOf": [{"enum": list(Channel.values)}, {"type": "null"}]},
    )
    received_at: ApiDateTime | None = Field(
        None,
        description=(
            "ISO 8601; without a zone it is read in TIME_ZONE. UTC offset within ±15:59; years 1990-2100, "
            "not more than a day in the future."
        ),
    )
    external_id: Key | None = Field(
        None,
        description="Your id for this item; (source, external_id) makes retries safe.",
        json_schema_extra=_EXTERNAL_ID,
    )
    source: str | None = Field(None, max_length=100, description="Defaults to `api:<token name>`.")
    rating: Decimal | None = Field(None, json_schema_extra=_RATING)
    rating_scale: int | None = Field(None, ge=1, le=1000, description="e.g. 5, 10 or 100")
    customer_id: Key | None = None
    customer_name: str | None = None
    email: str | None = Field(
        None, json_schema_extra={"anyOf": [{"type": "string", "format": "email", "maxLength": 254}, {"type": "null"}]}
    )
    phone: Key | None = Field(
        None,
        description="5 to 20 digits; +86 and spaces or dashes allowed.",
        json_schema_extra={
            "anyOf": [
                {"type": "string", "pattern": "^\\+?[0-9]{5,20}$"},
                {"type": "integer", "minimum": 10000, "maximum": 99999999999999999999},
                {"type": "null"},
            ]
        },
    )
    handle: str | None = None
    product: str | None = Field(None, description="Product or service code.")
    product_name: str | None = None
    order_ref: Key | None = None
    attachments: list[AttachmentIn] | None = None
    thread_key: str | None = None
    language: str | None = None

    _unicode = model_validator(mode="before")(_no_lone_surrogates)


def _check_batch_size(items: Any) -> Any:
    limit = settings.API_BATCH_LIMIT
    if isinstance(items, list) and len(items) > limit:
        # Checked before the items are validated, so an oversized batch costs little and stores nothing.
        raise ValueError(f"A batch holds at most {limit:,} items; this one has {len(items):,}. Nothing was stored.")
    if isinstance(items, list) and not items:
        raise ValueError("The batch is empty.")
    return items


def _error_field(error: Any) -> str:
    ctx = error.get("ctx") or {}
    if ctx.get("field"):
        return str(ctx["field"])
    return ".".join(str(p) for p in error.get("loc", ()))


def refusal(exc: ValidationError) -> RowError:
    """An item's first validation problem as the RowError an item refused by ingest gets."""
    error = exc.errors()[0]
    field = _error_field(error)
    return RowError(
        error["type"][:40],
        gettext_noop("%(name)s: %(problem)s"),
        field,
        name=field or "item",
        problem=error.get("msg", ""),
    )


def _each_item(model: type[BaseModel]) -> Any:
    """Validate a batch item by item: an item that does not fit its schema becomes a RowError in its place, so
    that one bad item refuses itself, not the batch."""

    def validate(items: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        items = _check_batch_size(items)
        if not isinstance(items, list):
            return handler(items)  # not a list at all: the usual 422 for the whole body
        checked: list[BaseModel | RowError] = []
        for item in items:
            try:
                checked.append(item if isinstance(item, model) else model.model_validate(item))
            except ValidationError as exc:
                checked.append(refusal(exc))
        return checked

    return validate


class FeedbackBatchIn(BaseModel):
    items: list[FeedbackIn] = Field(
        ...,
        min_length=1,
        json_schema_extra={"maxItems": settings.API_BATCH_LIMIT},
        description="1 to API_BATCH_LIMIT (1,000) items. An item that does not fit is refused on its own.",
    )
    history: Literal["auto", "all", "none"] = Field(
        "auto",
        description="Which items are history, not news: analysed and counted, but they open no case and notify "
        "nobody. `auto`: received more than HISTORICAL_AFTER_DAYS (7) days before now; `all`; `none`.",
    )

    _items = field_validator("items", mode="wrap")(_each_item(FeedbackIn))


# Batch responses are plain pydantic models too: ninja's Schema wraps every object it validates, which
# costs ~15 ms per 1,000-item response on the benchmarked path.


class ItemResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "rejected"]
    id: int | None = Field(None, description="The stored item (for a duplicate: the one stored earlier).")
    code: str | None = None
    field: str | None = None
    message: str | None = None


class ItemWarning(BaseModel):
    index: int
    code: Literal["nul_removed"]
    fields: list[str] = Field(..., description="The fields changed.")
    message: str


class FeedbackBatchOut(BaseModel):
    batch_id: int | None
    created: int
    duplicates: int
    rejected: int
    items: list[ItemResult]
    warnings: list[ItemWarning] = Field(
        default_factory=list,
        description="Items stored with a change, e.g. NUL characters removed (the database cannot store them).",
    )


class FeedbackCreatedOut(Schema):
    id: int
    status: Literal["created", "duplicate"]
    warnings: list[str] | None = Field(None, description="What was changed to store the item, if anything.")


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
    customer_id: Key | None = None
    name: str | None = None
    email: str | None = None
    phone: Key | None = None
    handle: str | None = None
    language: str | None = None
    tags: list[str] | str | None = None
    segment: str | None = None
    opted_out: bool | None = None

    _unicode = model_validator(mode="before")(_no_lone_surrogates)


class CustomerBatchIn(BaseModel):
    items: list[CustomerIn] = Field(..., min_length=1, json_schema_extra={"maxItems": settings.API_BATCH_LIMIT})

    _items = field_validator("items", mode="wrap")(_each_item(CustomerIn))


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: Key
    ordered_at: ApiDateTime
    amount: Decimal = Decimal("0")
    quantity: int = Field(1, ge=0, le=2_147_483_647)
    customer_id: Key | None = None
    customer_name: str | None = None
    email: str | None = None
    phone: Key | None = None
    product: str | None = None
    product_name: str | None = None
    status: str | None = None

    _unicode = model_validator(mode="before")(_no_lone_surrogates)


class OrderBatchIn(BaseModel):
    items: list[OrderIn] = Field(..., min_length=1, json_schema_extra={"maxItems": settings.API_BATCH_LIMIT})

    _items = field_validator("items", mode="wrap")(_each_item(OrderIn))


class RecordsOut(BaseModel):
    created: int
    updated: int
    rejected: int
    ids: list[int | None] = Field(..., description="The stored record per input item; null where rejected.")
    errors: list[ItemResult]
