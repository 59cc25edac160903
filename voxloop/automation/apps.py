from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AutomationConfig(AppConfig):
    name = "voxloop.automation"
    label = "automation"
    verbose_name = _("Automation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.analysis.refine import sentiment_refined
        from voxloop.analysis.services import analysis_replaced, feedback_analysed
        from voxloop.automation.services import apply_rules_after_analysis, apply_rules_after_refine, mark_rules_due

        # In the analysis transaction: the items are due for the rules until a rules run commits (the catch-up's
        # record, services.apply_pending_rules).
        analysis_replaced.register(mark_rules_due)
        feedback_analysed.register(apply_rules_after_analysis)
        sentiment_refined.register(apply_rules_after_refine)
