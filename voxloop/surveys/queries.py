"""Read models for the survey pages."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from voxloop.surveys.models import Invitation, InvitationStatus, Response, Survey

# The menu entry (the core navigation imports it, so the wording lives in this app's catalog).
NAV_LABEL = _("Surveys")


def survey_list() -> QuerySet[Survey]:
    return Survey.objects.annotate(
        response_count=Count("responses", distinct=True),
        question_count=Count("questions", distinct=True),
    ).order_by("-is_active", "name")


def invitation_counts(survey: Survey) -> dict[str, Any]:
    counts = Invitation.objects.filter(survey=survey).aggregate(
        total=Count("pk"),
        sent=Count("pk", filter=Q(sent_at__isnull=False)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        answered=Count("pk", filter=Q(status=InvitationStatus.ANSWERED)),
        failed=Count("pk", filter=Q(status=InvitationStatus.FAILED)),
        expired=Count("pk", filter=Q(status=InvitationStatus.EXPIRED)),
    )
    return counts


def recent_responses(survey: Survey, limit: int = 50) -> list[Response]:
    return list(
        Response.objects.filter(survey=survey)
        .select_related("customer", "case", "agent", "feedback")
        .order_by("-submitted_at", "-id")[:limit]
    )


def recent_invitations(survey: Survey, limit: int = 20) -> list[Invitation]:
    return list(Invitation.objects.filter(survey=survey).select_related("customer").order_by("-created_at")[:limit])
