"""The notification list and the bell fragment it refreshes (htmx polling)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.notify import inbox


@login_required
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    rows = inbox.for_user(request.user)
    if not show_all:
        rows = rows.filter(read_at__isnull=True)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    items = [(n, inbox.text(n)) for n in page]
    context = {
        "page": page,
        "items": items,
        "show_all": show_all,
        "unread": inbox.unread_count(request.user),
        "email_on": inbox.email_preference(request.user),
    }
    return render(request, "notify/list.html", context)


@login_required
def bell(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "notify/_bell.html", {"unread": inbox.unread_count(request.user)})


def _back(request: AuthenticatedRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("notify:list")


@login_required
@require_POST
def mark_read(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    inbox.mark_read(request.user, [pk])
    return redirect(_back(request))


@login_required
@require_POST
def mark_all_read(request: AuthenticatedRequest) -> HttpResponse:
    count = inbox.mark_all_read(request.user)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect(_back(request))


@login_required
@require_POST
def email_preference(request: AuthenticatedRequest) -> HttpResponse:
    email = request.POST.get("email") == "on"
    inbox.set_email_preference(request.user, email)
    if email:
        messages.success(request, _("You will also get these notifications by email."))
    else:
        messages.success(request, _("You will get these notifications here only, not by email."))
    return redirect("notify:list")
