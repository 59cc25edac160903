from django.contrib import admin

from voxloop.channels.email.models import Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ["name", "host", "username", "folder", "enabled", "last_uid", "last_polled_at", "last_error"]
    list_filter = ["enabled"]
    readonly_fields = ["last_uid", "uidvalidity", "last_polled_at", "last_error", "polling_since"]
