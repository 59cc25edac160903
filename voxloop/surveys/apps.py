from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "voxloop.surveys"
    label = "surveys"
    verbose_name = _("Surveys")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: these modules use models, which are not loaded when this file is imported.
        from voxloop.surveys import customer_view, invitations

        # Register the follow-up sender with the cases app when its hook exists (see invitations).
        invitations.register_followup_sender()
        # The customer's pages (feedback app, a lower layer) show their survey answers through a panel.
        customer_view.register()
