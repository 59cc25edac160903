"""Customers and orders as they arrive from files or the API: validate, then upsert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Sum
from django.utils.translation import gettext_noop

from voxloop.feedback.hooks import screen_records
from voxloop.feedback.models import Customer, ImportBatch, Order, Product
from voxloop.feedback.normalize import RowError, clean_email, clean_phone, parse_datetime


@dataclass
class CustomerInput:
    customer_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""
    handle: str = ""
    language: str = ""
    tags: list[str] = field(default_factory=list)
    segment: str = ""
    opted_out: bool | None = None
    raw_payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class OrderInput:
    order_id: str
    ordered_at: datetime
    amount: Decimal
    quantity: int = 1
    customer_id: str = ""
    email: str = ""
    phone: str = ""
    customer_name: str = ""
    product: str = ""
    product_name: str = ""
    status: str = ""
    raw_payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    ids: list[int] = field(default_factory=list)


_TRUE = {"1", "true", "yes", "y", "是", "退订", "opted_out", "opt-out"}


def _text(data: Mapping[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    return "" if value is None else str(value).strip()[:limit]


def prepare_customer(data: Mapping[str, Any], *, raw_payload: Mapping[str, Any] | None = None) -> CustomerInput:
    item = CustomerInput(
        customer_id=_text(data, "customer_id", 100),
        name=_text(data, "name", 200) or _text(data, "customer_name", 200),
        email=clean_email(data.get("email")),
        phone=clean_phone(data.get("phone")),
        handle=_text(data, "handle", 200),
        language=_text(data, "language", 10),
        segment=_text(data, "segment", 40),
        raw_payload=dict(raw_payload if raw_payload is not None else data),
    )
    tags = data.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.replace("，", ",").replace(";", ",").split(",")]
    item.tags = [str(t)[:50] for t in (tags or []) if str(t).strip()]
    opted = data.get("opted_out")
    if opted not in (None, ""):
        item.opted_out = str(opted).strip().lower() in _TRUE
    if not (item.customer_id or item.email or item.phone):
        raise RowError(
            "missing_customer_key",
            gettext_noop("A customer needs a customer id, a phone number or an email."),
            "customer_id",
        )
    return item


def prepare_order(
    data: Mapping[str, Any], *, default_tz: str | None = None, raw_payload: Mapping[str, Any] | None = None
) -> OrderInput:
    order_id = _text(data, "order_id", 100)
    if not order_id:
        raise RowError("missing_order_id", gettext_noop("The order number is missing."), "order_id")
    ordered_at = parse_datetime(data.get("ordered_at"), default_tz=default_tz or settings.TIME_ZONE, field="ordered_at")
    raw_amount = str(data.get("amount") or "0").replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        amount = Decimal(raw_amount or "0")
    except InvalidOperation as exc:
        raise RowError(
            "invalid_amount", gettext_noop("'%(value)s' is not an amount."), "amount", value=raw_amount
        ) from exc
    if not amount.is_finite() or abs(amount) >= Decimal("1e12"):
        raise RowError(
            "invalid_amount", gettext_noop("The amount %(value)s is out of range."), "amount", value=raw_amount
        )
    try:
        quantity = int(str(data.get("quantity") or 1).strip())
    except ValueError as exc:
        raise RowError(
            "invalid_quantity", gettext_noop("'%(value)s' is not a quantity."), "quantity", value=data.get("quantity")
        ) from exc
    if not 0 <= quantity <= 1_000_000:
        raise RowError(
            "invalid_quantity", gettext_noop("The quantity %(value)s is out of range."), "quantity", value=quantity
        )
    item = OrderInput(
        order_id=order_id,
        ordered_at=ordered_at,
        amount=amount.quantize(Decimal("0.01")),
        quantity=quantity,
        customer_id=_text(data, "customer_id", 100),
        email=clean_email(data.get("email")),
        phone=clean_phone(data.get("phone")),
        customer_name=_text(data, "customer_name", 200),
        product=_text(data, "product", 100),
        product_name=_text(data, "product_name", 200),
        status=_text(data, "status", 40),
        raw_payload=dict(raw_payload if raw_payload is not None else data),
    )
    if not (item.customer_id or item.email or item.phone):
        raise RowError(
            "missing_customer_key",
            gettext_noop("An order needs its customer's id, phone number or email."),
            "customer_id",
        )
    return item


def find_customers(keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], Customer]:
    """Match (customer_id, phone, email) keys to stored customers: by id first, then phone, then email."""
    ids = {k[0] for k in keys if k[0]}
    phones = {k[1] for k in keys if k[1]}
    emails = {k[2] for k in keys if k[2]}
    by_id = {c.external_id: c for c in Customer.objects.filter(external_id__in=ids)} if ids else {}
    by_phone = {c.phone: c for c in Customer.objects.filter(phone__in=phones)} if phones else {}
    by_email = {c.email: c for c in Customer.objects.filter(email__in=emails)} if emails else {}
    found = {}
    for key in keys:
        customer = (
            (by_id.get(key[0]) if key[0] else None)
            or (by_phone.get(key[1]) if key[1] else None)
            or (by_email.get(key[2]) if key[2] else None)
        )
        if customer:
            found[key] = customer
    return found


def _recall(made: dict[str, Customer], key: tuple[str, str, str]) -> Customer | None:
    """A customer created earlier in the same batch with the id ``key`` names: a later row with that id and
    another phone or e-mail is not found by find_customers, and creating the customer twice would break the
    unique id (a server error that loses the whole batch)."""
    return made.get(key[0]) if key[0] else None


def _remember(made: dict[str, Customer], customer: Customer) -> None:
    if customer.external_id:
        made[customer.external_id] = customer


def upsert_customers(items: Sequence[CustomerInput], *, batch: ImportBatch | None = None) -> UpsertResult:
    result = UpsertResult()
    screen_records("customers", items)  # e.g. an erased person's rows are de-identified (voxloop.privacy)
    with transaction.atomic():
        found = find_customers([(i.customer_id, i.phone, i.email) for i in items])
        made: dict[str, Customer] = {}
        for item in items:
            key = (item.customer_id, item.phone, item.email)
            customer = found.get(key) or _recall(made, key)
            values = {
                "external_id": item.customer_id,
                "name": item.name,
                "email": item.email,
                "phone": item.phone,
                "language": item.language,
                "segment": item.segment,
            }
            if customer is None:
                customer = Customer(**values, tags=item.tags, handles={"handle": item.handle} if item.handle else {})
                if item.opted_out is not None:
                    customer.opted_out = item.opted_out
                customer.save()
                result.created += 1
                found[key] = customer
                _remember(made, customer)
            else:
                # A value in the file updates the customer; an empty cell never erases what we know.
                for name, value in values.items():
                    if value:
                        setattr(customer, name, value)
                if item.tags:
                    customer.tags = sorted(set(customer.tags) | set(item.tags))
                if item.handle:
                    customer.handles = {**customer.handles, "handle": item.handle}
                if item.opted_out is not None:
                    customer.opted_out = item.opted_out
                customer.save()
                result.updated += 1
            result.ids.append(customer.pk)
    return result


def upsert_orders(items: Sequence[OrderInput], *, batch: ImportBatch | None = None) -> UpsertResult:
    result = UpsertResult()
    screen_records("orders", items)
    with transaction.atomic():
        keys = [(i.customer_id, i.phone, i.email) for i in items]
        found = find_customers(keys)
        codes = {i.product or i.product_name for i in items if i.product or i.product_name}
        products = {p.code: p for p in Product.objects.filter(code__in=codes)}
        existing = {o.external_id: o for o in Order.objects.filter(external_id__in=[i.order_id for i in items])}
        touched: set[int] = set()
        made: dict[str, Customer] = {}
        for item, key in zip(items, keys, strict=True):
            customer = found.get(key) or _recall(made, key)
            if customer is None:
                customer = Customer.objects.create(
                    external_id=item.customer_id, phone=item.phone, email=item.email, name=item.customer_name
                )
                _remember(made, customer)
            found[key] = customer
            code = item.product or item.product_name
            product = products.get(code) if code else None
            if code and product is None:
                product = products[code] = Product.objects.create(code=code, name=item.product_name or code)
            order = existing.get(item.order_id)
            fields = {
                "customer": customer,
                "product": product,
                "ordered_at": item.ordered_at,
                "amount": item.amount,
                "quantity": item.quantity,
                "status": item.status,
                "raw_payload": item.raw_payload,
            }
            if order is None:
                order = Order.objects.create(external_id=item.order_id, batch=batch, **fields)
                existing[item.order_id] = order
                result.created += 1
            else:
                for name, value in fields.items():
                    setattr(order, name, value)
                order.save()
                result.updated += 1
            touched.add(customer.pk)
            result.ids.append(order.pk)
        refresh_customer_value(touched)
    return result


def refresh_customer_value(customer_ids: set[int] | list[int]) -> None:
    """Recompute order count, lifetime value and first/last order from the stored orders."""
    stats = (
        Order.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(n=Count("id"), total=Sum("amount"), first=Min("ordered_at"), last=Max("ordered_at"))
    )
    for row in stats:
        Customer.objects.filter(pk=row["customer_id"]).update(
            order_count=row["n"],
            lifetime_value=row["total"] or 0,
            first_order_at=row["first"],
            last_order_at=row["last"],
        )
