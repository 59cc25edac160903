from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.permissions import Capability, require
from voxloop.analysis import jobs, queries
from voxloop.analysis.models import AnalysisJob
from voxloop.analysis.services import CorrectionError, correct_feedback
from voxloop.feedback.models import Feedback


@login_required
def analysis_panel(request: HttpRequest, pk: int) -> HttpResponse:
    feedback = get_object_or_404(Feedback, pk=pk)
    return render(request, "analysis/_panel.html", queries.panel_context(feedback, request.user))


@login_required
@require_POST
def correct(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.CORRECT_ANALYSIS)
    feedback = get_object_or_404(Feedback, pk=pk)
    field = request.POST.get("field", "")
    value = request.POST.getlist("value") if field == "topics" else request.POST.get("value", "")
    try:
        correct_feedback(feedback, field, value, user=request.user)
    except CorrectionError as exc:
        return HttpResponseBadRequest(str(exc))
    feedback.refresh_from_db()
    return render(request, "analysis/_panel.html", queries.panel_context(feedback, request.user))


# --- models page: retrain / reanalyze as background jobs with live progress -------------------------


def _require_model_role(request: HttpRequest) -> None:
    require(request.user, Capability.MANAGE_MODELS)


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    _require_model_role(request)
    error = ""
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        options = {
            "dry_run": request.POST.get("dry_run") == "on",
            "limit_per_dataset": request.POST.get("limit_per_dataset", "").strip(),
            "all": request.POST.get("all") == "on",
        }
        try:
            job = jobs.start_job(kind, user=request.user, options=options)
        except jobs.JobError as exc:
            error = str(exc)
        else:
            return redirect("analysis:job", pk=job.pk)
    context = queries.models_page_context()
    context["error"] = error
    return render(request, "analysis/models.html", context, status=400 if error else 200)


@login_required
def job_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    _require_model_role(request)
    job = get_object_or_404(AnalysisJob.objects.select_related("created_by"), pk=pk)
    template = "analysis/_job.html" if request.htmx else "analysis/job.html"
    return render(request, template, queries.job_context(job))
