"""Closing the loop after a response is stored: an unhappy answer reopens the case it followed, and the comment
becomes feedback through the one ingest path (linked to that case when it is open again)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from voxloop.automation.rules import SURVEY_SOURCE
from voxloop.cases import followup
from voxloop.cases.guards import CaseError
from voxloop.cases.linking import link_feedback
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseFeedback, CaseStatus
from voxloop.feedback import bands
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback
from voxloop.surveys.common import COMMENT_MAX_CHARS
from voxloop.surveys.models import Response

logger = logging.getLogger(__name__)


def is_unhappy(response: Response) -> bool:
    """A detractor NPS or a low CSAT (voxloop.feedback.bands): it reopens the case the survey followed."""
    return bands.is_unhappy(response.nps, response.csat)


def _feedback_title(response: Response) -> str:
    parts = [response.survey.name]
    if response.nps is not None:
        parts.append(f"NPS {response.nps}")
    if response.csat is not None:
        parts.append(f"CSAT {response.csat}")
    if response.ces is not None:
        parts.append(f"CES {response.ces}")
    return " · ".join(parts)[:500]


def _headline_rating(response: Response) -> tuple[int | None, int | None]:
    if response.nps is not None:
        return response.nps, 10
    if response.csat is not None:
        return response.csat, 5
    if response.ces is not None:
        return response.ces, 7
    return None, None


def comment_to_feedback(response: Response) -> int | None:
    """The comment becomes a Feedback item (channel "survey") through the one ingest path, idempotent on the
    response id; returns its id (None without a comment)."""
    if not response.comment.strip():
        return None
    rating, scale = _headline_rating(response)
    customer = response.customer
    item = FeedbackInput(
        text=response.comment[:COMMENT_MAX_CHARS],
        title=_feedback_title(response),
        channel="survey",
        received_at=response.submitted_at,
        source=SURVEY_SOURCE,
        external_id=f"survey-response:{response.pk}",
        rating=None if rating is None else Decimal(rating),
        rating_scale=scale,
        customer_id=customer.external_id if customer else "",
        customer_name=customer.name if customer else "",
        email=customer.email if customer else "",
        phone=customer.phone if customer else "",
        product=response.product.code if response.product_id and response.product else "",
        raw_payload={
            "survey_id": response.survey_id,
            "survey_kind": response.survey.kind,  # with nps and csat: the rules' survey_kind and survey_band
            "response_id": response.pk,
            "case_id": response.case_id,
            "nps": response.nps,
            "csat": response.csat,
            "ces": response.ces,
            "language": response.language,
        },
    )
    result = ingest_feedback([item])
    feedback_id = result.created[0] if result.created else result.existing_ids.get(0)
    if feedback_id and response.feedback_id != feedback_id:
        Response.objects.filter(pk=response.pk).update(feedback_id=feedback_id)
    return feedback_id


def _record_case_outcome(response: Response, *, edited: bool) -> bool:
    """Tell the case the survey followed how it went: an unhappy answer reopens it (resolved or closed alike);
    a happy first answer completes the follow-up. Returns True when the case was reopened."""
    if not response.case_id or (response.nps is None and response.csat is None):
        return False
    case = Case.objects.filter(pk=response.case_id).first()
    if case is None or case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.merged_into_id:
        return False
    unhappy = is_unhappy(response)
    if not unhappy and edited:
        return False  # the follow-up was completed by the first answer
    note = _("Follow-up survey: %(title)s") % {"title": _feedback_title(response)}
    try:
        followup.record_outcome(case, not unhappy, note)
    except CaseError as exc:
        logger.info("survey response %s: case %s not updated: %s", response.pk, case.pk, exc.message)
        return False
    return unhappy


def _link_to_case(response: Response, feedback_id: int) -> bool:
    """The comment joins the case the survey followed while that case is being worked on again."""
    if not response.case_id or CaseFeedback.objects.filter(feedback_id=feedback_id).exists():
        return False
    if not Case.objects.filter(pk=response.case_id, status__in=ACTIVE_STATUSES, merged_into__isnull=True).exists():
        return False
    try:
        link_feedback(response.case_id, feedback_id, None)
    except CaseError as exc:
        logger.info("survey response %s: feedback not linked: %s", response.pk, exc.message)
        return False
    return True


def close_loop(response_id: int, *, edited: bool = False) -> dict[str, Any]:
    """After a response is stored: an unhappy answer reopens the case it followed, and the comment becomes
    feedback (linked to that case when it is open again). Without a case the automation rules decide: they see
    the answer's survey_kind and survey_band (see the default rule, migrations 0003 and 0005)."""
    response = Response.objects.select_related("survey", "customer", "product").filter(pk=response_id).first()
    if response is None:
        return {"response": None}
    reopened = _record_case_outcome(response, edited=edited)
    feedback_id = comment_to_feedback(response)
    linked = _link_to_case(response, feedback_id) if feedback_id else False
    return {"response": response_id, "feedback": feedback_id, "case_reopened": reopened, "linked": linked}
