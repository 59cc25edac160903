from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "voxloop.insights"
    # The label stays "dashboards" (the app's name until wave 2) so its tables and migrations keep their names.
    label = "dashboards"
    verbose_name = _("Insights")
    default_auto_field = "django.db.models.BigAutoField"
