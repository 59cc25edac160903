from typing import Any

from django.contrib import admin

from voxloop.notify.models import DeliveryGateway, OutgoingMessage


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ["created_at", "kind", "case", "channel", "address", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", "channel", "language"]
    search_fields = ["to_email", "address", "subject", "case__number"]
    readonly_fields = [f.name for f in OutgoingMessage._meta.fields]
    raw_id_fields = ["case", "event", "to_user"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # messages are written by the outbox handler, never by hand


@admin.register(DeliveryGateway)
class DeliveryGatewayAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    """Where SMS and chat-app messages to customers are handed over (docs/operations.md, "SMS and chat-app
    gateway"): one row per channel, switched off with ``enabled``."""

    list_display = ["channel", "url", "enabled", "timeout_seconds", "updated_at"]
    list_filter = ["enabled"]
    fields = ["channel", "url", "enabled", "secret", "token_header", "token", "timeout_seconds"]
