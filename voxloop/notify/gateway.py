"""The transports a message to a customer can go by, keyed by delivery channel.

``email`` is the SMTP path in services.py (``_send_one``) and surveys.py (``_send_once``), unchanged. ``sms`` and
``im`` are handed to an HTTP gateway on the company's own servers (``DeliveryGateway``, one per channel, set up
in the Django admin): a JSON POST signed like our webhooks (``X-VoxLoop-Signature``, voxloop.webhooks' ``sign``),
with the message id as ``Idempotency-Key``. The contract is in docs/operations.md ("SMS and chat-app gateway").

A 2xx answer means sent; a 4xx answer is a permanent failure (its reason is kept); a 5xx answer, a timeout or a
refused connection is temporary, retried by the sender with its usual back-off (``classify``, ``retry_delay``).
No address check is made on the URL, unlike webhooks: the gateway is an administrator's own server, usually on
the internal network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import requests

from voxloop.notify.models import DeliveryChannel, DeliveryGateway, OutgoingMessage
from voxloop.webhooks.services import SIGNATURE_HEADER, sign

USER_AGENT = "VoxLoop-Gateway/1"


class GatewayError(Exception):
    """The gateway did not take the message; ``permanent`` says whether trying again can help."""

    def __init__(self, permanent: bool, reason: str) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.reason = reason


def message_key(message: OutgoingMessage) -> str:
    """The message's id for the gateway: the same on every retry, so the gateway can drop a repeat."""
    return f"voxloop-{message.pk}"


def payload(message: OutgoingMessage) -> dict[str, object]:
    return {
        "message_id": message_key(message),
        "channel": message.channel,
        "to": message.address,
        "language": message.language,
        "subject": message.subject,
        "text": message.body,
        "kind": message.kind,
        "case": message.case.number if message.case_id and message.case else "",
    }


def _reason(response: requests.Response) -> str:
    detail = ""
    try:
        data = response.json()
        if isinstance(data, dict):
            detail = str(data.get("error") or data.get("detail") or data.get("message") or "")
    except ValueError:
        detail = response.text.strip()
    detail = detail[:300] or response.reason or ""
    return f"gateway answered {response.status_code}: {detail}".rstrip(": ")


def send_by_gateway(message: OutgoingMessage) -> None:
    """Post one message to its channel's gateway; raises GatewayError unless the gateway took it."""
    gateway = DeliveryGateway.objects.filter(channel=message.channel).first()
    label = DeliveryChannel(message.channel).label if message.channel in DeliveryChannel.values else message.channel
    if gateway is None or not gateway.enabled:
        raise GatewayError(True, f"no enabled gateway for {label}")
    body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": message_key(message),
        SIGNATURE_HEADER: sign(gateway.secret, int(time.time()), body),
    }
    if gateway.token_header and gateway.token:
        headers[gateway.token_header] = gateway.token
    try:
        response = requests.post(gateway.url, data=body, headers=headers, timeout=gateway.timeout_seconds)
    except requests.RequestException as exc:  # refused, timed out, DNS: the gateway may be back soon
        raise GatewayError(False, f"gateway not reached: {type(exc).__name__}: {exc}") from exc
    if 200 <= response.status_code < 300:
        return
    # 408 and 429 ask to come back later; any other 4xx (a wrong number, a blocked user) will not change
    raise GatewayError(400 <= response.status_code < 500 and response.status_code not in (408, 429), _reason(response))


# channel -> how a stored message goes out; "email" is absent: the SMTP path sends it with a shared connection.
TRANSPORTS: dict[str, Callable[[OutgoingMessage], None]] = {
    DeliveryChannel.SMS: send_by_gateway,
    DeliveryChannel.IM: send_by_gateway,
}
