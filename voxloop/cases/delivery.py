"""How a public reply will reach the customer, asked before it is sent.

The notify app (a higher layer) decides and sends; it registers its answer here in NotifyConfig.ready, so the
case page can tell the agent the truth (channel, masked address, or why nothing will be sent) and preview the
message without cases importing notify. Without a registered route the page says no message is sent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext

from voxloop.accounts.models import User
from voxloop.cases.models import Case


@dataclass(frozen=True)
class ReplyRoute:
    channel: str  # "email", or "" when the reply will not be sent anywhere
    channel_label: str
    address: str  # unmasked: the page masks it per viewer
    not_sent_reason: str = ""  # in words, when channel is ""

    @property
    def will_send(self) -> bool:
        return bool(self.channel)


@dataclass(frozen=True)
class ReplyPreview:
    subject: str
    body: str
    language: str


RouteFinder = Callable[[Case], ReplyRoute]
PreviewRenderer = Callable[[Case, User, str], ReplyPreview]

_route: RouteFinder | None = None
_preview: PreviewRenderer | None = None


def register_reply_delivery(route: RouteFinder, preview: PreviewRenderer) -> None:
    global _route, _preview
    _route, _preview = route, preview


def reply_route(case: Case) -> ReplyRoute:
    if _route is None:
        return ReplyRoute("", "", "", gettext("This installation sends no messages to customers."))
    return _route(case)


def reply_preview(case: Case, author: User, text: str) -> ReplyPreview | None:
    return _preview(case, author, text) if _preview is not None else None
