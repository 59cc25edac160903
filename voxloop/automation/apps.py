from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "voxloop.automation"
    label = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"
