from django.contrib import admin

from voxloop.analysis.models import Correction, Topic


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("code", "name_zh", "name_en", "parent", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "name_zh", "name_en")


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    list_display = ("feedback", "field", "old_value", "new_value", "user", "created_at")
    list_filter = ("field",)
    readonly_fields = ("feedback", "field", "old_value", "new_value", "model_version", "user", "created_at")
