"""Emerging topics (/insights/emerging/): clusters of feedback the taxonomy covers poorly, a button to start a
new run (a background job whose progress the page polls), each cluster's items, and adopting a cluster as a
taxonomy topic (admins only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.permissions import Capability, has
from voxloop.analysis import emerging as service
from voxloop.analysis.models import EmergingCluster, EmergingRun, Topic
from voxloop.insights import emerging as read
from voxloop.insights.pages import InsightPage, insight_navigation, insights_view, respond

WINDOW_CHOICES = (("30", gettext_lazy("Last 30 days")), ("90", gettext_lazy("Last 90 days")),
                  ("180", gettext_lazy("Last 180 days")), ("365", gettext_lazy("Last 365 days")))  # fmt: skip
STEP_NAMES = {
    "load": gettext_lazy("Loading the feedback no topic covers"),
    "cluster": gettext_lazy("Clustering"),
    "save": gettext_lazy("Saving the clusters"),
    "done": gettext_lazy("Finished"),
}


def may_start_runs(user: Any) -> bool:
    return has(user, Capability.START_ANALYSIS_RUNS)


def may_adopt(user: Any) -> bool:
    return has(user, Capability.ADMINISTER)


def _base_context(request: HttpRequest) -> dict[str, Any]:
    return {"active_nav": "insights", "insight_nav": insight_navigation(), "page": InsightPage("emerging", "")}


@insights_view
def emerging(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        if not may_start_runs(request.user):
            raise PermissionDenied
        days = request.POST.get("days", str(service.DEFAULT_DAYS))
        try:
            service.start_run(user=request.user, days=int(days) if days.isdigit() else -1)
        except service.EmergingError as exc:
            error = str(exc)
        else:
            return redirect("dashboards:emerging")
    view = read.latest_results()
    active = service.active_run()
    page = InsightPage(
        key="emerging",
        title=_("Emerging topics"),
        intro=_(
            "Feedback that no taxonomy topic covers well (no topic, or only low-confidence ones), grouped by "
            "similar wording. A cluster that keeps growing is a candidate for a new topic."
        ),
        charts=[view.chart] if view.chart else [],
        template="dashboards/emerging.html",
        show_filters=False,
        context={
            **read.page_context(view),
            "active_run": active,
            "active_step": STEP_NAMES.get(active.step, active.step) if active else "",
            "runs": read.recent_runs(),
            "may_start": may_start_runs(request.user),
            "may_adopt": may_adopt(request.user),
            "windows": WINDOW_CHOICES,
            "default_days": str(service.DEFAULT_DAYS),
            "step_names": STEP_NAMES,
            "error": error,
        },
    )
    response = respond(request, page)
    if error:
        response.status_code = 400
    return response


@insights_view
def emerging_run(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A run's progress: the card the page polls (htmx) every second while it runs, or a page of its own."""
    run = get_object_or_404(EmergingRun.objects.select_related("created_by"), pk=pk)
    context = {**_base_context(request), "run": run, "step_name": STEP_NAMES.get(run.step, run.step)}
    if request.htmx:
        response = render(request, "dashboards/emerging_run.html", context)
        if not run.is_active and request.headers.get("X-Emerging-Poll"):
            response["HX-Refresh"] = "true"  # finished while the page watched: reload it to show the clusters
        return response
    return render(request, "dashboards/emerging_run_page.html", context)


@insights_view
def emerging_cluster(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = get_object_or_404(EmergingCluster.objects.select_related("run", "adopted_topic"), pk=pk)
    page_number = request.GET.get("page", "1")
    items = read.cluster_items(cluster, int(page_number) if page_number.isdigit() else 1)
    context = {
        **_base_context(request),
        "cluster": cluster,
        "name": read.cluster_name(cluster, 5),
        "growth": read.growth_text(cluster),
        "band": read.band_labels()[read.growth_band(cluster.growth, cluster.recent_count)],
        "listing": items,
        "may_adopt": may_adopt(request.user),
    }
    return render(request, "dashboards/emerging_cluster.html", context)


class AdoptForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=40,
        help_text=gettext_lazy("Lower-case letters, digits and underscores; under a parent topic, its code and a dot come first."),
    )  # fmt: skip
    parent = forms.ChoiceField(label=gettext_lazy("Parent topic"), required=False)
    name_zh = forms.CharField(label=gettext_lazy("Chinese name"), max_length=100)
    name_en = forms.CharField(label=gettext_lazy("English name"), max_length=100)
    phrases_zh = forms.CharField(
        label=gettext_lazy("Chinese phrases"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One per line. Feedback containing one of them gets the topic."),
    )  # fmt: skip
    phrases_en = forms.CharField(
        label=gettext_lazy("English phrases"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One per line, matched as whole words, ignoring case."),
    )  # fmt: skip
    reanalyze = forms.BooleanField(
        label=gettext_lazy("Re-analyse this cluster's feedback now, so it gets the topic too"), required=False
    )

    def __init__(self, *args: Any, language: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ChoiceField)  # declared above; self.fields is typed as any Field
        parent.choices = [("", _("No parent (a new top-level topic)"))] + read.parent_choices(language)

    @staticmethod
    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}  # Django returns cleaned_data; the stubs allow None
        parent = Topic.objects.filter(code=data["parent"]).first() if data.get("parent") else None
        data["parent_topic"] = parent
        code = (data.get("code") or "").strip()
        if code:
            for problem in service.adoption_errors(code, parent):
                if problem == "code":
                    self.add_error(
                        "code", _("Use 2 to 40 lower-case letters, digits or underscores, starting with a letter.")
                    )
                elif problem == "taken":
                    self.add_error("code", _("A topic with the code %(code)s already exists.")
                                   % {"code": service.full_code(code, parent)})  # fmt: skip
                else:
                    self.add_error("parent", _("Choose an active top-level topic."))
        if not self.lines(data.get("phrases_zh", "")) and not self.lines(data.get("phrases_en", "")):
            self.add_error(None, _("Give at least one phrase: without phrases the analysis never finds the topic."))
        return data


@insights_view
def emerging_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_adopt(request.user):
        raise PermissionDenied
    cluster = get_object_or_404(EmergingCluster.objects.select_related("run", "adopted_topic"), pk=pk)
    if cluster.adopted_topic is not None:  # selected with the cluster: no query
        messages.info(request, _("This cluster is already the topic %(code)s.") % {"code": cluster.adopted_topic.code})
        return redirect("dashboards:emerging_cluster", pk=cluster.pk)
    language = get_language() or ""
    if request.method == "POST":
        form = AdoptForm(request.POST, language=language)
        if form.is_valid():
            data = form.cleaned_data
            proposal = service.TopicProposal(
                code=data["code"].strip(), name_zh=data["name_zh"], name_en=data["name_en"],
                phrases_zh=form.lines(data["phrases_zh"]), phrases_en=form.lines(data["phrases_en"]),
            )  # fmt: skip
            try:
                topic = service.adopt_cluster(
                    cluster, proposal, parent=data["parent_topic"], user=request.user, reanalyze=data["reanalyze"]
                )
            except service.EmergingError as exc:  # e.g. adopted by someone else a moment ago
                form.add_error(None, str(exc))
            else:
                text = _("Created the topic %(code)s. New feedback is analysed with it from now on.")
                if data["reanalyze"]:
                    text += " " + _("This cluster's %(count)s items are being re-analysed.") % {"count": cluster.size}
                messages.success(request, text % {"code": topic.code})
                return redirect("dashboards:emerging_cluster", pk=cluster.pk)
    else:
        proposal = service.propose_topic(cluster)
        form = AdoptForm(
            initial={
                "code": proposal.code, "name_zh": proposal.name_zh, "name_en": proposal.name_en,
                "phrases_zh": "\n".join(proposal.phrases_zh), "phrases_en": "\n".join(proposal.phrases_en),
                "reanalyze": True,
            },
            language=language,
        )  # fmt: skip
    context = {**_base_context(request), "cluster": cluster, "name": read.cluster_name(cluster, 5), "form": form}
    return render(request, "dashboards/emerging_adopt.html", context)
