"""Which channel a message to a customer goes by: the one routing rule (registered as
``voxloop.cases.delivery.customer_route``, so case replies, the fix notices and the incident replies of
voxloop.actions, and every preview of them, ask the same function).

The customer's own channel is the channel of the feedback they wrote to us most recently (on the case, or in the
action's scope): e-mail and web forms answer by e-mail; the hotline and SMS sources by SMS; WeChat, WeCom, the app
and other chat sources by chat app (the ``im`` gateway). SMS and chat app need the customer's number or chat id
and an enabled gateway (``DeliveryGateway``); otherwise the message falls back to e-mail when there is an
address, then to any other enabled channel the customer has an address for, else it is not sent
(``NotSentReason.NO_ADDRESS``). Opt-out, consent and contact fatigue are checked by
the caller exactly as for e-mail: routing only says where a message would go.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext

from voxloop.cases.delivery import FeedbackContact, ReplyRoute
from voxloop.feedback.models import Channel, Customer
from voxloop.notify.models import DeliveryChannel, DeliveryGateway, NotSentReason

# Words of a feedback source (split at anything not a letter or digit: "wechat-official", "app_push") that mean
# the customer wrote in a chat app ("app": in-app messages) or by text message.
IM_SOURCES = frozenset({"wechat", "weixin", "wecom", "wxwork", "dingtalk", "feishu", "lark", "app", "im", "push"})
SMS_SOURCES = frozenset({"sms", "mms", "text"})
# Where a customer's chat-app id is kept (Customer.handles), in order of preference.
IM_HANDLE_KEYS = ("wecom", "wechat", "weixin", "im", "app")


def preferred_channel(latest: FeedbackContact | None) -> str:
    """The delivery channel that answers feedback from this channel and source."""
    if latest is None:
        return DeliveryChannel.EMAIL
    words = set(re.split(r"[^a-z0-9]+", (latest.source or "").lower()))
    if latest.channel in (Channel.EMAIL, Channel.WEBFORM):
        return DeliveryChannel.EMAIL
    if words & SMS_SOURCES:
        return DeliveryChannel.SMS
    if words & IM_SOURCES:
        return DeliveryChannel.IM
    if latest.channel == Channel.HOTLINE:
        return DeliveryChannel.SMS  # they called us: a text to the number they called from
    return DeliveryChannel.EMAIL


def im_id(customer: Customer | None) -> str:
    handles = customer.handles if customer is not None and isinstance(customer.handles, dict) else {}
    for key in IM_HANDLE_KEYS:
        value = handles.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def enabled_channels() -> set[str]:
    return set(DeliveryGateway.objects.filter(enabled=True).values_list("channel", flat=True))


def channel_label(channel: str) -> str:
    """The channel's name ("e-mail", "SMS", "chat app") in the reader's language."""
    return str(DeliveryChannel(channel).label) if channel in DeliveryChannel.values else channel


def route_customer(customer: Customer | None, latest: FeedbackContact | None, fallback_email: str = "") -> ReplyRoute:
    """Where a message to this customer goes (see the module's docstring): their own channel, else e-mail, else
    another enabled channel they have an address for, else nowhere."""
    enabled = enabled_channels()
    addresses: dict[str, str] = {
        DeliveryChannel.EMAIL: (customer.email if customer is not None else "")
        or fallback_email
        or (latest.email if latest else ""),
        DeliveryChannel.SMS: (customer.phone if customer is not None else "") or (latest.phone if latest else ""),
        DeliveryChannel.IM: im_id(customer),
    }
    wanted = preferred_channel(latest)
    for channel in dict.fromkeys([wanted, DeliveryChannel.EMAIL, DeliveryChannel.SMS, DeliveryChannel.IM]):
        if addresses[channel] and (channel == DeliveryChannel.EMAIL or channel in enabled):
            return ReplyRoute(channel, channel_label(channel), addresses[channel])
    if enabled:
        reason = gettext("The customer has no e-mail address, phone number or chat id we can send to: nothing is sent.")
    else:
        reason = gettext("The customer has no email address, so the reply will not be sent.")
    return ReplyRoute("", "", "", reason, reason_code=NotSentReason.NO_ADDRESS)
