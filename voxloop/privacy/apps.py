from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "voxloop.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: these modules use models, which are not loaded when this file is imported.
        from voxloop.feedback.hooks import register_contact_check, register_ingest_screen, register_record_screen
        from voxloop.privacy.services import withdrawn_customer_ids
        from voxloop.privacy.tombstones import screen_erased_records, screen_erased_subjects
        from voxloop.webhooks.services import OTHER_EVENTS

        # Lower layers announce; privacy subscribes (DESIGN §8): feedback never imports this app.
        register_ingest_screen(screen_erased_subjects)
        register_record_screen(screen_erased_records)
        register_contact_check(withdrawn_customer_ids)
        OTHER_EVENTS.setdefault("subject.erased", _("A person's data was erased (data-subject request)"))
