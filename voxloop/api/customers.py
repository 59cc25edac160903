"""Customers and orders, upserted in batches (matched by customer id, phone or email)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router
from ninja.decorators import decorate_view

from voxloop.api import services
from voxloop.api.auth import TokenAuth
from voxloop.api.feedback import split_items
from voxloop.api.idempotency import IDEMPOTENCY, idempotent
from voxloop.api.models import Scope
from voxloop.api.schemas import CustomerBatchIn, ErrorOut, OrderBatchIn, RecordsOut
from voxloop.feedback.models import ImportKind

router = Router(tags=["customers and orders"])


def _response(outcome: services.RecordsOutcome) -> dict:
    return {
        "created": outcome.created,
        "updated": outcome.updated,
        "rejected": len(outcome.rejected),
        "ids": outcome.ids,
        "errors": [item.__dict__ for item in outcome.rejected],
    }


@router.post(
    "/customers/batch",
    auth=TokenAuth(Scope.CUSTOMERS_WRITE),
    response={200: RecordsOut, 409: ErrorOut, 422: ErrorOut},
    summary="Create or update up to 1,000 customers",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def upsert_customers(request: HttpRequest, payload: CustomerBatchIn):
    """A customer is matched by customer_id, then phone, then email; an empty value never erases one stored."""
    split = split_items(request, payload.items)
    return _response(
        services.submit_records(split.data, kind=ImportKind.CUSTOMERS, raw_payloads=split.raw, refused=split.refused)
    )


@router.post(
    "/orders/batch",
    auth=TokenAuth(Scope.ORDERS_WRITE),
    response={200: RecordsOut, 409: ErrorOut, 422: ErrorOut},
    summary="Create or update up to 1,000 orders",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def upsert_orders(request: HttpRequest, payload: OrderBatchIn):
    """Orders are keyed by order_id; the customer is matched (or created) by customer_id, phone or email."""
    split = split_items(request, payload.items)
    return _response(
        services.submit_records(split.data, kind=ImportKind.ORDERS, raw_payloads=split.raw, refused=split.refused)
    )
