from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "voxloop.reports"
    label = "reports"
    verbose_name = _("Service-quality reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.notify.services import register_outcome_handler
        from voxloop.reports.services import record_outcome

        # Each attempt of the outbox to send a report's e-mail is copied into the report's delivery log.
        register_outcome_handler(record_outcome)
