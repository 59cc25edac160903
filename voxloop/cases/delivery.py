"""How a public reply will reach the customer, asked before it is sent.

The notify app (a higher layer) decides and sends; it registers its answer here in NotifyConfig.ready, so the
case page can tell the agent the truth (channel, masked address, or why nothing will be sent) and preview the
message without cases importing notify. Without a registered route the page says no message is sent.

``customer_route`` is the one routing rule for every message to a customer (case replies, the actions app's
"we fixed it" notices and its incident replies): the channel of the feedback they wrote to us most recently, by
e-mail, SMS or chat app, else e-mail, else nothing. notify registers it too (docs/cases.md, "Replies by
channel")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext

from voxloop.accounts.models import User
from voxloop.cases.models import Case
from voxloop.feedback.models import Customer


@dataclass(frozen=True)
class ReplyRoute:
    channel: str  # "email", or "" when the reply will not be sent anywhere
    channel_label: str
    address: str  # unmasked: the page masks it per viewer
    not_sent_reason: str = ""  # in words, when channel is ""
    reason_code: str = ""  # notify's NotSentReason value, when channel is ""

    @property
    def will_send(self) -> bool:
        return bool(self.channel)


@dataclass(frozen=True)
class ReplyPreview:
    subject: str
    body: str
    language: str


@dataclass(frozen=True)
class FeedbackContact:
    """What routing reads of the feedback a customer wrote to us most recently (in a case, or in an action's
    scope): where it came from and the contact details it carried."""

    channel: str  # voxloop.feedback.models.Channel
    source: str  # e.g. "wechat", "sms", "app"
    email: str = ""
    phone: str = ""


RouteFinder = Callable[[Case], ReplyRoute]
CustomerRouter = Callable[[Customer | None, FeedbackContact | None, str], ReplyRoute]
PreviewRenderer = Callable[[Case, User, str], ReplyPreview]

_route: RouteFinder | None = None
_preview: PreviewRenderer | None = None
_router: CustomerRouter | None = None


def register_reply_delivery(route: RouteFinder, preview: PreviewRenderer) -> None:
    global _route, _preview
    _route, _preview = route, preview


def reply_route(case: Case) -> ReplyRoute:
    if _route is None:
        return ReplyRoute("", "", "", gettext("This installation sends no messages to customers."))
    return _route(case)


def reply_preview(case: Case, author: User, text: str) -> ReplyPreview | None:
    return _preview(case, author, text) if _preview is not None else None


def register_customer_router(router: CustomerRouter) -> None:
    global _router
    _router = router


def customer_route(customer: Customer | None, latest: FeedbackContact | None, fallback_email: str = "") -> ReplyRoute:
    """How a message to this customer would go now: ``latest`` is the feedback they wrote most recently on the
    case or scope, ``fallback_email`` an address to use when the customer record has none."""
    if _router is None:
        return ReplyRoute("", "", "", gettext("This installation sends no messages to customers."))
    return _router(customer, latest, fallback_email)
