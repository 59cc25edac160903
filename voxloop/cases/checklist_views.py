"""The setup checklist page for administrators: what is not configured yet, and where to fix it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from voxloop.accounts.permissions import Capability, require
from voxloop.cases.checklist import summary


@login_required
def checklist(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ADMINISTER)
    return render(request, "cases/checklist.html", {**summary(), "active_nav": "checklist"})
