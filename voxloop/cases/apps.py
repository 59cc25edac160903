from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "voxloop.cases"
    label = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"
