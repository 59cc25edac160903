"""Webhooks: case events posted to the systems administrators name, signed, after commit, with retries.

``handle_case_event`` is the outbox handler (registered in WebhooksConfig.ready). It runs inside the outbox
transaction, so it only *stores* one WebhookDelivery per matching endpoint, body included; ``deliver_due``
posts them from a Celery task after commit, outside any transaction, so a slow receiver never holds a lock or a
request. Each delivery is claimed with a conditional update, so two workers never post it at the same time.

Signing works like Stripe's: ``X-VoxLoop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with
the endpoint's secret. ``Idempotency-Key`` (the delivery id) lets a receiver drop a delivery it already has:
a delivery whose answer was lost (timeout after the receiver stored it) is sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.checks import Error
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from voxloop.accounts.config_audit import record_config_change
from voxloop.accounts.models import ConfigAction, User
from voxloop.actions.hooks import ActionAnnouncement
from voxloop.alerts.hooks import AlertRaised
from voxloop.alerts.messages import webhook_payload
from voxloop.cases.models import Case, CaseEvent, EventKind
from voxloop.core.kicks import on_commit_once
from voxloop.core.messages import english, stored
from voxloop.core.work_queue import claim_row, due_rows
from voxloop.webhooks import targets
from voxloop.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, new_secret
from voxloop_nlp.components.pii import mask_pii

logger = logging.getLogger(__name__)

# Written by the delivery worker, read later by an administrator in either language (voxloop.core.messages).
_ENDPOINT_OFF = gettext_noop("The endpoint is switched off; it was not sent.")
_GONE = gettext_noop("The receiver answered 410 Gone on %(when)s.")
_GAVE_UP = gettext_noop("gave up after %(attempts)s attempts: %(error)s")

SIGNATURE_HEADER = "X-VoxLoop-Signature"
USER_AGENT = "VoxLoop-Webhooks/1"
# Keys of event payloads that hold a customer's contact details; left out unless the endpoint includes them.
PERSONAL_KEYS = frozenset({"to", "email", "phone", "contact_email", "contact_phone", "contact_name", "customer_name"})
# How much of a failing receiver's answer is read, and how much of it (sanitised) is kept on the delivery: a
# status and a hint for the administrator, never the page itself (the receiver may be someone else's server).
ERROR_SNIPPET_BYTES = 1024
ERROR_EXCERPT_CHARS = 80
_TAG = re.compile(r"<[^>]{0,200}>")
_NOT_PRINTABLE = re.compile(r"[^\w .,:;!?()'\"/+\-]+")
_BLOCKED = gettext_noop(
    "Not sent: %(host)s resolves to %(address)s, a loopback, private, link-local or cloud-metadata address."
)


# Events that are not case events, declared here so endpoints can choose them: kind -> label. Other apps emit them
# with ``emit_event`` (an early-warning alert raised, or risen in severity: voxloop.alerts).
OTHER_EVENTS: dict[str, Any] = {
    "alert.raised": _("Early-warning alert raised"),
    # improvement actions (voxloop.actions announces them; handle_action_announcement queues them)
    "action.created": _("Improvement action created"),
    "action.status_changed": _("Improvement action status changed"),
    "action.verdict": _("Improvement action effect measured"),
}


def event_choices() -> list[tuple[str, Any]]:
    return [*EventKind.choices, *OTHER_EVENTS.items()]


class WebhookErrorCode(StrEnum):
    BAD_URL = "bad_url"
    UNKNOWN_EVENT = "unknown_event"
    NOT_DEAD = "not_dead"
    ENDPOINT_INACTIVE = "endpoint_inactive"


class WebhookError(Exception):
    def __init__(self, code: WebhookErrorCode, message: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)


# --- settings ------------------------------------------------------------------------------------------------


class WebhookSettingsError(ValueError):
    pass


def _parse_schedule(value: Any) -> list[int]:
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        seconds = [int(str(v).strip()) for v in items if str(v).strip()]
    except ValueError:
        raise WebhookSettingsError(
            f"WEBHOOK_RETRY_SCHEDULE must be whole seconds separated by commas, e.g. 60,300,1800 (got {value!r})."
        ) from None
    if not seconds or any(s < 1 for s in seconds):
        raise WebhookSettingsError(
            f"WEBHOOK_RETRY_SCHEDULE needs at least one delay of 1 second or more (got {value!r})."
        )
    return seconds


def retry_schedule() -> list[int]:
    """Seconds to wait after the 1st, 2nd, ... failed attempt (the last value repeats)."""
    return _parse_schedule(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", "60,300,1800,7200,43200"))


def max_attempts() -> int:
    return max(1, int(getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6)))


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """A system check: bad webhook settings stop start-up with a clear message, not the first failed delivery."""
    errors = []
    try:
        retry_schedule()
    except WebhookSettingsError as exc:
        errors.append(Error(str(exc), id="webhooks.E001"))
    attempts = getattr(settings, "WEBHOOK_MAX_ATTEMPTS", 6)
    if not isinstance(attempts, int) or not 1 <= attempts <= 50:
        errors.append(Error(f"WEBHOOK_MAX_ATTEMPTS must be between 1 and 50 (got {attempts!r}).", id="webhooks.E002"))
    for name in ("WEBHOOK_CONNECT_TIMEOUT", "WEBHOOK_READ_TIMEOUT"):
        value = getattr(settings, name, 5)
        if not isinstance(value, int | float) or value <= 0:
            errors.append(Error(f"{name} must be a positive number of seconds (got {value!r}).", id="webhooks.E003"))
    try:
        targets.allowed_networks()
    except ValueError as exc:
        errors.append(Error(f"WEBHOOK_ALLOWED_NETWORKS must be CIDRs separated by commas ({exc}).", id="webhooks.E004"))
    return errors


def timeouts() -> tuple[float, float]:
    return (
        float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 5)),
        float(getattr(settings, "WEBHOOK_READ_TIMEOUT", 5)),
    )


def claim_lease() -> timedelta:
    """How long a claimed delivery is left alone: longer than one attempt can take, so only a worker that died
    mid-send lets another one try again."""
    connect, read = timeouts()
    return timedelta(seconds=connect + read + 60)


def retry_delay(failed_attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Backoff after ``failed_attempts`` failures, with ±10% jitter so a receiver coming back up is not hit by
    every waiting delivery in the same second."""
    schedule = retry_schedule()
    base = schedule[min(max(failed_attempts, 1), len(schedule)) - 1]
    jitter = (rng or random).uniform(-0.1, 0.1)  # noqa: S311 - spreading load, not security
    return timedelta(seconds=base * (1 + jitter))


# --- endpoints -------------------------------------------------------------------------------------------------


def validate_url(url: str) -> str:
    """http(s) URLs only, to public addresses unless the settings allow private ones (voxloop.webhooks.targets):
    the request leaves from inside the organisation's network."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookError(
            WebhookErrorCode.BAD_URL,
            _("Webhook URLs must start with http:// or https:// (got %(url)s).") % {"url": url[:100]},
        )
    if not parts.hostname:
        raise WebhookError(WebhookErrorCode.BAD_URL, _("The URL %(url)s names no host.") % {"url": url[:100]})
    if len(url) > 2000:
        raise WebhookError(WebhookErrorCode.BAD_URL, _("The URL is longer than 2,000 characters."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookError(
            WebhookErrorCode.BAD_URL, _("The URL %(url)s has an invalid port.") % {"url": url[:100]}
        ) from None
    try:
        targets.check_host(parts.hostname, port)
    except targets.BlockedTarget as exc:
        raise WebhookError(
            WebhookErrorCode.BAD_URL,
            _(
                "%(host)s is a loopback, private, link-local or cloud-metadata address (%(address)s); webhooks "
                "are not sent to those unless the administrator of the server allows it "
                "(WEBHOOK_ALLOW_PRIVATE_TARGETS or WEBHOOK_ALLOWED_NETWORKS)."
            )
            % {"host": exc.host[:100], "address": exc.address},
        ) from None
    return url


def validate_kinds(kinds: Iterable[str]) -> list[str]:
    kinds = sorted(set(kinds))
    unknown = [k for k in kinds if k not in EventKind.values and k not in OTHER_EVENTS]
    if unknown:
        raise WebhookError(
            WebhookErrorCode.UNKNOWN_EVENT,
            _("Unknown event kind(s): %(kinds)s.") % {"kinds": ", ".join(k[:40] for k in unknown)},
        )
    return kinds


def create_endpoint(
    url: str,
    *,
    description: str = "",
    event_kinds: Sequence[str] = (),
    include_personal_data: bool = False,
    created_by: User | None = None,
) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        url=validate_url(url),
        description=description.strip()[:200],
        event_kinds=validate_kinds(event_kinds),
        include_personal_data=include_personal_data,
        created_by=created_by,
    )


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str,
    description: str = "",
    event_kinds: Sequence[str] = (),
    include_personal_data: bool = False,
    is_active: bool = True,
) -> WebhookEndpoint:
    endpoint.url = validate_url(url)
    endpoint.description = description.strip()[:200]
    endpoint.event_kinds = validate_kinds(event_kinds)
    endpoint.include_personal_data = include_personal_data
    if is_active and not endpoint.is_active:
        endpoint.disabled_reason, endpoint.disabled_reason_i18n = "", {}
    endpoint.is_active = is_active
    endpoint.save()
    return endpoint


def set_endpoint_active(endpoint: WebhookEndpoint, active: bool) -> WebhookEndpoint:
    """Switch an endpoint off (nothing new is queued for it; waiting deliveries go to the dead letters when their
    turn comes) or back on."""
    endpoint.is_active = active
    endpoint.disabled_reason, endpoint.disabled_reason_i18n = "", {}
    endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_reason_i18n", "updated_at"])
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint


# --- payloads --------------------------------------------------------------------------------------------------


def scrub_personal_data(value: Any) -> Any:
    """Without personal data: contact keys dropped, emails/phones/IDs/addresses in texts masked."""
    if isinstance(value, dict):
        return {k: scrub_personal_data(v) for k, v in value.items() if k not in PERSONAL_KEYS}
    if isinstance(value, list):
        return [scrub_personal_data(v) for v in value]
    if isinstance(value, str):
        return mask_pii(value)
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def build_payload(event: CaseEvent, case: Case | None, endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What a receiver gets for one event. The case fields are the case as it stood when the event was handled."""
    payload = event.payload or {}
    body: dict[str, Any] = {
        "id": event.pk,
        "kind": event.kind,
        "created_at": _iso(event.created_at),
        "actor": event.actor.get_username() if event.actor_id and event.actor else None,
        "payload": payload if endpoint.include_personal_data else scrub_personal_data(payload),
        "case": None,
    }
    if case is not None:
        body["case"] = {
            "id": case.pk,
            "number": case.number,
            "status": case.status,
            "severity": case.severity,
            "team_id": case.team_id,
            "assignee": case.assignee.get_username() if case.assignee_id and case.assignee else None,
            "url": settings.SITE_URL.rstrip("/") + reverse("cases:detail", args=[case.pk]),
        }
        if endpoint.include_personal_data and case.customer_id and case.customer:
            customer = case.customer
            body["case"]["customer"] = {
                "id": customer.pk,
                "external_id": customer.external_id,
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
            }
    return body


def encode(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


# --- the outbox handler ----------------------------------------------------------------------------------------


def handle_case_event(event: CaseEvent) -> None:
    """Store one delivery per active endpoint that wants this event. Runs in the outbox transaction: no network
    I/O here; the deliveries are posted by a task after commit."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(event.kind)]
    if not endpoints:
        return
    done = set(WebhookDelivery.objects.filter(event=event).values_list("endpoint_id", flat=True))
    endpoints = [e for e in endpoints if e.pk not in done]  # a retried outbox run queues nothing twice
    if not endpoints:
        return
    case = Case.objects.select_related("assignee", "customer").filter(pk=event.case_id).first()
    now = timezone.now()
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            event_kind=event.kind,
            case=case,
            body=encode(build_payload(event, case, endpoint)),
            next_attempt_at=now,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(rows)
    on_commit_once(_kick_sender)


def emit_event(kind: str, data: dict[str, Any]) -> int:
    """Queue one delivery of a non-case event (one of OTHER_EVENTS) per active endpoint that wants it; posted after
    commit like case events. The body is ``{"kind", "created_at", **data}``. Returns the deliveries queued; the
    caller makes sure it emits an occurrence once (e.g. in the transaction that records it was announced)."""
    if kind not in OTHER_EVENTS:
        raise WebhookError(WebhookErrorCode.UNKNOWN_EVENT, _("Unknown event kind(s): %(kinds)s.") % {"kinds": kind})
    endpoints = [e for e in WebhookEndpoint.objects.filter(is_active=True) if e.wants(kind)]
    if not endpoints:
        return 0
    now = timezone.now()
    body = {"kind": kind, "created_at": _iso(now), **data}
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event_kind=kind,
                body=encode(body if endpoint.include_personal_data else scrub_personal_data(body)),
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    )
    on_commit_once(_kick_sender)
    return len(endpoints)


def emit_alert_raised(raised: AlertRaised) -> int:
    """The alerts announcer (registered in WebhooksConfig.ready): one ``alert.raised`` delivery per endpoint."""
    return emit_event("alert.raised", webhook_payload(raised.alert, raised.previous_severity))


def handle_action_announcement(announcement: ActionAnnouncement) -> None:
    """An improvement action was created, changed status or got a verdict (registered in WebhooksConfig.ready)."""
    emit_event(announcement.kind, announcement.data)


def _kick_sender() -> None:
    # Imported here: the tasks module imports this one.
    from voxloop.webhooks.tasks import deliver_webhooks_task

    deliver_webhooks_task.delay()


# --- signing ---------------------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """What a receiver does (docs/webhooks.md has the same in a few lines): recompute, compare in constant time,
    refuse old timestamps so a captured request cannot be replayed later."""
    try:
        pairs = [item.strip().split("=", 1) for item in header.split(",")]
        timestamp = int(next(v for k, v in pairs if k == "t"))
        candidates = [v for k, v in pairs if k == "v1"]
    except (StopIteration, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for v in candidates)


# --- delivering ------------------------------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0  # claimed by another worker first


def _claim(pk: int, attempts: int, now: datetime) -> bool:
    """Take one delivery for this worker: only the update that still sees the same attempt count wins."""
    return claim_row(
        WebhookDelivery, pk, attempts, now, pending=DeliveryStatus.PENDING, lease=claim_lease(), last_attempt_at=now
    )


def deliver_due(now: datetime | None = None, *, limit: int = 100, ids: Iterable[int] | None = None) -> DeliveryRun:
    """Post waiting deliveries whose time has come, oldest first."""
    now = now or timezone.now()
    run = DeliveryRun()
    batch = due_rows(WebhookDelivery, DeliveryStatus.PENDING, now, limit=limit, ids=ids)
    if not batch:
        return run
    with targets.guarded_session() as session:
        for pk, attempts in batch:
            if not _claim(pk, attempts, now):
                run.skipped += 1
                continue
            delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
            _attempt(delivery, session, now, run)
    return run


def _post(delivery: WebhookDelivery, session: requests.Session) -> tuple[int | None, str]:
    """(HTTP status or None, error text). Redirects are not followed: a receiver that moved must be re-entered."""
    endpoint = delivery.endpoint
    body = delivery.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
        "Idempotency-Key": str(delivery.pk),
        "X-VoxLoop-Delivery": str(delivery.pk),
        "X-VoxLoop-Event": delivery.event_kind,
    }
    try:
        response = session.post(
            endpoint.url, data=body, headers=headers, timeout=timeouts(), allow_redirects=False, stream=True
        )
    except targets.BlockedTarget:
        raise
    except requests.Timeout:
        return None, "timeout"
    except requests.RequestException as exc:
        # The class says what went wrong; its text may quote what the receiver's side answered.
        return None, type(exc).__name__
    try:
        if 200 <= response.status_code < 300:
            return response.status_code, ""
        try:
            snippet = response.raw.read(ERROR_SNIPPET_BYTES, decode_content=True) or b""
        except Exception:  # noqa: BLE001 - the status code is the evidence; the body is a courtesy
            snippet = b""
        text = excerpt(snippet)
        return response.status_code, f"HTTP {response.status_code}: {text}".strip(": ")
    finally:
        response.close()


def excerpt(raw: bytes) -> str:
    """A short, harmless hint from a receiver's answer: tags and unusual characters removed, personal data
    masked, at most ERROR_EXCERPT_CHARS characters."""
    text = _TAG.sub(" ", raw.decode("utf-8", errors="replace"))
    text = " ".join(_NOT_PRINTABLE.sub(" ", text).split())
    text = mask_pii(text)
    return text if len(text) <= ERROR_EXCERPT_CHARS else text[: ERROR_EXCERPT_CHARS - 1] + "…"


def _attempt(delivery: WebhookDelivery, session: requests.Session, now: datetime, run: DeliveryRun) -> None:
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        _finish(delivery, DeliveryStatus.DEAD, None, stored(_ENDPOINT_OFF), run)
        return
    try:
        status, error = _post(delivery, session)
    except targets.BlockedTarget as exc:
        # Not retried: the address will not become allowed by waiting; an administrator retries it by hand.
        logger.warning("webhook delivery %s refused: %s", delivery.pk, exc)
        _finish(delivery, DeliveryStatus.DEAD, None, stored(_BLOCKED, {"host": exc.host, "address": exc.address}), run)
        return
    if status is not None and 200 <= status < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED,
            delivered_at=timezone.now(),
            next_attempt_at=None,
            last_status_code=status,
            last_error="",
            last_error_i18n={},
            updated_at=timezone.now(),
        )
        run.delivered += 1
        return
    if status == 410:
        # 410 Gone: the receiver says this endpoint no longer exists; stop sending to it at all.
        reason = stored(_GONE, {"when": timezone.now().strftime("%Y-%m-%d %H:%M")})
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            is_active=False,
            disabled_reason=english(reason["template"], reason["params"]),
            disabled_reason_i18n=reason,
            updated_at=timezone.now(),
        )
        # A conditional update bypasses the model signals: the configuration audit is told directly.
        record_config_change(endpoint, ConfigAction.CHANGED, {"is_active": [True, False]})
        logger.warning("webhook endpoint %s answered 410 Gone; switched off", endpoint.pk)
        _finish(delivery, DeliveryStatus.DEAD, status, error, run)
        return
    if delivery.attempts >= max_attempts():
        _finish(
            delivery,
            DeliveryStatus.DEAD,
            status,
            stored(_GAVE_UP, {"attempts": delivery.attempts, "error": error}),
            run,
        )
        return
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now + retry_delay(delivery.attempts),
        last_status_code=status,
        last_error=error[:2000],
        last_error_i18n={},
        updated_at=timezone.now(),
    )
    run.retrying += 1
    logger.info("webhook delivery %s to %s failed (%s); retrying", delivery.pk, endpoint.url, error[:200])


def _finish(delivery: WebhookDelivery, status: str, code: int | None, error: Any, run: DeliveryRun) -> None:
    """`error`: the receiver's own words, or a message of ours (voxloop.core.messages.stored)."""
    message = error if isinstance(error, dict) else {}
    if message:
        error = english(message["template"], message["params"])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        next_attempt_at=None,
        last_status_code=code,
        last_error=str(error)[:2000],
        last_error_i18n=message,
        updated_at=timezone.now(),
    )
    run.dead += 1
    logger.warning("webhook delivery %s to endpoint %s is a dead letter: %s", delivery.pk, delivery.endpoint_id, error)


def retry_delivery(delivery: WebhookDelivery | int) -> WebhookDelivery:
    """Retry now, from the dead-letter list: one more attempt at once (if it fails again and the attempts are
    used up, it goes straight back to the dead letters)."""
    pk = delivery.pk if isinstance(delivery, WebhookDelivery) else int(delivery)
    row = WebhookDelivery.objects.select_related("endpoint").get(pk=pk)
    if not row.endpoint.is_active:
        raise WebhookError(
            WebhookErrorCode.ENDPOINT_INACTIVE, _("Switch the endpoint on before retrying its deliveries.")
        )
    now = timezone.now()
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(pk=pk, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, next_attempt_at=now, updated_at=now
        )
        if not updated:
            raise WebhookError(WebhookErrorCode.NOT_DEAD, _("Only failed deliveries can be retried."))
        transaction.on_commit(lambda: _kick_sender_for([pk]))
    row.refresh_from_db()
    return row


def _kick_sender_for(ids: list[int]) -> None:
    # Imported here: the tasks module imports this one.
    from voxloop.webhooks.tasks import deliver_webhooks_task

    deliver_webhooks_task.delay(ids)
