"""The outgoing mail page for administrators: every message VoxLoop meant to send, whether a mail server took it,
and its text. Where no mail server is configured (the demo, a first start), it is how one sees what would have gone
out."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from voxloop.accounts.audit import record_access
from voxloop.accounts.models import AuditAction, User
from voxloop.accounts.permissions import Capability, require
from voxloop.accounts.privacy import contact_for, record_shown, text_for
from voxloop.cases.checklist import SINK_BACKENDS
from voxloop.notify.models import DeliveryChannel, MessageKind, MessageStatus, NotSentReason, OutgoingMessage

AUDIENCES = ("customer", "staff")
PAGE_SIZE = 50


def mail_server() -> tuple[bool, str]:
    """(delivered?, where): whether mail leaves this server, and a phrase saying where it goes."""
    sink = SINK_BACKENDS.get(settings.EMAIL_BACKEND)
    if sink:
        where = {"console": _("the console log"), "file": _("files"), "memory": _("memory"), "dummy": _("discarded")}
        return False, str(where[sink])
    return True, f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"


def _reason(message: OutgoingMessage) -> str:
    """Why a message was not sent, in words (the stored reason is a code for the usual cases)."""
    if not message.last_error:
        return ""
    try:
        return str(NotSentReason(message.last_error).label)
    except ValueError:
        return message.last_error


def _to(message: OutgoingMessage, viewer: object) -> str:
    if message.recipient == "customer":
        address = message.address or message.to_email
        shown = str(contact_for(address, viewer)) if address else ""
        if shown and message.channel != DeliveryChannel.EMAIL:  # "SMS: 138****00"
            return f"{message.get_channel_display()}: {shown}"
        return shown
    user = message.to_user
    name = (user.get_full_name() or user.username) if user is not None else ""
    return f"{name} <{message.to_email}>" if message.to_email and name else name or message.to_email


@login_required
def outgoing_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    rows = OutgoingMessage.objects.select_related("to_user", "case").order_by("-created_at", "-id")
    status = request.GET.get("status", "")
    audience = request.GET.get("to", "")
    kind = request.GET.get("kind", "")
    errors = []
    if status and status not in MessageStatus.values:
        errors.append(_("Unknown status “%(value)s”.") % {"value": status})
    elif status:
        rows = rows.filter(status=status)
    if audience and audience not in AUDIENCES:
        errors.append(_("Unknown recipient group “%(value)s”.") % {"value": audience})
    elif audience == "customer":
        rows = rows.filter(recipient="customer")
    elif audience == "staff":
        rows = rows.exclude(recipient="customer")
    if kind and kind not in MessageKind.values:
        errors.append(_("Unknown kind “%(value)s”.") % {"value": kind})
    elif kind:
        rows = rows.filter(kind=kind)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    messages = list(page)
    for message in messages:
        message.shown_to = _to(message, request.user)  # type: ignore[attr-defined]
        message.reason = _reason(message)  # type: ignore[attr-defined]
    # Customers' addresses shown unmasked are personal data: each row shown is recorded.
    record_shown(
        request.user,
        OutgoingMessage,
        [
            (m.pk, m.case.customer_id if m.case else None)
            for m in messages
            if m.recipient == "customer" and (m.address or m.to_email)
        ],
        request=request,
    )
    delivered, where = mail_server()
    context = {
        "page": page,
        "messages_shown": messages,
        "delivered": delivered,
        "where": where,
        "status": status,
        "audience": audience,
        "kind": kind,
        "statuses": MessageStatus.choices,
        "kinds": MessageKind.choices,
        "filter_errors": errors,
        "active_nav": "outgoing_mail",
    }
    return render(request, "notify/outgoing_list.html", context, status=400 if errors else 200)


@login_required
def outgoing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    message = get_object_or_404(OutgoingMessage.objects.select_related("to_user", "case"), pk=pk)
    customer = message.recipient == "customer"
    known = [message.address or message.to_email] if customer and (message.address or message.to_email) else []
    if customer:
        record_access(
            cast(User, request.user),  # login_required: a signed-in user
            message,
            customer_id=message.case.customer_id if message.case else None,
            action=AuditAction.VIEW_PERSONAL_DATA,
            request=request,
        )
    delivered, where = mail_server()
    context = {
        "message": message,
        "shown_to": _to(message, request.user),
        "reason": _reason(message),
        "subject": text_for(message.subject, request.user, known) if customer else message.subject,
        "body": text_for(message.body, request.user, known) if customer else message.body,
        "delivered": delivered,
        "where": where,
        "active_nav": "outgoing_mail",
    }
    return render(request, "notify/outgoing_detail.html", context)
