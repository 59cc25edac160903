from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "voxloop.cases"
    label = "cases"
    verbose_name = _("Cases")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        # The customer page and the feedback page (feedback app, a lower layer) show the cases through panels.
        from voxloop.automation.routing import register_open_case_counter
        from voxloop.automation.services import register_correction_handler, register_rule_runner
        from voxloop.cases import customer_view
        from voxloop.cases.followup import SKIP_LABELS
        from voxloop.cases.queries import open_cases_by_agent, register_reason_labels
        from voxloop.cases.rule_actions import RuleRun
        from voxloop.cases.withdrawal import withdraw_after_corrections

        customer_view.register()
        # A skipped follow-up's reason reads as words on the timeline, not as its stored code.
        register_reason_labels(SKIP_LABELS)
        # Automation decides and sits below cases: it hands the items its rules fire on to this app, which
        # writes the cases, and asks it for the agents' open cases when routing (docs/architecture/layers.md, L3).
        register_rule_runner(RuleRun)
        register_open_case_counter(open_cases_by_agent)
        # ... and the cases a label the refine lane corrected leaves without a reason: withdrawn or noted.
        register_correction_handler(withdraw_after_corrections)
