"""In-app notifications: the bell in the top bar and the list behind it.

``handle_case_event`` is a second outbox handler (registered in NotifyConfig.ready, beside the email one): it
stores Notification rows in the outbox transaction for the same colleagues the email planner picks (``plan``),
plus the new assignee of a case and everyone ``@mentioned`` in an internal note. A row keeps a template key and
its values, not finished text, so each reader sees it in the language they use at the time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import User
from voxloop.actions.hooks import OverdueNotice, ReopenNotice
from voxloop.cases.models import Case, CaseEvent, Clock, EventKind
from voxloop.cases.queries import visible_cases
from voxloop.notify.models import MessageKind, Notification, NotificationKind, NotificationPreference
from voxloop.notify.services import EMAIL_EVENT_KINDS, plan

# Staff emails and their in-app counterpart.
FROM_MESSAGE: dict[str, NotificationKind] = {
    MessageKind.STAFF_SLA_WARNING: NotificationKind.SLA_WARNING,
    MessageKind.STAFF_SLA_BREACH: NotificationKind.SLA_BREACH,
    MessageKind.STAFF_ESCALATION: NotificationKind.ESCALATION,
    MessageKind.STAFF_COMPENSATION: NotificationKind.APPROVAL_NEEDED,
    MessageKind.STAFF_FOLLOW_UP: NotificationKind.FOLLOW_UP,
    MessageKind.STAFF_CUSTOMER_MESSAGE: NotificationKind.CUSTOMER_REPLIED,
    MessageKind.STAFF_RULE: NotificationKind.RULE,
}

TEXTS: dict[str, Any] = {
    NotificationKind.ASSIGNED: _("%(actor)s assigned case %(number)s to you"),
    NotificationKind.CUSTOMER_REPLIED: _("The customer wrote again on case %(number)s"),
    NotificationKind.SLA_WARNING: _("Case %(number)s is close to its %(clock)s deadline"),
    NotificationKind.SLA_BREACH: _("Case %(number)s missed its %(clock)s deadline"),
    NotificationKind.ESCALATION: _("Case %(number)s was escalated to you (level %(level)s)"),
    NotificationKind.APPROVAL_NEEDED: _(
        "A compensation of %(amount)s %(currency)s on case %(number)s needs your approval"
    ),
    NotificationKind.MENTION: _("%(actor)s mentioned you in a note on case %(number)s"),
    NotificationKind.FOLLOW_UP: _("A follow-up on case %(number)s is due"),
    NotificationKind.RULE: _("The rule “%(rule)s” flagged case %(number)s"),
    NotificationKind.ACTION_OVERDUE: _("Your improvement action “%(title)s” is past its due date"),
    NotificationKind.ACTION_ESCALATED: _("The improvement action “%(title)s” of your department is overdue"),
    NotificationKind.ACTION_REOPENED: _(
        "Early warning fired again on “%(alert)s”: your action “%(title)s” is reopened"
    ),
}
# Said when customers told of the fix answered that it is not fixed (ReopenNotice.reason "customers").
REOPENED_BY_CUSTOMERS = _("Most customers told of the fix say it is not fixed: your action “%(title)s” is reopened")
# Said when the level named nobody for this case and the administrators stand in.
ESCALATION_FALLBACK = _(
    "Case %(number)s was escalated to level %(level)s, which names nobody for its team: you get it as an administrator"
)
CLOCK_LABELS = {Clock.FIRST_RESPONSE: _("first response"), Clock.RESOLUTION: _("resolution")}

# "@wang" or "@li.na" in a note; not the middle of an email address ("li@example.com"). Trailing dots are
# sentence punctuation, not part of the name.
MENTION_RE = re.compile(r"(?<![\w@.+-])@([\w.+-]*\w)")


def mentioned_usernames(text: str) -> list[str]:
    """The usernames ``@mentioned`` in a text, in order, each once (compared case-insensitively)."""
    seen: dict[str, str] = {}
    for name in MENTION_RE.findall(text or ""):
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def mentioned_users(text: str) -> list[User]:
    names = mentioned_usernames(text)
    if not names:
        return []
    wanted = {n.lower() for n in names}
    candidates = User.objects.filter(is_active=True, username__iregex=r"^(" + "|".join(map(re.escape, names)) + r")$")
    return [u for u in candidates.order_by("pk") if u.username.lower() in wanted]


def _actor_name(event: CaseEvent) -> str:
    actor = event.actor if event.actor_id else None
    return (actor.get_full_name() or actor.username) if actor else ""


def _recipients(event: CaseEvent, case: Case) -> list[tuple[str, User]]:
    payload = event.payload or {}
    if event.kind == EventKind.ASSIGNED:
        to_user_id = payload.get("to_user_id")
        user = User.objects.filter(pk=to_user_id, is_active=True).first() if isinstance(to_user_id, int) else None
        # Taking a case yourself, or a move that keeps the same person, tells nobody.
        if user is None or user.pk == event.actor_id or payload.get("from_user_id") == user.pk:
            return []
        return [(NotificationKind.ASSIGNED, user)]
    if event.kind == EventKind.INTERNAL_NOTE:
        # Only colleagues who may open the case: a mention must not lead someone to a page they cannot see.
        return [
            (NotificationKind.MENTION, u)
            for u in mentioned_users(payload.get("text", ""))
            if u.pk != event.actor_id and visible_cases(u).filter(pk=case.pk).exists()
        ]
    return [(FROM_MESSAGE[p.kind], p.to_user) for p in plan(event, case) if p.to_user and p.kind in FROM_MESSAGE]


def handle_case_event(event: CaseEvent) -> None:
    """Store this event's notifications. Runs in the outbox transaction; a retried run adds nothing twice."""
    if event.kind not in _INTERESTING:
        return
    case = (
        Case.objects.select_related("team__lead", "team__department__manager", "assignee")
        .filter(pk=event.case_id)
        .first()
    )
    if case is None:
        return
    payload = event.payload or {}
    values = {
        "number": case.number or str(case.pk),
        "actor": _actor_name(event),
        "clock": payload.get("clock", ""),
        "level": payload.get("level", ""),
        "amount": payload.get("amount", ""),
        "currency": payload.get("currency", ""),
        "rule": payload.get("rule", ""),
        "fallback": bool(payload.get("fallback_to_admins")),
    }
    rows = [
        Notification(user=user, kind=kind, case=case, event=event, values=values, created_at=event.created_at)
        for kind, user in _recipients(event, case)
    ]
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)


# The staff side of the email planner's events, plus assignments and notes (which mail nobody).
_INTERESTING = (EMAIL_EVENT_KINDS - {EventKind.ACKNOWLEDGED, EventKind.PUBLIC_REPLY, EventKind.RESOLVED}) | {
    EventKind.ASSIGNED,
    EventKind.INTERNAL_NOTE,
}


# --- reading ------------------------------------------------------------------------------------------------


def handle_action_overdue(notice: OverdueNotice) -> None:
    """An improvement action is late: the owner (or, escalated, the department's manager) gets a notification that
    links to the action. Runs once per notice (the actions app claims each notice before announcing it)."""
    kind = NotificationKind.ACTION_ESCALATED if notice.escalated else NotificationKind.ACTION_OVERDUE
    now = timezone.now()
    users = User.objects.filter(pk__in=notice.user_ids, is_active=True)
    Notification.objects.bulk_create(
        [
            Notification(user=u, kind=kind, values={"title": notice.title, "url": notice.url}, created_at=now)
            for u in users
        ]
    )


def handle_action_reopened(notice: ReopenNotice) -> None:
    """A closed improvement action reopened (early warning fired again on its scope, or customers told of the fix
    say it is not fixed): its owner hears of it, with a link to the action."""
    now = timezone.now()
    values = {"title": notice.title, "url": notice.url, "alert": notice.alert_label, "reason": notice.reason}
    Notification.objects.bulk_create(
        [
            Notification(user=u, kind=NotificationKind.ACTION_REOPENED, values=values, created_at=now)
            for u in User.objects.filter(pk__in=notice.user_ids, is_active=True)
        ]
    )


def text(notification: Notification) -> str:
    """The notification in the active language."""
    values = {k: v for k, v in (notification.values or {}).items()}
    values.setdefault("number", notification.case_id or "")
    if values.get("clock") in CLOCK_LABELS:
        values["clock"] = str(CLOCK_LABELS[values["clock"]])
    if not values.get("actor"):
        values["actor"] = gettext("Someone")
    template = (
        ESCALATION_FALLBACK
        if notification.kind == NotificationKind.ESCALATION and values.get("fallback")
        else REOPENED_BY_CUSTOMERS
        if notification.kind == NotificationKind.ACTION_REOPENED and values.get("reason") == "customers"
        else TEXTS.get(notification.kind)
    )
    if template is None:
        return str(notification.get_kind_display())
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        # A row written by an older version missing a value still shows what it is about.
        return f"{notification.get_kind_display()}: {values.get('number', '')}"


def for_user(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("case")


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user: User, ids: Iterable[int]) -> int:
    """Mark the user's own notifications read (someone else's ids are ignored); returns how many changed."""
    return Notification.objects.filter(user=user, pk__in=list(ids), read_at__isnull=True).update(read_at=timezone.now())


def mark_all_read(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def set_email_preference(user: User, email: bool) -> None:
    with transaction.atomic():
        NotificationPreference.objects.update_or_create(user=user, defaults={"email": email})


def email_preference(user: User) -> bool:
    pref = NotificationPreference.objects.filter(user=user).first()
    return pref.email if pref else True
