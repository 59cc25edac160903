"""The webhooks page for administrators: endpoints (create, edit, switch off), recent deliveries and the
dead-letter list with "retry now". Views only translate between HTTP and the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.permissions import Capability, require
from voxloop.webhooks import queries, services
from voxloop.webhooks.forms import EndpointForm
from voxloop.webhooks.models import WebhookDelivery, WebhookEndpoint


def _require_admin(request: AuthenticatedRequest) -> None:
    require(request.user, Capability.ADMINISTER)


@never_cache
@login_required
def endpoint_list(request: AuthenticatedRequest) -> HttpResponse:
    _require_admin(request)
    context = {
        "endpoints": queries.endpoints_with_counts(),
        "dead_letters": queries.dead_letters(),
        "deliveries": queries.recent_deliveries(),
        "active_nav": "webhooks",
    }
    return render(request, "webhooks/list.html", context)


@never_cache
@login_required
def endpoint_edit(request: AuthenticatedRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk) if pk else None
    initial = (
        {
            "url": endpoint.url,
            "description": endpoint.description,
            "event_kinds": endpoint.event_kinds,
            "include_personal_data": endpoint.include_personal_data,
            "is_active": endpoint.is_active,
        }
        if endpoint
        else {"is_active": True}
    )
    form = EndpointForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if endpoint is None:
                    endpoint = services.create_endpoint(
                        data["url"],
                        description=data["description"],
                        event_kinds=data["event_kinds"],
                        include_personal_data=data["include_personal_data"],
                        created_by=request.user,
                    )
                    if not data["is_active"]:
                        services.set_endpoint_active(endpoint, False)
                    messages.success(request, _("Webhook created. Copy its signing secret into the receiver."))
                else:
                    services.update_endpoint(
                        endpoint,
                        url=data["url"],
                        description=data["description"],
                        event_kinds=data["event_kinds"],
                        include_personal_data=data["include_personal_data"],
                        is_active=data["is_active"],
                    )
                    messages.success(request, _("Webhook saved."))
                return redirect("webhooks:edit", pk=endpoint.pk)
            except services.WebhookError as exc:
                field = "url" if exc.code == services.WebhookErrorCode.BAD_URL else "event_kinds"
                form.add_error(field, exc.message)
        status = 400
    context = {
        "endpoint": endpoint,
        "form": form,
        "deliveries": queries.recent_deliveries(endpoint) if endpoint else [],
        "dead_letters": queries.dead_letters(endpoint) if endpoint else [],
        "active_nav": "webhooks",
    }
    return render(request, "webhooks/edit.html", context, status=status)


@login_required
@require_POST
def toggle(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    services.set_endpoint_active(endpoint, not endpoint.is_active)
    if endpoint.is_active:
        messages.success(request, _("Webhook switched on."))
    else:
        messages.success(request, _("Webhook switched off: nothing more is sent to it."))
    if request.POST.get("next") == "edit":
        return redirect("webhooks:edit", pk=pk)
    return redirect("webhooks:list")


@login_required
@require_POST
def rotate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    services.rotate_secret(get_object_or_404(WebhookEndpoint, pk=pk))
    messages.success(request, _("New signing secret created; the old one no longer verifies."))
    return redirect("webhooks:edit", pk=pk)


@never_cache
@login_required
def delivery_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint", "case"), pk=pk)
    delivery.event_label = queries.event_label(delivery.event_kind)  # type: ignore[attr-defined]  # for the template only
    return render(request, "webhooks/delivery.html", {"delivery": delivery, "active_nav": "webhooks"})


@login_required
@require_POST
def retry(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        services.retry_delivery(delivery)
    except services.WebhookError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Delivery %(id)s is being sent again.") % {"id": pk})
    return redirect("webhooks:list")
