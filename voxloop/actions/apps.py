from django.apps import AppConfig
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "voxloop.actions"
    label = "actions"
    verbose_name = _("Improvement actions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.actions.incidents import reopen_on_alert
        from voxloop.actions.queries import action_annotations, create_link, responsibilities
        from voxloop.alerts.hooks import register_alert_announcer
        from voxloop.core.annotations import (
            register_annotation_provider,
            register_annotations_feed,
            register_create_action_link,
            register_responsibility_provider,
        )

        # The trends and Pareto charts mark actions at their intervention dates; pages that show a cause offer
        # a "create action" link with its scope (voxloop.core.annotations).
        register_annotation_provider(action_annotations)
        register_create_action_link(create_link)
        register_annotations_feed(lambda: reverse("actions:annotations"))
        # The insight pages' "responsible department" cut: each department's topics are its actions' topics.
        register_responsibility_provider(responsibilities)
        # Early warning firing again on a closed action's scope reopens it (alerts sits below and never names us).
        register_alert_announcer("actions", reopen_on_alert)
