from django.contrib import admin

from voxloop.privacy.models import ConsentRecord, DataSubjectRequest, RetentionPolicy, RetentionRun


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):
    # Read-only here: every step goes through the privacy pages, which enforce four eyes and audit each step.
    list_display = ("id", "kind", "state", "received_at", "due_at", "completed_at")
    list_filter = ("kind", "state")

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    list_display = ("customer", "purpose", "withdrawn", "basis", "source", "recorded_at")
    list_filter = ("purpose", "withdrawn")
    raw_id_fields = ("customer", "recorded_by")

    def has_change_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False  # a ledger: entries are added, never edited


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = ("data_class", "age_days", "legal_hold", "is_active", "updated_at")


@admin.register(RetentionRun)
class RetentionRunAdmin(admin.ModelAdmin):
    list_display = ("at", "dry_run", "started_by")
    readonly_fields = ("at", "dry_run", "results", "started_by")
