from django.apps import AppConfig
from django.core.checks import register
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "voxloop.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.actions.hooks import action_announced
        from voxloop.alerts.hooks import register_alert_announcer
        from voxloop.cases.outbox import register_event_handler
        from voxloop.webhooks.services import (
            check_settings,
            emit_alert_raised,
            handle_action_announcement,
            handle_case_event,
        )

        # Every case event is offered to the webhooks: the handler only stores deliveries (inside the outbox
        # transaction); a Celery task sends them after commit.
        register_event_handler(handle_case_event)
        register(check_settings)
        # A new or worse early-warning alert becomes an ``alert.raised`` delivery for the endpoints that want it.
        register_alert_announcer("webhooks", emit_alert_raised)
        # Improvement actions announce action.created / action.status_changed / action.verdict after commit.
        action_announced.register(handle_action_announcement)
