"""What an administrator has not configured yet: routing, the escalation chain, outgoing mail, holidays.

Read by the setup checklist page (and its summary on the rules and SLA pages). Each item says what is missing in
words and where to fix it; nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from voxloop.accounts.models import Role, Team, User
from voxloop.automation.models import RoutingRule
from voxloop.cases.models import BusinessCalendar, EscalationLevel
from voxloop.cases.sla import chain_gaps

# Backends that keep mail on this machine (the demo's sink, development): nothing reaches a person.
SINK_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend": "console",
    "django.core.mail.backends.filebased.EmailBackend": "file",
    "django.core.mail.backends.locmem.EmailBackend": "memory",
    "django.core.mail.backends.dummy.EmailBackend": "dummy",
}


@dataclass
class ChecklistItem:
    key: str
    title: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    fix_url: str = ""
    fix_label: str = ""


def _routing() -> ChecklistItem:
    rules = list(RoutingRule.objects.filter(enabled=True).select_related("team"))
    problems = []
    if not rules:
        problems.append(_("No enabled routing rule: every new case waits in the shared queue."))
    staffed = set(
        Team.objects.filter(members__is_active=True).annotate(n=Count("members")).values_list("pk", flat=True)
    )
    for team in sorted({r.team for r in rules}, key=lambda t: t.name):
        if team.pk not in staffed:
            problems.append(
                _("Routing sends cases to “%(team)s”, but the team has no active member.") % {"team": team.name}
            )
    return ChecklistItem(
        "routing", _("Routing rules"), not problems, problems, reverse("automation:list"), _("Edit routing rules")
    )


def _escalation() -> ChecklistItem:
    problems = []
    levels = list(EscalationLevel.objects.select_related("user"))
    if not levels:
        problems.append(_("No escalation level: breached cases are not escalated to anyone."))
    for gap in chain_gaps():
        if gap.target == EscalationLevel.Target.NAMED_USER:
            if gap.team is None:
                problems.append(_("Level %(level)s names no active person.") % {"level": gap.level})
        elif gap.team is None:
            problems.append(
                _("Level %(level)s reaches nobody for cases without a team: no active manager or department manager.")
                % {"level": gap.level}
            )
        else:
            reason = (
                _("the team has no lead")
                if gap.target == EscalationLevel.Target.TEAM_LEAD
                else _("the team has no department with a manager")
            )
            problems.append(
                _("Level %(level)s reaches nobody for team “%(team)s”: %(reason)s.")
                % {"level": gap.level, "team": gap.team.name, "reason": reason}
            )
    return ChecklistItem(
        "escalation",
        _("Escalation chain"),
        not problems,
        problems,
        reverse("sla:overview") + "#escalation-levels",
        _("Edit the escalation chain"),
    )


def _mail() -> ChecklistItem:
    backend = settings.EMAIL_BACKEND
    problems = []
    sink = SINK_BACKENDS.get(backend)
    if sink:
        problems.append(
            _(
                "No mail server: e-mails to staff and customers are kept on this server (%(where)s) and reach "
                "nobody. Set EMAIL_BACKEND, EMAIL_HOST and the related settings."
            )
            % {
                "where": {
                    "console": _("the console log"),
                    "file": _("files"),
                    "memory": _("memory"),
                    "dummy": _("discarded"),
                }[sink]
            }  # fmt: skip
        )
    elif backend.endswith("smtp.EmailBackend") and not settings.EMAIL_HOST:
        problems.append(_("The SMTP backend is chosen but EMAIL_HOST is empty."))
    without_address = User.objects.filter(is_active=True, email="").exclude(role=Role.VIEWER).count()
    if without_address:
        problems.append(
            ngettext(
                "%(count)s active staff member has no e-mail address and gets no notifications by mail.",
                "%(count)s active staff members have no e-mail address and get no notifications by mail.",
                without_address,
            )
            % {"count": without_address}
        )
    # The outgoing mail page (notify) shows what went out, or would have, where no server is set.
    return ChecklistItem(
        "mail", _("Outgoing mail"), not problems, problems, reverse("outgoing_mail:list"), _("See the outgoing mail")
    )


def _holidays() -> ChecklistItem:
    next_year = timezone.localdate().year + 1
    problems = []
    calendars = list(BusinessCalendar.objects.annotate(n=Count("holidays", filter=Q(holidays__date__year=next_year))))
    fix_url = ""
    for calendar in calendars:
        if not calendar.n:
            problems.append(
                _("Calendar “%(calendar)s” has no holidays for %(year)s.")
                % {"calendar": calendar.name, "year": next_year}
            )
            fix_url = fix_url or reverse("sla:calendar_edit", args=[calendar.pk]) + "#holidays"
    if not calendars:
        problems.append(_("No business calendar: SLA clocks cannot count working hours."))
        fix_url = reverse("sla:calendar_new")
    return ChecklistItem(
        "holidays", _("Holidays"), not problems, problems, fix_url or reverse("sla:overview"), _("Load holidays")
    )


def _people() -> ChecklistItem:
    agents = User.objects.filter(is_active=True, role__in=[Role.AGENT, Role.MANAGER])
    lonely = list(agents.filter(teams__isnull=True).order_by("username").values_list("username", flat=True)[:10])
    problems = []
    if not agents.exists():
        problems.append(_("No agents yet: nobody can work on cases."))
    if lonely:
        problems.append(
            _("Not in any team (they see only cases assigned to them): %(names)s") % {"names": ", ".join(lonely)}
        )
    return ChecklistItem("people", _("Agents and teams"), not problems, problems, reverse("people:overview"),
                         _("Edit users and teams"))  # fmt: skip


def setup_checklist() -> list[ChecklistItem]:
    return [_routing(), _escalation(), _mail(), _holidays(), _people()]


def open_items(items: list[ChecklistItem] | None = None) -> int:
    return sum(1 for item in (items if items is not None else setup_checklist()) if not item.ok)


def summary() -> dict[str, Any]:
    items = setup_checklist()
    return {"items": items, "open": open_items(items)}
