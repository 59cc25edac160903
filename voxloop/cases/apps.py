from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "voxloop.cases"
    label = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The customer page and the feedback page (feedback app, a lower layer) show the cases through panels.
        from voxloop.cases import customer_view

        customer_view.register()
