from django.contrib import admin

from voxloop.webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("url", "description", "is_active", "include_personal_data", "created_at")
    list_filter = ("is_active",)
    search_fields = ("url", "description")
    readonly_fields = ("created_at", "updated_at", "disabled_reason")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("id", "endpoint", "event_kind", "status", "attempts", "last_status_code", "next_attempt_at")
    list_filter = ("status", "event_kind")
    raw_id_fields = ("event", "case")
    readonly_fields = ("body", "created_at", "updated_at")
