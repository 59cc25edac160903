from typing import Any

from django.contrib import admin

from voxloop.notify.models import OutgoingMessage


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ["created_at", "kind", "case", "to_email", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", "language"]
    search_fields = ["to_email", "subject", "case__number"]
    readonly_fields = [f.name for f in OutgoingMessage._meta.fields]
    raw_id_fields = ["case", "event", "to_user"]

    def has_add_permission(self, request: Any) -> bool:
        return False  # messages are written by the outbox handler, never by hand
