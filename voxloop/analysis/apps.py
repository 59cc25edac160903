from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalysisConfig(AppConfig):
    name = "voxloop.analysis"
    verbose_name = _("Analysis")

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.accounts.people import register_skill_choices
        from voxloop.analysis import queries
        from voxloop.analysis.dispatch import queue_analysis
        from voxloop.feedback.hooks import TopicDirectory, feedback_stored, register_topic_directory
        from voxloop.feedback.panels import register_feedback_context

        feedback_stored.register(queue_analysis)
        # The inbox filters and names topics, and the feedback page shows the analysis, without feedback
        # importing analysis (a lower layer never imports a higher one).
        register_topic_directory(TopicDirectory(queries.top_level_topics, queries.topic_names, queries.with_topic))
        register_feedback_context("analysis", queries.panel_context)
        register_skill_choices(queries.topic_skill_choices)  # agents' skills are topics, chosen on the users page
