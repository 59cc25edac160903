from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from voxloop.cases.models import BusinessCalendar, Case, CaseEvent, EscalationLevel, Holiday, SLAPolicy


class HolidayInline(admin.TabularInline):  # type: ignore[type-arg]  # not subscriptable at run time
    model = Holiday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ["name", "time_zone", "is_default"]
    inlines = [HolidayInline]


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = [
        "name", "severity", "team", "customer_segment", "first_response_minutes", "resolution_minutes", "warn_share",
        "is_active",
    ]  # fmt: skip
    list_filter = ["severity", "is_active", "team"]


@admin.register(EscalationLevel)
class EscalationLevelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ["level", "target", "user", "after_breach_minutes"]


class CaseEventInline(admin.TabularInline):  # type: ignore[type-arg]  # not subscriptable at run time
    model = CaseEvent
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "actor", "payload", "created_at", "processed"]

    def has_add_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:  # the timeline is written by services only
        return False


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = [
        "number", "title", "status", "severity", "team", "assignee", "first_response_due_at", "resolution_due_at",
        "escalation_level",
    ]  # fmt: skip
    list_filter = ["status", "severity", "team", "first_response_breached", "resolution_breached"]
    search_fields = ["number", "title"]
    raw_id_fields = ["customer", "assignee", "repeat_of", "merged_into", "created_by", "sla_policy"]
    # Changes go through services (they write the timeline); the admin only shows cases.
    readonly_fields = [f.name for f in Case._meta.concrete_fields if f.name != "id"]
    inlines = [CaseEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
