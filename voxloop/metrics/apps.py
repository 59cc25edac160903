from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "voxloop.metrics"
    label = "metrics"
    verbose_name = _("Metrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.analysis.services import analysis_replaced, analysis_replacing
        from voxloop.metrics import deltas

        # A re-analysis folds into the roll-ups by its difference (deltas.py), not by recomputing its days.
        analysis_replacing.register(deltas.before_reanalysis)
        analysis_replaced.register(deltas.after_reanalysis)
