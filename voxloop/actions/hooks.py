"""What the actions app announces to the apps above it (docs/architecture/layers.md, decision L2): webhooks turn
announcements into action.* events, notify turns overdue reminders into in-app notifications."""

from __future__ import annotations

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
