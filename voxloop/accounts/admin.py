from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from voxloop.accounts.models import Department, Team, User


@admin.register(User)
class VoxUserAdmin(UserAdmin):  # type: ignore[type-arg]  # not subscriptable at run time
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("VoxLoop", {"fields": ("role", "teams", "language", "skills", "is_away")}),
    )
    list_display = ("username", "email", "role", "is_active", "is_away")
    list_filter = ("role", "is_active", "teams")


admin.site.register(Department)
admin.site.register(Team)
