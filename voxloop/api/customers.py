"""Customers and orders, upserted in batches (matched by customer id, phone or email)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from voxloop.api import services
from voxloop.api.auth import TokenAuth
from voxloop.api.feedback import split_items
from voxloop.api.models import Scope
from voxloop.api.schemas import CustomerBatchIn, OrderBatchIn, RecordsOut
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
    response=RecordsOut,
    summary="Create or update up to 1,000 customers",
)
def upsert_customers(request: HttpRequest, payload: CustomerBatchIn):
    """A customer is matched by customer_id, then phone, then email; an empty value never erases one stored."""
    split = split_items(request, payload.items)
    return _response(
        services.submit_records(split.data, kind=ImportKind.CUSTOMERS, raw_payloads=split.raw, refused=split.refused)
    )


@router.post(
    "/orders/batch",
    auth=TokenAuth(Scope.ORDERS_WRITE),
    response=RecordsOut,
    summary="Create or update up to 1,000 orders",
)
def upsert_orders(request: HttpRequest, payload: OrderBatchIn):
    """Orders are keyed by order_id; the customer is matched (or created) by customer_id, phone or email."""
    split = split_items(request, payload.items)
    return _response(
        services.submit_records(split.data, kind=ImportKind.ORDERS, raw_payloads=split.raw, refused=split.refused)
    )
