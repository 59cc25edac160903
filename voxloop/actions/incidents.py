"""Incidents: an action that stands for a mass failure answers its linked open cases in one go, and a closed
action reopens when early warning fires again on its scope (docs/actions.md, "Incidents").

Each case is answered and resolved through the cases services (``add_reply`` then ``resolve_case``), in its own
transaction: the reply reaches each customer through their own channel by the case outbox, each case keeps its
own timeline, and one case that cannot be answered (merged, closed meanwhile) never undoes the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, require
from voxloop.actions.hooks import ReopenNotice, action_reopened
from voxloop.actions.models import ActionEventKind, ActionStatus, ImprovementAction
from voxloop.actions.services import ActionError, ActionErrorCode, _announce, _event, _require_work, action_path
from voxloop.alerts.hooks import AlertRaised
from voxloop.alerts.models import AlertDimension
from voxloop.cases import services as case_services
from voxloop.cases.delivery import reply_route
from voxloop.cases.guards import CaseError
from voxloop.cases.models import ACTIVE_STATUSES, Case
from voxloop.cases.tracking import customer_language

CLOSED = (ActionStatus.CLOSED_EFFECTIVE, ActionStatus.CLOSED_NOT_EFFECTIVE)
# Why a reply would reach nobody, short (notify's NotSentReason codes, as cases.delivery.ReplyRoute carries them).
NOT_SENT_LABELS = {
    "no_address": gettext_lazy("not sent: no address"),
    "opted_out": gettext_lazy("not sent: opted out"),
    "consent_withdrawn": gettext_lazy("not sent: withdrew consent"),
}


@dataclass
class AnswerResult:
    answered: list[str] = field(default_factory=list)  # case numbers
    refused: list[tuple[str, str]] = field(default_factory=list)  # (case number, why, in the reader's language)


def set_public_note(actor: User, action: ImprovementAction, note: str, note_en: str | None = None) -> ImprovementAction:
    """What customers may read about the fix: the reply to linked cases and the "we fixed it" notice. ``note``
    is in the site's language; ``note_en`` (None: left as it is, "": none) is what customers who read English
    get instead."""
    _require_work(actor, action)
    note = (note or "").strip()
    if not note:
        raise ActionError(ActionErrorCode.INVALID, _("Write the note customers will read."))
    fields = {"public_note": note}
    if note_en is not None:
        fields["public_note_en"] = note_en.strip()
    ImprovementAction.objects.filter(pk=action.pk).update(**fields, updated_at=timezone.now())
    for name, value in fields.items():
        setattr(action, name, value)
    return action


def _open_linked_cases(action: ImprovementAction) -> QuerySet[Case]:
    return action.cases.filter(status__in=ACTIVE_STATUSES, merged_into__isnull=True).select_related("customer")


def answer_routes(action: ImprovementAction) -> list[tuple[str, str, int]]:
    """How the bulk reply would reach the customers of the linked open cases, counted by channel: (channel or "",
    "SMS" / "not sent: no address" in the reader's language, how many); the same routing the reply itself takes
    (voxloop.cases.delivery.reply_route)."""
    counts: dict[tuple[str, str], int] = {}
    for case in _open_linked_cases(action).order_by("pk"):
        route = reply_route(case)
        if route.will_send:
            key = (route.channel, route.channel_label)
        else:
            key = ("", str(NOT_SENT_LABELS.get(route.reason_code, gettext_lazy("not sent"))))
        counts[key] = counts.get(key, 0) + 1
    return sorted(((c, label, n) for (c, label), n in counts.items()), key=lambda t: (t[0] == "", -t[2], t[0]))


def answer_linked_cases(actor: User, action: ImprovementAction, note: str = "") -> AnswerResult:
    """Reply to every linked open case with the action's public note, in the customer's language, and resolve it
    (root cause: the action's first topic). Managers do it: the cases may belong to many teams."""
    require(actor, Capability.MANAGE_CASES)
    _require_work(actor, action)
    if note.strip():
        action = set_public_note(actor, action, note)
    if not action.public_note:
        raise ActionError(ActionErrorCode.INVALID, _("Write the note customers will read."))
    if not action.topics:
        raise ActionError(
            ActionErrorCode.INVALID, _("Resolving cases needs a root cause: give the action a topic first.")
        )
    root_cause = action.topics[0]
    result = AnswerResult()
    for case in _open_linked_cases(action).order_by("pk"):
        # in the customer's language, by the rule their reply e-mail follows (the case's, the customer's, the
        # language they wrote in)
        note = action.note_for(customer_language(case) or settings.LANGUAGE_CODE)
        try:
            with transaction.atomic():
                case_services.add_reply(case, actor, note, public=True)
                case_services.resolve_case(case, actor, root_cause=root_cause, resolution=note)
        except CaseError as exc:
            result.refused.append((case.number, exc.message))
        else:
            result.answered.append(case.number)
    if result.answered or result.refused:
        _event(
            action, ActionEventKind.CASES_ANSWERED, actor,
            payload={"answered": result.answered, "refused": [n for n, _why in result.refused]},
        )  # fmt: skip
    return result


def _matches(action: ImprovementAction, dimension: str, value: str) -> bool:
    if dimension == AlertDimension.TOPIC:
        return any(value == t or value == t.split(".")[0] or t == value.split(".")[0] for t in action.topics)
    if dimension == AlertDimension.PRODUCT:
        return value in {str(p) for p in action.products}
    if dimension == AlertDimension.CHANNEL:
        return value in action.channels
    return False


def reopen_on_alert(raised: AlertRaised) -> int:
    """Early warning fired (a new alert, or a worse one) on a topic, product or channel: every action closed on
    that scope before the alert's last day reopens (in progress again, verdict cleared) and its owner is told.
    Registered with alerts in ActionsConfig.ready; returns how many actions reopened."""
    alert = raised.alert
    if not alert.dimension or not alert.value:
        return 0  # an alert on the whole business names no scope
    reopened = 0
    for action in ImprovementAction.objects.filter(status__in=CLOSED, closed_at__isnull=False).select_related(
        "department", "owner"
    ):
        assert action.closed_at is not None
        if not _matches(action, alert.dimension, alert.value) or alert.last_day < timezone.localdate(action.closed_at):
            continue
        with transaction.atomic():
            previous = action.status
            if not ImprovementAction.objects.filter(pk=action.pk, status=previous).update(
                status=ActionStatus.IN_PROGRESS, closed_at=None, latest_verdict="", updated_at=timezone.now()
            ):
                continue  # someone else moved it meanwhile
            action.refresh_from_db()
            _event(
                action, ActionEventKind.REOPENED, None, from_status=previous, to_status=action.status,
                payload={"alert_id": alert.pk, "alert": alert.label, "metric": alert.metric},
            )  # fmt: skip
            _announce("action.status_changed", action, from_status=previous, to_status=action.status)
            notice = ReopenNotice(action.pk, action.title, action_path(action), [action.owner_id], alert.label)
            transaction.on_commit(partial(action_reopened.announce, notice))
            reopened += 1
    return reopened
