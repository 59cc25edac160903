"""Drill-downs: the raw rows behind a number of the KPI panel (cases, survey responses, feedback items), chosen
exactly as the roll-ups count them, so a click on a figure lists what it counts. Unlike ``queries`` (which reads
MetricDaily only) these read the source tables, one page at a time."""

from __future__ import annotations

from typing import Any

from django.db.models import Case as CaseWhen
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower, NullIf, Trim
from django.utils.translation import gettext_lazy as _

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.models import Case, CaseFeedback
from voxloop.feedback.models import Feedback
from voxloop.metrics.queries import Cut, Period, PeriodError
from voxloop.surveys.models import Response


def _case_population(kpi: str) -> Q:
    """Which cases make up the n of each case KPI (its denominator), exactly as the roll-ups count them."""
    if kpi.startswith("frt_"):
        return Q(first_responded_at__isnull=False)
    if kpi.startswith(("resolution_business", "resolution_wall")) or kpi == "fcr_rate":
        return Q(resolved_at__isnull=False)
    if kpi == "reopen_rate":
        return Q(resolved_at__isnull=False) | Q(reopen_count__gt=0)
    if kpi == "sla_compliance":
        return Q(sla_policy__isnull=False) & (
            Q(resolved_at__isnull=False) | Q(first_response_breached=True) | Q(resolution_breached=True)
        )
    if kpi == "repeat_rate":
        return Q(customer__isnull=False)
    return Q()  # cases opened, resolution rate: every case opened in the period


def _first_feedback(field_name: str) -> Subquery:
    return Subquery(
        CaseFeedback.objects.filter(case_id=OuterRef("pk")).order_by("id").values(f"feedback__{field_name}")[:1]
    )


def drill_cases(period: Period, cut: Cut, kpi: str = "", root_cause: str = "") -> Any:
    """The cases counted in a case KPI for this period and cut (merged duplicates left out, as in the roll-ups).
    ``root_cause``: only the resolved cases with that root-cause code (what the roll-ups' ``rc:<code>`` count)."""
    start, end = period.bounds()
    cases = Case.objects.filter(
        created_at__gte=start, created_at__lt=end, merged_into__isnull=True, withdrawn_at__isnull=True
    )
    cases = cases.filter(_case_population(kpi))
    if root_cause:
        cases = cases.filter(root_cause=root_cause, resolved_at__isnull=False)
    d, v = cut.dimension, cut.value
    if d in {"channel", "product"}:
        column = "channel" if d == "channel" else "product_id"
        cases = cases.annotate(origin=_first_feedback(column))
        cases = cases.filter(origin__isnull=True) if not v else cases.filter(origin=v)
    elif d == "team":
        cases = cases.filter(team_id=v) if v else cases.filter(team__isnull=True)
    elif d == "agent":
        # v is a user id here: parse_panel_params only lets known agents through
        cases = cases.filter(assignee_id=int(v)) if v else cases.filter(assignee__isnull=True)
    elif d == "segment":
        cases = (
            cases.filter(customer__segment=v) if v else cases.filter(Q(customer__isnull=True) | Q(customer__segment=""))
        )
    elif d == "topic":
        on_topic = FeedbackTopic.objects.filter(feedback__case_links__case_id=OuterRef("pk"))
        cases = cases.filter(Exists(on_topic.filter(top_code=v))) if v else cases.exclude(Exists(on_topic))
    elif d == "language":  # the language of the case's first item, as the roll-ups decide it
        cases = cases.annotate(origin=_first_feedback("language"))
        cases = cases.filter(origin=v) if v else cases.filter(Q(origin__isnull=True) | Q(origin=""))
    return cases.select_related("team", "assignee").order_by("-created_at", "-id")


def drill_responses(period: Period, cut: Cut, kpi: str = "") -> Any:
    start, end = period.bounds()
    responses = Response.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    if kpi.startswith("nps"):
        responses = responses.filter(nps__isnull=False)
    elif kpi.startswith("csat"):
        responses = responses.filter(csat__isnull=False)
    elif kpi.startswith("ces"):
        responses = responses.filter(ces__isnull=False)
    d, v = cut.dimension, cut.value
    if d == "channel":
        origin = CaseFeedback.objects.filter(case_id=OuterRef("case_id")).order_by("id").values("feedback__channel")[:1]
        responses = responses.annotate(origin=Subquery(origin))
        responses = responses.filter(origin=v) if v else responses.filter(origin__isnull=True)
    elif d in {"product", "team", "agent"}:
        responses = responses.filter(**{f"{d}_id": v}) if v else responses.filter(**{f"{d}__isnull": True})
    elif d == "segment":
        responses = (responses.filter(customer__segment=v) if v
                     else responses.filter(Q(customer__isnull=True) | Q(customer__segment="")))  # fmt: skip
    elif d == "topic":
        # as the roll-ups count it: a topic of the case's items or of the response's own analysed comment
        if v:
            responses = responses.filter(response_mentions(v))
        else:
            of_case = FeedbackTopic.objects.filter(feedback__case_links__case_id=OuterRef("case_id"))
            responses = responses.exclude(Exists(of_case)).exclude(
                Exists(FeedbackTopic.objects.filter(feedback_id=OuterRef("feedback_id")))
            )
    elif d == "language":
        responses = responses_in_language(responses, v)
    return responses.select_related("agent", "team", "survey", "case").order_by("-submitted_at", "-id")


def response_mentions(topic: str) -> Q:
    """Responses about ``topic`` as the roll-ups count them: a topic of their case's items or of their own
    analysed comment."""
    of_case = FeedbackTopic.objects.filter(feedback__case_links__case_id=OuterRef("case_id"), top_code=topic)
    of_comment = FeedbackTopic.objects.filter(feedback_id=OuterRef("feedback_id"), top_code=topic)
    return Q(Exists(of_case)) | Q(Exists(of_comment))


_HANT = ("zh-hant", "zh-tw", "zh-hk")


def responses_in_language(responses: Any, language: str) -> Any:
    """The responses whose language is ``language`` as the roll-ups decide it: the analysed comment's, else
    the case's first item's, else the survey's mapped to analysed codes (compute.responses.analysed_language_of)."""
    origin = CaseFeedback.objects.filter(case_id=OuterRef("case_id")).order_by("id").values("feedback__language")[:1]
    survey = Lower(Trim("language"))
    mapped = CaseWhen(
        When(survey_language="", then=Value("")),
        When(survey_language__in=_HANT, then=Value("zh-Hant")),
        When(Q(survey_language="zh") | Q(survey_language__startswith="zh-"), then=Value("zh")),
        When(Q(survey_language="en") | Q(survey_language__startswith="en-"), then=Value("en")),
        default=Value("other"),
        output_field=CharField(),
    )
    chosen = Coalesce(NullIf("feedback__language", Value("")), NullIf(Subquery(origin), Value("")), mapped,
                      output_field=CharField())  # fmt: skip
    return (
        responses.annotate(survey_language=survey).annotate(decided_language=chosen).filter(decided_language=language)
    )


def drill_feedback(period: Period, cut: Cut, kpi: str = "") -> Any:
    start, end = period.bounds()
    items = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    d, v = cut.dimension, cut.value
    if d == "channel":
        items = items.filter(channel=v)
    elif d == "product":
        items = items.filter(product_id=v) if v else items.filter(product__isnull=True)
    elif d == "segment":
        items = (
            items.filter(customer__segment=v) if v else items.filter(Q(customer__isnull=True) | Q(customer__segment=""))
        )
    elif d == "topic":
        on_topic = FeedbackTopic.objects.filter(feedback_id=OuterRef("pk"))
        items = items.filter(Exists(on_topic.filter(top_code=v))) if v else items.exclude(Exists(on_topic))
    elif d == "language":
        items = items.filter(language=v)
    elif d in {"team", "agent"}:
        raise PeriodError(_("Feedback cannot be cut by %(cut)s.") % {"cut": d})
    return items.select_related("analysis").order_by("-received_at", "-id")
