from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "voxloop.alerts"
    label = "alerts"
    verbose_name = _("Early warning")
    default_auto_field = "django.db.models.BigAutoField"
