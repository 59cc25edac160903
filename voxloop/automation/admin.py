from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from voxloop.automation.models import AutomationRule, FeedbackTag, RoutingRule, RuleFiring


@admin.register(AutomationRule)
class AutomationRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ["name", "order", "enabled", "stop_processing", "updated_at"]
    list_editable = ["order", "enabled"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    readonly_fields = ["created_by", "created_at", "updated_at"]

    def save_model(self, request: Any, obj: Any, form: Any, change: Any) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        # Errors were refused by the model's clean(); warnings (e.g. matches everything) are shown, not refused.
        for warning in obj.validation_warnings():
            messages.warning(request, warning)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # as above
    list_display = ["name", "order", "enabled", "team"]
    list_editable = ["order", "enabled"]
    list_filter = ["enabled", "team"]


@admin.register(RuleFiring)
class RuleFiringAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # as above
    list_display = ["rule", "feedback", "case", "outcome", "fired_at"]
    list_filter = ["outcome", "rule"]
    raw_id_fields = ["feedback", "case"]

    def has_add_permission(self, request: HttpRequest) -> bool:  # written by apply_rules only
        return False

    def has_change_permission(self, request: HttpRequest, obj: RuleFiring | None = None) -> bool:
        return False


@admin.register(FeedbackTag)
class FeedbackTagAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # as above
    list_display = ["tag", "feedback", "rule", "created_at"]
    search_fields = ["tag"]
    raw_id_fields = ["feedback"]
