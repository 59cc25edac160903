from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "voxloop.metrics"
    label = "metrics"
    verbose_name = _("Metrics")
    default_auto_field = "django.db.models.BigAutoField"
