"""Account pages: the audit log of personal-data access, for administrators."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from voxloop.accounts.models import AuditAction, AuditLog
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
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": {"user": username, "customer": customer, "action": action, "since": since, "until": until},
        "actions": AuditAction.choices,
        "query_string": params.urlencode(),
        "active_nav": "audit_log",
    }
    return render(request, "accounts/audit_log.html", context)


@require_POST
@login_required
def toggle_away(request: HttpRequest) -> HttpResponse:
    """An agent marks themselves away (holiday, training): routing then gives new cases to colleagues."""
    user = request.user
    user.is_away = not user.is_away
    user.save(update_fields=["is_away"])
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    return redirect(back)
