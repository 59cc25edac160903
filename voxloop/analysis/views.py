from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from voxloop.accounts.models import Role
from voxloop.analysis import queries
from voxloop.analysis.services import CorrectionError, correct_feedback
from voxloop.feedback.models import Feedback

CORRECTING_ROLES = {Role.ADMIN, Role.MANAGER, Role.AGENT, Role.ANALYST}


@login_required
def analysis_panel(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_or_404(Feedback, pk=pk)
    return render(request, "analysis/_panel.html", queries.panel_context(feedback, request.user))


@login_required
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    if not (request.user.is_superuser or request.user.role in CORRECTING_ROLES):
        raise PermissionDenied
    feedback = get_object_or_404(Feedback, pk=pk)
    field = request.POST.get("field", "")
    value = request.POST.getlist("value") if field == "topics" else request.POST.get("value", "")
    try:
        correct_feedback(feedback, field, value, user=request.user)
    except CorrectionError as exc:
        return HttpResponseBadRequest(str(exc))
    feedback.refresh_from_db()
    return render(request, "analysis/_panel.html", queries.panel_context(feedback, request.user))
