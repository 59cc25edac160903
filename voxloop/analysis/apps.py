from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    name = "voxloop.analysis"
    verbose_name = _("Analysis")

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.analysis.dispatch import queue_analysis
        from voxloop.feedback.hooks import feedback_stored

        feedback_stored.register(queue_analysis)
