"""What the actions app announces to the apps above it (docs/architecture/layers.md, decision L2): webhooks turn
announcements into action.* events, notify turns overdue reminders into in-app notifications."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voxloop.core.hooks import Hook


@dataclass(frozen=True)
class ActionAnnouncement:
    kind: str  # "action.created", "action.status_changed", "action.verdict"
    action_id: int
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OverdueNotice:
    action_id: int
    title: str
    url: str
    user_ids: list[int]
    escalated: bool  # False: a reminder to the owner; True: the department's manager hears of it


action_announced: Hook[ActionAnnouncement] = Hook("improvement action announced")
action_overdue: Hook[OverdueNotice] = Hook("improvement action overdue")


@dataclass(frozen=True)
class ReopenNotice:
    """A closed action reopened because early warning fired again on its scope (``reason`` "alert"), or because
    most customers told of the fix answered that it is not fixed ("customers"): the owner hears of it."""

    action_id: int
    title: str
    url: str
    user_ids: list[int]
    alert_label: str
    reason: str = "alert"


action_reopened: Hook[ReopenNotice] = Hook("improvement action reopened")


@dataclass(frozen=True)
class FixNoticeMessage:
    """A "you told us, we fixed it" message for one customer, already in their language."""

    to: str
    language: str
    subject: str
    body: str
    notice_ref: str  # "fixnotice:<action id>:<customer id>": the outbox row's recipient, for the log
    channel: str = "email"  # how it goes: "email", "sms", "im" (voxloop.cases.delivery.customer_route chose)


class NoticeSendError(Exception):
    """The message could not be sent; the text says why (the mail server's words)."""


# channel ("email", "sms", "im") -> a sender that sends one message or raises NoticeSendError. notify registers
# its senders in its AppConfig.ready (layers.md L2): actions sits below notify and never names it.
NoticeSender = Callable[[FixNoticeMessage], None]
_notice_senders: dict[str, NoticeSender] = {}


def register_notice_sender(channel: str, sender: NoticeSender) -> None:
    _notice_senders[channel] = sender


def notice_sender(channel: str) -> NoticeSender | None:
    return _notice_senders.get(channel)
