"""The customer's view of a case, behind its unguessable tracking link (/t/<token>/).

``find_case`` answers None alike for an unknown and an expired token, so the page can only say "not found".
``tracking_page`` is the read model: status, expected time and the public conversation, never internal notes and
never more about an agent than their first name. ``add_customer_message`` is what the customer's form does: the
text is stored as feedback through the one ingest path and put on its case as an emailed reply is
(``replies.receive_customer_reply``): a case waiting on the customer resumes, a resolved one reopens, a closed one
reopens within ``CLOSED_CASE_REOPEN_DAYS`` of its closing and otherwise opens a follow-up case linked to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind
from voxloop.cases.replies import receive_customer_reply
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Channel, Feedback
from voxloop.feedback.normalize import RowError, clean_text

SOURCE = "tracking"
MESSAGE_MAX_CHARS = 5000
SUPPORTED_LANGUAGES = ("zh-hans", "en")

# What the customer sees of each status: plain words, not the agents' workflow terms.
CUSTOMER_STATUS: dict[str, tuple[str, str | Promise]] = {
    # A context: the project catalog has a "Received" column header ("接收时间"), not this status word.
    CaseStatus.NEW: ("received", pgettext_lazy("case status for the customer", "Received")),
    CaseStatus.OPEN: ("in_progress", _("In progress")),
    CaseStatus.REOPENED: ("in_progress", _("In progress")),
    CaseStatus.PENDING_CUSTOMER: ("waiting_on_you", _("Waiting for your information")),
    CaseStatus.RESOLVED: ("resolved", _("Resolved")),
    CaseStatus.CLOSED: ("closed", _("Closed")),
}
STEPS = (
    ("received", pgettext_lazy("case status for the customer", "Received")),
    ("in_progress", _("In progress")),
    ("resolved", _("Resolved")),
)

# Timeline kinds the customer may see; everything else (notes, assignment, SLA, escalation...) is internal.
PUBLIC_KINDS = (
    EventKind.CREATED,
    EventKind.PUBLIC_REPLY,
    EventKind.CUSTOMER_MESSAGE,
    EventKind.RESOLVED,
    EventKind.REOPENED,
    EventKind.CLOSED,
)


def normalise_language(code: str | None) -> str | None:
    """zh, zh-CN, zh_Hans, zh-hans -> zh-hans; en-US -> en; anything else None."""
    code = (code or "").strip().lower().replace("_", "-")
    if not code:
        return None
    if code.startswith("zh"):
        return "zh-hans"
    if code.split("-")[0] == "en":
        return "en"
    return None


def customer_language(case: Case, *, from_feedback: bool = True) -> str | None:
    """The language to address the customer in: the case's, else the customer's, else (for emails, where no
    browser tells us) the language the customer wrote in. None: the caller decides (browser or site default)."""
    found = normalise_language(case.language)
    if not found and case.customer_id and case.customer:
        found = normalise_language(case.customer.language)
    if not found and from_feedback:
        langs = Feedback.objects.filter(case_links__case_id=case.pk).exclude(language="")
        found = normalise_language(langs.order_by("received_at", "id").values_list("language", flat=True).first())
    return found


def tracking_url(case: Case) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("tracking:page", args=[case.tracking_token])


def find_case(token: str, now: datetime | None = None) -> Case | None:
    """The case behind a tracking token, or None when the token is unknown or its link has expired.
    A case merged into another shows the surviving case."""
    now = now or timezone.now()
    token = (token or "").strip()
    if not token or len(token) > 64:
        return None
    case = (
        Case.objects.filter(tracking_token=token)
        .filter(Q(tracking_expires_at__isnull=True) | Q(tracking_expires_at__gt=now))
        .select_related("customer", "sla_policy__calendar")
        .first()
    )
    for _hop in range(10):
        if case is None or not case.merged_into_id:
            break
        case = Case.objects.select_related("customer", "sla_policy__calendar").filter(pk=case.merged_into_id).first()
        if case is not None and case.tracking_expires_at and case.tracking_expires_at <= now:
            return None
    return case


# --- the read model ---------------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "reply", "customer", "created", "resolved", "reopened", "closed"
    text: str = ""
    author: str = ""  # an agent's first name, or empty


@dataclass
class TrackingPage:
    number: str
    status_key: str
    status_label: Any
    steps: list[tuple[str, Any, bool]]  # (key, label, reached)
    opened_at: datetime
    expected_at: datetime | None  # when we promise a resolution (None: resolved, or waiting on the customer)
    resolved_at: datetime | None
    time_zone: str
    waiting_on_customer: bool
    closed: bool
    entries: list[TimelineEntry] = field(default_factory=list)


def _first_name(event: CaseEvent) -> str:
    actor = event.actor
    return (actor.first_name or "").strip() if actor else ""


def tracking_page(case: Case) -> TrackingPage:
    status_key, status_label = CUSTOMER_STATUS.get(case.status, ("in_progress", _("In progress")))
    reached = {"received"}
    if status_key in ("in_progress", "waiting_on_you", "resolved", "closed"):
        reached.add("in_progress")
    if status_key in ("resolved", "closed"):
        reached.add("resolved")
    policy = case.sla_policy
    time_zone = policy.calendar.time_zone if policy else settings.TIME_ZONE
    waiting = case.status == CaseStatus.PENDING_CUSTOMER
    expected = case.resolution_due_at if case.is_active and not waiting else None
    entries: list[TimelineEntry] = []
    events = (
        CaseEvent.objects.filter(case=case, kind__in=PUBLIC_KINDS).select_related("actor").order_by("created_at", "id")
    )
    for event in events:
        if event.kind == EventKind.PUBLIC_REPLY:
            entries.append(TimelineEntry(event.created_at, "reply", event.payload.get("text", ""), _first_name(event)))
        elif event.kind == EventKind.CUSTOMER_MESSAGE:
            entries.append(TimelineEntry(event.created_at, "customer", event.payload.get("text", "")))
        else:
            entries.append(TimelineEntry(event.created_at, str(event.kind)))
    return TrackingPage(
        number=case.number or str(case.pk),
        status_key=status_key,
        status_label=status_label,
        steps=[(key, label, key in reached) for key, label in STEPS],
        opened_at=case.created_at,
        expected_at=expected,
        resolved_at=case.resolved_at if status_key in ("resolved", "closed") else None,
        time_zone=time_zone,
        waiting_on_customer=waiting,
        closed=case.status == CaseStatus.CLOSED,
        entries=entries,
    )


# --- the customer adds information ------------------------------------------------------------------------


class TrackingMessageError(Exception):
    def __init__(self, code: str, message: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)


@dataclass
class MessageResult:
    feedback_id: int
    duplicate: bool = False  # the same submission again (double click): nothing new was stored
    resumed: bool = False  # the case was waiting on the customer and runs again
    reopened: bool = False
    follow_up: Case | None = None  # the case was closed too long ago: the message opened this linked case


def _customer_fields(case: Case) -> dict[str, str]:
    """Identify the case's customer to the ingest path (it matches customers by id, phone, then email)."""
    customer = case.customer if case.customer_id else None
    if customer is None:
        return {}
    if customer.external_id:
        return {"customer_id": customer.external_id, "customer_name": customer.name}
    if customer.phone:
        return {"phone": customer.phone, "customer_name": customer.name}
    if customer.email:
        return {"email": customer.email, "customer_name": customer.name}
    handle = (customer.handles or {}).get("handle", "")
    return {"handle": handle} if handle else {}


def add_customer_message(
    case: Case | int, text: str, *, submission_id: str = "", ip: str = "", now: datetime | None = None
) -> MessageResult:
    """Store what the customer added on the tracking page (see the module doc for what it does to the case)."""
    now = now or timezone.now()
    try:
        clean = clean_text(text, max_chars=MESSAGE_MAX_CHARS)  # the ingest path's own cleaning
    except RowError as exc:
        if exc.code == "text_too_long":
            raise TrackingMessageError(
                "text_too_long",
                _("Your message has %(count)s characters; please keep it under %(limit)s.")
                % {"count": len((text or "").strip()), "limit": MESSAGE_MAX_CHARS},
            ) from None
        raise TrackingMessageError("empty_text", _("Please write your message before sending.")) from None
    submission_id = "".join(c for c in (submission_id or "") if c.isalnum() or c in "-_")[:64] or uuid.uuid4().hex
    pk = case.pk if isinstance(case, Case) else int(case)
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",), no_key=True).select_related("customer").get(pk=pk)
        item = prepare_feedback(
            {
                "text": clean,
                "external_id": f"tracking:{case.pk}:{submission_id}",
                "thread_key": f"case:{case.pk}",
                **_customer_fields(case),
            },
            channel=Channel.WEBFORM,
            source=SOURCE,
            now=now,
            raw_payload={"text": clean, "case": case.number, "ip": ip, "via": "tracking page"},
        )
        item.received_at = now
        stored = ingest_feedback([item])
        if not stored.created:
            return MessageResult(feedback_id=stored.existing_ids.get(0, 0), duplicate=True)
        feedback_id = stored.created[0]
        # The same outcome as an e-mailed reply: one rule for both channels (CLOSED_CASE_REOPEN_DAYS included).
        outcome = receive_customer_reply(case, feedback_id, text=clean, via="tracking_page", now=now)
        result = MessageResult(feedback_id=feedback_id)
        result.resumed = outcome.action == "resumed"
        result.reopened = outcome.action == "reopened"
        result.follow_up = outcome.case if outcome.action == "follow_up" else None
    return result
