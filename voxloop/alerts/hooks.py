"""Where the apps that tell people about alerts plug in (docs/architecture/layers.md, L2).

Alerts sits below notify and webhooks, so it never names them: when an alert is new or its severity rose,
``announce_alert`` hands it to every announcer registered here (notify queues e-mails to the subscribers,
webhooks queues ``alert.raised`` deliveries), each in the caller's transaction, which also holds the claim
that the alert was announced. An announcer returns how many messages or deliveries it queued, so the
detection run can say so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from voxloop.alerts.models import Alert


@dataclass(frozen=True)
class AlertRaised:
    alert: Alert
    previous_severity: str  # "" for a new alert


AlertAnnouncer = Callable[[AlertRaised], int]

# channel ("emails", "webhooks") -> announcer; registering a channel again replaces it (``ready`` may run twice).
_announcers: dict[str, AlertAnnouncer] = {}


def register_alert_announcer(channel: str, announcer: AlertAnnouncer) -> None:
    _announcers[channel] = announcer


def announce_alert(alert: Alert, previous_severity: str = "") -> dict[str, int]:
    """Hand the alert to every announcer; returns what each queued, by channel."""
    raised = AlertRaised(alert, previous_severity)
    return {channel: announcer(raised) for channel, announcer in _announcers.items()}
