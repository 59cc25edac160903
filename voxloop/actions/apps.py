from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActionsConfig(AppConfig):
    name = "voxloop.actions"
    label = "actions"
    verbose_name = _("Improvement actions")
    default_auto_field = "django.db.models.BigAutoField"
