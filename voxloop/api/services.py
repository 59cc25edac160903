"""API tokens and the API's batch writes. Routers stay thin and call these."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.utils import timezone

from voxloop.api.models import ApiToken, Scope
from voxloop.feedback.bulk import existing_feedback
from voxloop.feedback.history import OPTION as HISTORY
from voxloop.feedback.ingest import FeedbackInput, derived_external_id, ingest_feedback, prepare_feedback
from voxloop.feedback.models import BatchStatus, Channel, ImportBatch, ImportKind, QuarantinedRow
from voxloop.feedback.normalize import RowError
from voxloop.feedback.records import (
    CustomerInput,
    OrderInput,
    UpsertResult,
    prepare_customer,
    prepare_order,
    upsert_customers,
    upsert_orders,
)

TOKEN_PREFIX = "vxl_"  # noqa: S105 - a marker, not a secret
# last_used_at is written at most this often, so a busy integration does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(name: str, scopes: Sequence[str], *, created_by_id: int | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns it with the plain text, which is never stored and cannot be shown again."""
    name = name.strip()
    if not name:
        raise TokenError("missing_name", "A token needs a name.")
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise TokenError("unknown_scope", f"Unknown scope(s): {', '.join(unknown)}. Use: {', '.join(Scope.values)}.")
    if not scopes:
        raise TokenError("missing_scope", "A token needs at least one scope.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name[:100],
        prefix=raw[:12],
        key_hash=hash_token(raw),
        scopes=sorted(set(scopes)),
        created_by_id=created_by_id,
    )
    return token, raw


def revoke_api_token(token_id: int) -> bool:
    return bool(ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(revoked_at=timezone.now()))


def authenticate_token(raw: str) -> ApiToken | None:
    """The active token with this plain text, or None. Records when it was last used."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- Feedback

# An item sent without external_id and without received_at gets an id derived from its content and this window
# (not from "now"), so that a retry of the same request a few seconds or minutes later is the same item. The
# window before is looked at too, so a retry that crosses the hour is still one item.
RETRY_WINDOW = timedelta(hours=1)


@dataclass
class ItemOutcome:
    index: int
    status: str  # created | duplicate | rejected
    id: int | None = None
    code: str = ""
    field: str = ""
    message: str = ""


@dataclass
class BatchOutcome:
    batch_id: int | None
    items: list[ItemOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)


def submit_feedback(
    items: Sequence[Mapping[str, Any]],
    *,
    raw_payloads: Sequence[Mapping[str, Any]] | None = None,
    token: ApiToken | None = None,
    record_batch: bool = True,
    refused: Mapping[int, RowError] | None = None,
    history: str = "auto",
) -> BatchOutcome:
    """Validate and store feedback sent through the API: one ingest call for the whole batch.

    Items default to channel "api" and source "api:<token name>"; each gets an outcome in input order.
    Rejected items are kept (quarantined on the batch) with their reason, so nothing sent is lost.
    raw_payloads: the items as sent (JSON-ready), stored as each item's raw payload.
    refused: items already found not to fit (by input index), reported and quarantined with the others.
    history: which items are history, not news (voxloop.feedback.history), kept on the batch."""
    raws = raw_payloads if raw_payloads is not None else items
    default_source = f"api:{token.name}" if token else "api"
    outcomes: list[ItemOutcome | None] = [None] * len(items)
    prepared = []
    positions: list[int] = []
    rejected: list[tuple[int, Mapping[str, Any], RowError]] = []
    for index, data in enumerate(items):
        try:
            if refused and index in refused:
                raise refused[index]
            prepared.append(prepare_feedback(data, channel=Channel.API, source=default_source, raw_payload=raws[index]))
            positions.append(index)
        except RowError as exc:
            rejected.append((index, raws[index], exc))
            outcomes[index] = ItemOutcome(index, "rejected", code=exc.code, field=exc.field, message=exc.localized())
    _retry_safe_ids(items, prepared, positions)
    batch = None
    with transaction.atomic():
        if record_batch:
            now = timezone.now()
            batch = ImportBatch.objects.create(
                kind=ImportKind.FEEDBACK,
                origin="api",
                source=default_source[:100],
                channel=Channel.API,
                status=BatchStatus.COMPLETED,
                total_rows=len(items),
                rows_processed=len(items),
                started_at=now,
                finished_at=now,
                options={HISTORY: history, **({"token_id": token.pk} if token else {})},
            )
            if rejected:
                QuarantinedRow.objects.bulk_create(
                    QuarantinedRow(
                        batch=batch,
                        row_number=index + 1,
                        raw=dict(data),
                        reason_code=exc.code,
                        reason=exc.message,
                        reason_i18n=exc.stored,
                        field=exc.field,
                    )
                    for index, data, exc in rejected
                )
        result = ingest_feedback(prepared, batch=batch)
        created = iter(result.created)
        duplicates = set(result.duplicates)
        for pos, index in enumerate(positions):
            if pos in duplicates:
                outcomes[index] = ItemOutcome(index, "duplicate", id=result.existing_ids.get(pos))
            else:
                outcomes[index] = ItemOutcome(index, "created", id=next(created))
        if batch is not None:
            batch.accepted_count = len(result.created)
            batch.duplicate_count = len(result.duplicates)
            batch.rejected_count = len(rejected)
            batch.save(update_fields=["accepted_count", "duplicate_count", "rejected_count", "updated_at"])
    _fill_in_batch_duplicates(outcomes, prepared, positions)
    return BatchOutcome(batch.pk if batch else None, [o for o in outcomes if o is not None])


def _window_start(moment: datetime) -> datetime:
    seconds = int(RETRY_WINDOW.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // seconds * seconds, tz=UTC)


def _retry_safe_ids(items: Sequence[Mapping[str, Any]], prepared: list[FeedbackInput], positions: list[int]) -> None:
    """Items that bring neither external_id nor received_at: derive their id from the current window, or take
    the previous window's id when that one is stored already (the same request, retried across the hour)."""
    derived: dict[int, tuple[str, str]] = {}
    for pos, index in enumerate(positions):
        data = items[index]
        if data.get("external_id") in (None, "") and data.get("received_at") in (None, ""):
            window = _window_start(prepared[pos].received_at)
            item = prepared[pos]
            item.external_id = derived_external_id(item, window)
            derived[pos] = (item.source, derived_external_id(item, window - RETRY_WINDOW))
    if derived:
        earlier = existing_feedback(derived.values())
        for pos, key in derived.items():
            if key in earlier:
                prepared[pos].external_id = key[1]


def _fill_in_batch_duplicates(outcomes: list[ItemOutcome | None], prepared: list, positions: list[int]) -> None:
    """An item repeating an earlier item of the same batch points at the id that earlier item got."""
    first_id: dict[tuple[str, str], int] = {}
    for pos, index in enumerate(positions):
        outcome = outcomes[index]
        key = (prepared[pos].source, prepared[pos].external_id)
        if outcome is None:
            continue
        if outcome.id is not None:
            first_id.setdefault(key, outcome.id)
        elif outcome.status == "duplicate":
            outcome.id = first_id.get(key)


# --- Customers and orders


RecordT = TypeVar("RecordT", CustomerInput, OrderInput)  # a customer or an order, as prepared for upsert


@dataclass
class RecordsOutcome:
    created: int = 0
    updated: int = 0
    ids: list[int | None] = field(default_factory=list)  # per input item; None where rejected
    rejected: list[ItemOutcome] = field(default_factory=list)


def submit_records(
    items: Sequence[Mapping[str, Any]],
    *,
    kind: str,
    raw_payloads: Sequence[Mapping[str, Any]] | None = None,
    refused: Mapping[int, RowError] | None = None,
) -> RecordsOutcome:
    """Validate and upsert customers or orders; invalid items are reported, the valid ones stored.
    refused: items already found not to fit (by input index)."""
    raws = raw_payloads if raw_payloads is not None else items
    if kind == ImportKind.CUSTOMERS:
        return _submit(items, raws, refused, prepare_customer, upsert_customers)
    return _submit(items, raws, refused, prepare_order, upsert_orders)


def _submit(
    items: Sequence[Mapping[str, Any]],
    raws: Sequence[Mapping[str, Any]],
    refused: Mapping[int, RowError] | None,
    prepare: Callable[..., RecordT],
    upsert: Callable[[Sequence[RecordT]], UpsertResult],
) -> RecordsOutcome:
    outcome = RecordsOutcome(ids=[None] * len(items))
    prepared: list[RecordT] = []
    positions = []
    for index, data in enumerate(items):
        try:
            if refused and index in refused:
                raise refused[index]
            prepared.append(prepare(data, raw_payload=raws[index]))
            positions.append(index)
        except RowError as exc:
            outcome.rejected.append(
                ItemOutcome(index, "rejected", code=exc.code, field=exc.field, message=exc.localized())
            )
    if prepared:
        result = upsert(prepared)
        outcome.created, outcome.updated = result.created, result.updated
        for index, pk in zip(positions, result.ids, strict=True):
            outcome.ids[index] = pk
    return outcome
