"""Who may do what: the one permission policy of VoxLoop.

Every page, API router and service asks this module, by capability, whether a user may act; nothing else
compares role names. Services enforce the capabilities that guard a state change too (``require``), so the
API cannot do what the page forbids. What a user may *see* of a case (its team) is data scoping and lives
with the case queries; whether a role may see personal data unmasked is the capability
``SEE_PERSONAL_DATA``, applied by ``voxloop.accounts.privacy``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Role


class Capability(StrEnum):
    SEE_PERSONAL_DATA = "see_personal_data"  # contacts, names, raw payloads and free text unmasked
    WORK_ON_CASES = "work_on_cases"  # reply, take, resolve, escalate the cases of one's teams
    MANAGE_CASES = "manage_cases"  # assign to others, move to another team, macros, the approvals queue
    OFFER_COMPENSATION = "offer_compensation"
    DECIDE_COMPENSATION = "decide_compensation"  # approve or reject someone else's request (within a limit)
    ENTER_FEEDBACK = "enter_feedback"  # staff entry of a call, visit or chat
    IMPORT_FILES = "import_files"
    CORRECT_ANALYSIS = "correct_analysis"
    MANAGE_MODELS = "manage_models"  # retrain, re-analyse
    READ_METRICS = "read_metrics"  # metrics panel, insight pages and their exports
    BUILD_SURVEYS = "build_surveys"
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts"
    START_ANALYSIS_RUNS = "start_analysis_runs"  # emerging-topic runs
    ACT_ON_SEGMENTS = "act_on_segments"  # open cases in bulk for a segment, recompute segments
    MANAGE_MAILBOXES = "manage_mailboxes"
    PROPOSE_ACTIONS = "propose_actions"  # propose an improvement action, comment, work on one's own actions
    APPROVE_ACTIONS = "approve_actions"  # approve, cancel and close improvement actions of any department
    PREPARE_REPORTS = "prepare_reports"  # generate service-quality reports, edit drafts, schedules, test sends
    APPROVE_REPORTS = "approve_reports"  # approve a report and send it to its recipients
    ADMINISTER = "administer"  # API tokens, webhooks, rules, journey, adopting topics, the audit log


ADMIN, MANAGER, AGENT, ANALYST, VIEWER = Role.ADMIN, Role.MANAGER, Role.AGENT, Role.ANALYST, Role.VIEWER

# The grants, one line per capability; superusers hold every capability.
GRANTS: dict[Capability, frozenset[str]] = {
    Capability.SEE_PERSONAL_DATA: frozenset({ADMIN, MANAGER, AGENT}),
    Capability.WORK_ON_CASES: frozenset({ADMIN, MANAGER, AGENT}),
    Capability.MANAGE_CASES: frozenset({ADMIN, MANAGER}),
    Capability.OFFER_COMPENSATION: frozenset({ADMIN, MANAGER, AGENT}),
    Capability.DECIDE_COMPENSATION: frozenset({ADMIN, MANAGER}),
    Capability.ENTER_FEEDBACK: frozenset({ADMIN, MANAGER, AGENT}),
    Capability.IMPORT_FILES: frozenset({ADMIN, MANAGER, AGENT, ANALYST}),
    Capability.CORRECT_ANALYSIS: frozenset({ADMIN, MANAGER, AGENT, ANALYST}),
    Capability.MANAGE_MODELS: frozenset({ADMIN, ANALYST}),
    Capability.READ_METRICS: frozenset({ADMIN, MANAGER, ANALYST, VIEWER}),
    Capability.BUILD_SURVEYS: frozenset({ADMIN, MANAGER, ANALYST}),
    Capability.ACKNOWLEDGE_ALERTS: frozenset({ADMIN, MANAGER, ANALYST}),
    Capability.START_ANALYSIS_RUNS: frozenset({ADMIN, MANAGER, ANALYST}),  # viewers look, they start no jobs
    Capability.ACT_ON_SEGMENTS: frozenset({ADMIN, MANAGER}),
    Capability.MANAGE_MAILBOXES: frozenset({ADMIN, MANAGER}),
    Capability.PROPOSE_ACTIONS: frozenset({ADMIN, MANAGER, AGENT, ANALYST}),
    Capability.APPROVE_ACTIONS: frozenset({ADMIN, MANAGER}),
    Capability.PREPARE_REPORTS: frozenset({ADMIN, MANAGER, ANALYST}),
    Capability.APPROVE_REPORTS: frozenset({ADMIN, MANAGER}),
    Capability.ADMINISTER: frozenset({ADMIN}),
}
# Django staff operate the server (the admin site, mail set-up) whatever their product role.
STAFF_GRANTS: frozenset[Capability] = frozenset({Capability.MANAGE_MAILBOXES})

DENIED_MESSAGES = {
    Capability.SEE_PERSONAL_DATA: _("Your role does not see customers' personal data."),
    Capability.WORK_ON_CASES: _("Analysts and viewers can read cases but not change them."),
    Capability.MANAGE_CASES: _(
        "Only managers and administrators assign cases to other people or move them to another team."
    ),
    Capability.OFFER_COMPENSATION: _("Your role may not offer compensation."),
    Capability.DECIDE_COMPENSATION: _("Only managers and administrators decide on compensation."),
    Capability.ENTER_FEEDBACK: _("Only agents, managers and administrators enter feedback."),
    Capability.IMPORT_FILES: _("Your role may not import files."),
    Capability.CORRECT_ANALYSIS: _("Your role may not correct the analysis."),
    Capability.MANAGE_MODELS: _("Only analysts and administrators retrain and re-analyse."),
    Capability.READ_METRICS: _("Your role does not see metrics and insights."),
    Capability.BUILD_SURVEYS: _("Only managers, analysts and administrators work on surveys."),
    Capability.ACKNOWLEDGE_ALERTS: _("Only managers, analysts and administrators acknowledge alerts."),
    Capability.START_ANALYSIS_RUNS: _("Viewers look at the results; they do not start analysis runs."),
    Capability.ACT_ON_SEGMENTS: _("Only managers and administrators act on a segment."),
    Capability.MANAGE_MAILBOXES: _("Only managers and administrators set up mailboxes."),
    Capability.PROPOSE_ACTIONS: _("Viewers can read improvement actions but not propose or change them."),
    Capability.APPROVE_ACTIONS: _("Only managers and administrators approve, cancel or close improvement actions."),
    Capability.PREPARE_REPORTS: _("Only managers, analysts and administrators prepare service-quality reports."),
    Capability.APPROVE_REPORTS: _("Only managers and administrators approve and send service-quality reports."),
    Capability.ADMINISTER: _("Only administrators may do this."),
}


class PolicyDenied(PermissionDenied):
    """A user tried something the policy does not grant their role. Pages answer 403, the API 403 with
    ``code`` "not_allowed" and the message."""

    code = "not_allowed"

    def __init__(self, capability: Capability, message: Any = None) -> None:
        self.capability = capability
        self.message = str(message if message is not None else DENIED_MESSAGES[capability])
        super().__init__(self.message)


def role_of(user: Any) -> str:
    """The role the policy reads: a superuser counts as an administrator; anonymous users have none."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", True):
        return ""
    return ADMIN if getattr(user, "is_superuser", False) else str(getattr(user, "role", "") or "")


def has(user: Any, capability: Capability) -> bool:
    """Whether ``user`` holds ``capability``."""
    role = role_of(user)
    if not role:
        return False
    if capability in STAFF_GRANTS and getattr(user, "is_staff", False):
        return True
    return role in GRANTS[capability]


def require(user: Any, capability: Capability, message: Any = None) -> None:
    """Raise ``PolicyDenied`` unless ``user`` holds ``capability``."""
    if not has(user, capability):
        raise PolicyDenied(capability, message)


def roles_with(capability: Capability) -> frozenset[str]:
    """The roles granted ``capability`` (for querying users by role, e.g. who may approve)."""
    return GRANTS[capability]


# Named checks for the questions asked most often.
def may_see_personal_data(user: Any) -> bool:
    return has(user, Capability.SEE_PERSONAL_DATA)


def may_manage_cases(user: Any) -> bool:
    return has(user, Capability.MANAGE_CASES)


def may_work_on_cases(user: Any) -> bool:
    return has(user, Capability.WORK_ON_CASES)


def may_read_metrics(user: Any) -> bool:
    return has(user, Capability.READ_METRICS)


def may_administer(user: Any) -> bool:
    return has(user, Capability.ADMINISTER)
