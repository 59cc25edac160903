"""API tokens page for administrators: list, create (the token is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from voxloop.accounts.permissions import Capability, require
from voxloop.api import services
from voxloop.api.forms import TokenForm
from voxloop.api.models import ApiToken


def _require_admin(request: HttpRequest) -> None:
    require(request.user, Capability.ADMINISTER)


@never_cache
@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = TokenForm(request.POST or None)
    new_token = ""
    if request.method == "POST" and form.is_valid():
        token, new_token = services.create_api_token(
            form.cleaned_data["name"], form.cleaned_data["scopes"], created_by_id=request.user.pk
        )
        form = TokenForm()
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": ApiToken.objects.select_related("created_by"),
            "form": form,
            "new_token": new_token,
            "active_nav": "api_tokens",
        },
    )


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    if services.revoke_api_token(pk):
        messages.success(request, _("The token was revoked; requests using it are refused from now on."))
    return redirect("api_tokens:list")
