from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    name = "voxloop.analysis"
    verbose_name = _("Analysis")

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.accounts.people import register_skill_choices
        from voxloop.analysis.dispatch import queue_analysis
        from voxloop.analysis.queries import topic_skill_choices
        from voxloop.feedback.hooks import feedback_stored

        feedback_stored.register(queue_analysis)
        register_skill_choices(topic_skill_choices)  # agents' skills are topics, chosen on the users page
