"""Canned replies (macros): reply text with a fixed set of variables, rendered without a template engine.

Macro text is written by staff and ends up in mail to customers, so it is never handed to the Django
template engine (which could reach attributes of objects in its context). A macro may only use the
names in VARIABLES, written as ``{name}``; ``{{`` and ``}}`` stand for literal braces. Unknown names are
refused when the macro is saved, so an agent never sends a half-filled reply."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from voxloop.accounts.models import Team, User
from voxloop.cases.models import CannedReply, Case

VARIABLES: dict[str, object] = {
    "customer_name": gettext_lazy("the customer's name"),
    "case_number": gettext_lazy("the case number, e.g. C0000042"),
    "agent_name": gettext_lazy("your name"),
    "tracking_url": gettext_lazy("the customer's tracking link for this case"),
    "due_time": gettext_lazy("when the case is due to be resolved"),
}

# "{{" / "}}" are literal braces; "{...}" is a placeholder; a lone brace is an error (a likely typo).
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
MAX_BODY_CHARS = 10_000


class MacroError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def variables_in(body: str) -> list[str]:
    """The placeholders a macro uses, in order of first use. Raises MacroError for unknown names or stray braces."""
    used: list[str] = []
    unknown: list[str] = []
    stray = False
    for match in _TOKEN.finditer(body):
        if match.group(0) in ("{{", "}}"):
            continue
        if match.group(1) is None:
            stray = True
            continue
        name = match.group(1).strip()
        if name in VARIABLES:
            if name not in used:
                used.append(name)
        elif name not in unknown:
            unknown.append(name)
    if unknown:
        raise MacroError(
            _("Unknown variable %(names)s. Use only %(allowed)s.")
            % {
                "names": ", ".join("{" + n + "}" for n in unknown),
                "allowed": ", ".join("{" + n + "}" for n in VARIABLES),
            }
        )
    if stray:
        raise MacroError(_("A single { or } is not allowed; write {{ or }} for a literal brace."))
    return used


def render_macro(body: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders with plain strings. Values are inserted as text, never interpreted again."""
    variables_in(body)  # same checks as at save time: a macro edited in the admin cannot slip through

    def substitute(match: re.Match[str]) -> str:
        piece = match.group(0)
        if piece in ("{{", "}}"):
            return piece[0]
        return str(values.get(match.group(1).strip(), ""))

    return _TOKEN.sub(substitute, body)


def clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise MacroError(_("A canned reply needs some text."))
    if len(body) > MAX_BODY_CHARS:
        raise MacroError(_("A canned reply may have at most %(n)s characters.") % {"n": MAX_BODY_CHARS})
    variables_in(body)
    return body


def save_macro(
    macro: CannedReply | None,
    *,
    title: str,
    body: str,
    language: str = "",
    team: Team | None = None,
    is_active: bool = True,
    actor: User | None = None,
) -> CannedReply:
    """Create or update a canned reply after checking its variables."""
    title = (title or "").strip()
    if not title:
        raise MacroError(_("A canned reply needs a title."))
    body = clean_body(body)
    with transaction.atomic():
        if macro is None:
            macro = CannedReply(created_by=actor)
        macro.title = title[:200]
        macro.body = body
        macro.language = language
        macro.team = team
        macro.is_active = is_active
        macro.save()
    return macro


def tracking_url(case: Case) -> str:
    """The customer's tracking link, absolute (it goes into mail); built by the tracking module, the page's owner."""
    try:
        # imported here: without the tracking module the variable renders empty (the except below)
        from voxloop.cases.tracking import tracking_url as build
    except ImportError:  # tracking pages not installed: the variable renders empty rather than a wrong link
        return ""
    try:
        return build(case)
    except NoReverseMatch:
        return ""


def _format_due(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def case_values(case: Case, agent: User | None) -> dict[str, str]:
    customer = case.customer
    customer_name = ""
    if customer is not None:
        customer_name = customer.name or ""
    return {
        "customer_name": customer_name,
        "case_number": case.number or str(case.pk),
        "agent_name": (agent.get_full_name() or agent.get_username()) if agent else "",
        "tracking_url": tracking_url(case),
        "due_time": _format_due(case.resolution_due_at),
    }


def macros_for_case(case: Case) -> QuerySet[CannedReply]:
    """Active macros usable on this case: the case team's and the general ones, in its language or any."""
    team_q = Q(team__isnull=True) | Q(team_id=case.team_id) if case.team_id else Q(team__isnull=True)
    language = (case.language or (case.customer.language if case.customer_id and case.customer else "")).lower()
    language_q = Q(language="")
    if language:
        language_q |= Q(language__iexact=language) | Q(language__istartswith=language.split("-")[0])
    return CannedReply.objects.filter(team_q, language_q, is_active=True).order_by("title")


def rendered_macros(case: Case, agent: User | None) -> list[tuple[CannedReply, str]]:
    """Each usable macro with its text for this case; a macro that no longer renders is left out."""
    values = case_values(case, agent)
    out = []
    for macro in macros_for_case(case):
        try:
            out.append((macro, render_macro(macro.body, values)))
        except MacroError:
            continue
    return out
