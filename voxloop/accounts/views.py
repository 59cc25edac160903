"""Account pages: the audit log, for administrators: personal-data access, and configuration changes."""

from __future__ import annotations

from datetime import date
from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from voxloop.accounts import config_audit
from voxloop.accounts.models import AuditAction, AuditLog, ConfigAction, ConfigChange, User
from voxloop.accounts.permissions import Capability, has


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not has(request.user, Capability.ADMINISTER):
        raise PermissionDenied
    if request.GET.get("kind") == "config":
        return _config_changes(request)
    entries = AuditLog.objects.all()
    username = request.GET.get("user", "").strip()[:150]
    customer = request.GET.get("customer", "").strip()
    action = request.GET.get("action", "")
    since, until = _parse_day(request.GET.get("since", "")), _parse_day(request.GET.get("until", ""))
    if username:
        entries = entries.filter(username=username)
    if customer.isdigit():
        entries = entries.filter(customer_id=int(customer))
    if action in AuditAction.values:
        entries = entries.filter(action=action)
    if since:
        entries = entries.filter(at__date__gte=since)
    if until:
        entries = entries.filter(at__date__lte=until)
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    for entry in page:
        # The model's name in the reader's language ("工单 #12"), never its label ("cases.case #12").
        entry.type_label = config_audit.type_label(entry.object_type)  # type: ignore[attr-defined]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": {"user": username, "customer": customer, "action": action, "since": since, "until": until},
        "actions": AuditAction.choices,
        "query_string": params.urlencode(),
        "active_nav": "audit_log",
        "kind": "personal",
    }
    return render(request, "accounts/audit_log.html", context)


def _config_changes(request: HttpRequest) -> HttpResponse:
    """Configuration changes, searchable by user, kind of object, object number or name, action and day."""
    entries = ConfigChange.objects.all()
    username = request.GET.get("user", "").strip()[:150]
    object_type = request.GET.get("type", "")
    object_id = request.GET.get("object", "").strip()[:64]
    text = request.GET.get("q", "").strip()[:200]
    action = request.GET.get("action", "")
    since, until = _parse_day(request.GET.get("since", "")), _parse_day(request.GET.get("until", ""))
    types = config_audit.tracked_types()
    if username:
        entries = entries.filter(username=username)
    if object_type in dict(types):
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if text:
        entries = entries.filter(object_repr__icontains=text)
    if action in ConfigAction.values:
        entries = entries.filter(action=action)
    if since:
        entries = entries.filter(at__date__gte=since)
    if until:
        entries = entries.filter(at__date__lte=until)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    for entry in page:  # the template reads these two beside the model's fields
        entry.type_label = config_audit.type_label(entry.object_type)  # type: ignore[attr-defined]
        entry.rows = config_audit.diff_rows(entry)  # type: ignore[attr-defined]
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": {
            "user": username, "type": object_type, "object": object_id, "q": text, "action": action,
            "since": since, "until": until,
        },
        "actions": ConfigAction.choices,
        "types": types,
        "query_string": params.urlencode(),
        "active_nav": "audit_log",
        "kind": "config",
    }  # fmt: skip
    return render(request, "accounts/audit_log.html", context)


@require_POST
@login_required
def toggle_away(request: HttpRequest) -> HttpResponse:
    """An agent marks themselves away (holiday, training): routing then gives new cases to colleagues."""
    user = cast(User, request.user)  # login_required: never the anonymous user
    user.is_away = not user.is_away
    user.save(update_fields=["is_away"])
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    return redirect(back)
