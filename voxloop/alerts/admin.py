from django.contrib import admin

from voxloop.alerts.models import Alert, AlertSubscription


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("started_on", "last_day", "metric", "dimension", "label", "severity", "status")
    list_filter = ("status", "severity", "metric", "dimension")
    search_fields = ("label", "value")
    date_hierarchy = "started_on"
    readonly_fields = ("fingerprint", "notified_severity", "created_at", "updated_at")


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("user", "min_severity", "dimension", "value", "email")
    list_filter = ("min_severity", "dimension", "email")
    raw_id_fields = ("user",)
