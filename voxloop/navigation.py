from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.permissions import Capability, has
from voxloop.actions.queries import NAV_LABEL as ACTIONS_NAV_LABEL
from voxloop.analysis.queries import NAV_LABEL as ANALYSIS_MODELS_NAV_LABEL
from voxloop.cases.queries import NAV_LABEL as CASES_NAV_LABEL
from voxloop.insights.pages import NAV_LABEL as INSIGHTS_NAV_LABEL
from voxloop.insights.pages import insight_navigation
from voxloop.metrics.queries import NAV_LABEL as METRICS_NAV_LABEL
from voxloop.privacy.queries import NAV_LABEL as PRIVACY_NAV_LABEL
from voxloop.reports.queries import NAV_LABEL as REPORTS_NAV_LABEL
from voxloop.surveys.queries import NAV_LABEL as SURVEYS_NAV_LABEL
from voxloop.webhooks.queries import NAV_LABEL as WEBHOOKS_NAV_LABEL


def navigation(request: HttpRequest) -> dict:
    """The main menu, shown to signed-in staff."""
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav_items": [], "nav_main": [], "nav_menus": []}
    items = [
        (_("Inbox"), reverse("feedback:inbox"), "feedback"),
        (_("Customers"), reverse("feedback:customers"), "customers"),
        (_("Add feedback"), reverse("feedback:staff_entry"), "staff_entry"),
        (_("Imports"), reverse("fileimport:list"), "imports"),
        (CASES_NAV_LABEL, reverse("cases:inbox"), "cases"),
    ]
    if has(user, Capability.BUILD_SURVEYS):
        items.append((SURVEYS_NAV_LABEL, reverse("surveys:list"), "surveys"))
    if has(user, Capability.READ_METRICS):
        items.append((METRICS_NAV_LABEL, reverse("metrics:panel"), "metrics"))
        insight_pages = insight_navigation()
        if insight_pages:
            items.append((INSIGHTS_NAV_LABEL, insight_pages[0]["url"], "insights"))
    if has(user, Capability.READ_METRICS) or has(user, Capability.PROPOSE_ACTIONS):
        items.append((ACTIONS_NAV_LABEL, reverse("actions:list"), "actions"))
    if has(user, Capability.READ_METRICS):
        items.append((REPORTS_NAV_LABEL, reverse("reports:list"), "reports"))
    if has(user, Capability.MANAGE_MAILBOXES):
        items.append((_("Mailboxes"), reverse("email:mailboxes"), "mailboxes"))
    if has(user, Capability.ADMINISTER):
        items.append((_("API tokens"), reverse("api_tokens:list"), "api_tokens"))
        items.append((WEBHOOKS_NAV_LABEL, reverse("webhooks:list"), "webhooks"))
        items.append((_("Rules"), reverse("automation:list"), "rules"))
        items.append((_("SLA policies and calendars"), reverse("sla:overview"), "sla"))
        items.append((_("Users and teams"), reverse("people:overview"), "people"))
        items.append((_("Setup checklist"), reverse("checklist:page"), "checklist"))
        items.append((_("Outgoing mail"), reverse("outgoing_mail:list"), "outgoing_mail"))
        items.append((_("Audit log"), reverse("audit_log"), "audit_log"))
        items.append((PRIVACY_NAV_LABEL, reverse("privacy:inbox"), "privacy"))
    if has(user, Capability.MANAGE_MODELS):
        items.append((ANALYSIS_MODELS_NAV_LABEL, reverse("analysis:models"), "models"))
    return {"nav_items": items, **_grouped(items, getattr(request, "resolver_match", None))}


# The top bar shows the daily work directly and groups the rest into two menus, so it fits on one line at
# 1280 px in both languages. A page not named here (one added later) goes into the settings menu.
MAIN_KEYS = ("feedback", "cases", "customers", "surveys", "metrics", "insights", "actions", "reports")
COLLECT_KEYS = ("staff_entry", "imports", "mailboxes")


def _grouped(items: list[tuple], match: object) -> dict:
    main = [i for i in items if i[2] in MAIN_KEYS]
    collect = [i for i in items if i[2] in COLLECT_KEYS]
    settings = [i for i in items if i[2] not in MAIN_KEYS and i[2] not in COLLECT_KEYS]
    menus = [(key, label, entries) for key, label, entries in (
        ("collect", _("Collect"), collect),
        ("settings", _("Settings"), settings),
    ) if entries]  # fmt: skip
    return {"nav_main": main, "nav_menus": menus}
