from django.contrib import admin
from django.http import HttpRequest

from voxloop.privacy.models import ConsentRecord, DataSubjectRequest, RetentionPolicy, RetentionRun


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    # Read-only here: every step goes through the privacy pages, which enforce four eyes and audit each step.
    list_display = ("id", "kind", "state", "received_at", "due_at", "completed_at")
    list_filter = ("kind", "state")

    def has_add_permission(self, request: HttpRequest, obj: DataSubjectRequest | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: DataSubjectRequest | None = None) -> bool:
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("customer", "purpose", "withdrawn", "basis", "source", "recorded_at")
    list_filter = ("purpose", "withdrawn")
    raw_id_fields = ("customer", "recorded_by")

    def has_change_permission(self, request: HttpRequest, obj: ConsentRecord | None = None) -> bool:
        return False  # a ledger: entries are added, never edited


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("data_class", "age_days", "legal_hold", "is_active", "updated_at")


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("at", "dry_run", "started_by")
    readonly_fields = ("at", "dry_run", "results", "started_by")
