"""What an announcement of an alert says: the e-mail text for one subscriber and the webhook payload.

Alerts owns the wording (its catalog and template); notify and webhooks, which register as announcers
(``alerts.hooks``), decide who gets it and deliver it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from voxloop.accounts.models import User
from voxloop.alerts import queries
from voxloop.alerts.models import Alert, Severity


def alert_email(alert: Alert, previous_severity: str, user: User, language: str) -> tuple[str, str]:
    """(subject, body) of the e-mail telling ``user`` about the alert, in ``language``."""
    site = settings.SITE_URL.rstrip("/")
    with translation.override(language):
        text = queries.describe(alert, language)
        subject = _("[%(severity)s] Early warning: %(what)s since %(since)s") % {
            "severity": text["severity"], "what": text["what"], "since": text["since"],
        }  # fmt: skip
        body = render_to_string("alerts/email/alert_raised.txt", {
            "alert": alert, "text": text, "recipient_name": user.get_full_name() or user.username,
            "previous_severity": str(Severity(previous_severity).label) if previous_severity else "",
            "alert_url": site + queries.alert_path(alert),
            "feedback_url": site + queries.alert_feedback_url(alert),
            "subscriptions_url": site + queries.subscriptions_path(),
        })  # fmt: skip
    return subject, body


def webhook_payload(alert: Alert, previous_severity: str = "") -> dict[str, Any]:
    site = settings.SITE_URL.rstrip("/")
    return {
        "alert": {
            "id": alert.pk,
            "url": site + queries.alert_path(alert),
            "metric": alert.metric,
            "dimension": alert.dimension,
            "value": alert.value,
            "label": alert.label,
            "started_on": alert.started_on.isoformat(),
            "last_day": alert.last_day.isoformat(),
            "days": alert.days,
            "observed": round(alert.observed, 4),
            "expected": round(alert.expected, 4),
            "ratio": None if alert.ratio is None else round(alert.ratio, 3),
            "peak_z": round(alert.peak_z, 2),
            "severity": alert.severity,
            "previous_severity": previous_severity or None,
            "status": alert.status,
            "feedback_url": site + queries.alert_feedback_url(alert),
        }
    }
