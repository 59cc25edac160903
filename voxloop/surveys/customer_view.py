"""The surveys side of "one view of the customer": their survey answers with NPS/CSAT/CES over time.
Registered with the feedback app's panels in SurveysConfig.ready (feedback sits below surveys)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count
from django.utils.translation import get_language

from voxloop.accounts.models import User
from voxloop.feedback.models import Customer
from voxloop.feedback.panels import Panel, register_customer_panel
from voxloop.surveys.models import Response

RESPONSES_SHOWN = 20


def survey_history_panel(customer: Customer, user: User, hints: dict[str, Any]) -> Panel | None:
    responses = Response.objects.filter(customer=customer)
    summary = responses.aggregate(n=Count("id"), nps=Avg("nps"), csat=Avg("csat"), ces=Avg("ces"))
    recent = list(responses.select_related("survey").order_by("-submitted_at", "-id")[:RESPONSES_SHOWN])
    # Each answer under the title the customer was asked, in the reader's language; a survey without titles by its
    # name in that language.
    language = get_language() or "zh-hans"
    for response in recent:
        response.survey_label = response.survey.title(language) or response.survey.name_in(language)  # type: ignore[attr-defined]
    return Panel(order=20, template="surveys/_customer_surveys.html", context={"responses": recent, "summary": summary})


def register() -> None:
    register_customer_panel("surveys", survey_history_panel)
