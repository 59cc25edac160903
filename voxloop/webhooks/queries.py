"""Read models for the webhooks page."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy

from voxloop.cases.models import EventKind
from voxloop.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from voxloop.webhooks.services import OTHER_EVENTS

RECENT_LIMIT = 50
# The main menu's entry (its msgid lives in the webhooks catalog, next to the page it opens).
NAV_LABEL = gettext_lazy("Webhooks")


def event_label(kind: str) -> str:
    if kind in OTHER_EVENTS:
        return str(OTHER_EVENTS[kind])
    return str(EventKind(kind).label) if kind in EventKind.values else kind


def endpoints_with_counts() -> list[WebhookEndpoint]:
    endpoints = list[WebhookEndpoint](
        WebhookEndpoint.objects.annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            dead_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
        )
    )
    for endpoint in endpoints:
        endpoint.kind_labels = [event_label(k) for k in endpoint.event_kinds]  # type: ignore[attr-defined]  # for the template only
    return endpoints


def _labelled(rows: list[WebhookDelivery]) -> list[WebhookDelivery]:
    for row in rows:
        row.event_label = event_label(row.event_kind)  # type: ignore[attr-defined]  # for the template only
    return rows


def dead_letters(endpoint: WebhookEndpoint | None = None, limit: int = RECENT_LIMIT) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(status=DeliveryStatus.DEAD)
    if endpoint is not None:
        qs = qs.filter(endpoint=endpoint)
    return _labelled(list(qs.select_related("endpoint", "case").order_by("-updated_at", "-id")[:limit]))


def recent_deliveries(endpoint: WebhookEndpoint | None = None, limit: int = RECENT_LIMIT) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.all()
    if endpoint is not None:
        qs = qs.filter(endpoint=endpoint)
    return _labelled(list(qs.select_related("endpoint", "case").order_by("-created_at", "-id")[:limit]))
