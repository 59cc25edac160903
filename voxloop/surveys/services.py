"""Survey operations: building surveys, inviting customers, recording answers and closing the loop.

Views, tasks and the case follow-up hook call these functions; none of them save survey models directly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from voxloop.automation.rules import SURVEY_SOURCE
from voxloop.cases.tracking import normalise_language
from voxloop.core.messages import english, stored
from voxloop.feedback import bands
from voxloop.feedback.hooks import ContactPurpose, blocked_customer_ids, may_contact
from voxloop.feedback.models import Customer
from voxloop.surveys.delivery import SurveyEmail, send_survey_email
from voxloop.surveys.models import (
    SCORE_RANGES,
    Answer,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    Survey,
    SurveyKind,
)

logger = logging.getLogger(__name__)

# Written by the sending worker, read later on the survey's page in either language (voxloop.core.messages).
_NO_EMAIL = gettext_noop("No email address.")
_REMINDER_FAILED = gettext_noop("The reminder was not sent: %(error)s")

SUPPORTED_LANGUAGES = ("zh-hans", "en")
COMMENT_MAX_CHARS = 5000
DIMENSION_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class SurveyErrorCode(StrEnum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    ALREADY_ANSWERED = "already_answered"
    EDIT_CLOSED = "edit_closed"
    INACTIVE = "inactive"
    QUESTION_HAS_ANSWERS = "question_has_answers"
    NO_RECIPIENT = "no_recipient"


class SurveyError(Exception):
    def __init__(self, code: SurveyErrorCode, message: str, errors: Mapping[str, str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = dict(errors or {})  # field or question name -> message


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def survey_language(survey: Survey, wanted: str | None) -> str:
    """The language to show a survey in: the one asked for if the survey offers it, else its first one."""
    offered = [normalise_language(code) or "" for code in survey.languages or []] or ["zh-hans"]
    lang = normalise_language(wanted)
    return lang if lang in offered else offered[0]


# --- building surveys ----------------------------------------------------------------------------------


def _clean_languages(languages: Iterable[str]) -> list[str]:
    cleaned = [normalise_language(code) or "" for code in languages]
    if not cleaned or any(code not in SUPPORTED_LANGUAGES for code in cleaned):
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("Choose at least one language (Chinese or English)."),
            {"languages": _("Choose at least one language (Chinese or English).")},
        )
    return list(dict.fromkeys(cleaned))


def _clean_branding(branding: Mapping[str, Any]) -> dict[str, str]:
    logo_text = str(branding.get("logo_text") or "").strip()[:60]
    colour = str(branding.get("colour") or "").strip()
    if colour and not COLOUR_RE.match(colour):
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("The colour must look like #2563eb."),
            {"colour": _("The colour must look like #2563eb.")},
        )
    return {k: v for k, v in {"logo_text": logo_text, "colour": colour}.items() if v}


SURVEY_TEXT_FIELDS = ("title_zh", "title_en", "intro_zh", "intro_en", "thank_you_zh", "thank_you_en")


@transaction.atomic
def save_survey(
    survey: Survey | None,
    *,
    name: str,
    kind: str,
    languages: Iterable[str],
    is_anonymous: bool = False,
    is_active: bool = True,
    is_followup_default: bool = False,
    branding: Mapping[str, Any] | None = None,
    texts: Mapping[str, str] | None = None,
    created_by: Any = None,
) -> Survey:
    """Create (survey=None) or update a survey's settings. A new NPS/CSAT/CES survey starts with its headline
    question so it can be answered at once."""
    name = (name or "").strip()
    if not name:
        raise SurveyError(SurveyErrorCode.INVALID, _("Give the survey a name."), {"name": _("Give the survey a name.")})
    if kind not in SurveyKind.values:
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown survey kind."), {"kind": _("Unknown survey kind.")})
    if survey is not None and survey.kind != kind and survey.responses.exists():
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("This survey already has responses; its kind can no longer change."),
            {"kind": _("This survey already has responses; its kind can no longer change.")},
        )
    is_new = survey is None
    survey = survey or Survey(created_by=created_by)
    survey.name = name[:200]
    survey.kind = kind
    survey.languages = _clean_languages(languages)
    survey.is_anonymous = bool(is_anonymous)
    survey.is_active = bool(is_active)
    survey.branding = _clean_branding(branding or {})
    for key in SURVEY_TEXT_FIELDS:
        if texts is not None and key in texts:
            setattr(survey, key, str(texts[key] or "").strip())
    if is_followup_default:
        # Only one survey is the follow-up survey: choosing this one releases the previous one.
        Survey.objects.filter(is_followup_default=True).exclude(pk=survey.pk).update(is_followup_default=False)
    survey.is_followup_default = bool(is_followup_default)
    survey.save()
    if is_new and kind in SCORE_RANGES:
        add_question(
            survey, kind=kind, dimension="overall", text_zh=HEADLINE_TEXT[kind][0], text_en=HEADLINE_TEXT[kind][1],
            required=True,
        )  # fmt: skip
    return survey


HEADLINE_TEXT = {
    "nps": ("您有多大可能把我们推荐给朋友或同事？", "How likely are you to recommend us to a friend or colleague?"),
    "csat": ("您对这次服务的总体满意度如何？", "How satisfied are you with the service overall?"),
    "ces": ("解决您的问题有多容易？", "How easy was it to get your issue resolved?"),
}


def _clean_choices(kind: str, choices: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if kind not in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return []
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, choice in enumerate(choices or [], start=1):
        zh, en = str(choice.get("zh") or "").strip()[:200], str(choice.get("en") or "").strip()[:200]
        if not zh and not en:
            continue
        code = str(choice.get("code") or "").strip()[:40] or f"c{n}"
        while code in seen:
            code = f"{code}_"
        seen.add(code)
        cleaned.append({"code": code, "zh": zh, "en": en})
    if len(cleaned) < 2:
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("A choice question needs at least two choices."),
            {"choices": _("A choice question needs at least two choices.")},
        )
    return cleaned


def _clean_show_if(survey: Survey, order: int | None, show_if: Mapping[str, Any] | None) -> dict[str, int]:
    """{"question": <order of an earlier score question>, "lte": n and/or "gte": n} or {}."""
    if not show_if or not show_if.get("question"):
        return {}
    message = _("“Show only if” must name an earlier score question and a score within its range.")
    try:
        target_order = int(show_if["question"])
        bounds = {key: int(show_if[key]) for key in ("lte", "gte") if show_if.get(key) not in (None, "")}
    except (TypeError, ValueError):
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message}) from None
    target = survey.questions.filter(order=target_order).first()
    if target is None or not target.is_score or (order is not None and target_order >= order) or not bounds:
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message})
    low, high = SCORE_RANGES[target.kind]
    if any(not low <= value <= high for value in bounds.values()):
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message})
    return {"question": target_order, **bounds}


def _clean_question_fields(
    survey: Survey, order: int | None, *, kind: str, text_zh: str, text_en: str, dimension: str,
    choices: Any, show_if: Any,
) -> dict[str, Any]:  # fmt: skip
    if kind not in QuestionKind.values:
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown question kind."), {"kind": _("Unknown question kind.")})
    text_zh, text_en = (text_zh or "").strip()[:500], (text_en or "").strip()[:500]
    missing = [lang for lang in survey.languages or [] if not (text_en if lang == "en" else text_zh)]
    if missing:
        message = _("Write the question in every language the survey offers.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"text": message})
    dimension = (dimension or "").strip().lower()
    if dimension and not DIMENSION_RE.match(dimension):
        message = _("A dimension is a short code of lowercase letters, digits and _ (e.g. speed).")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"dimension": message})
    if dimension and kind not in SCORE_RANGES:
        message = _("Only score questions (NPS, CSAT, CES) can measure a dimension.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"dimension": message})
    return {
        "kind": kind,
        "text_zh": text_zh,
        "text_en": text_en,
        "dimension": dimension,
        "choices": _clean_choices(kind, choices),
        "show_if": _clean_show_if(survey, order, show_if),
    }


@transaction.atomic
def add_question(
    survey: Survey, *, kind: str, text_zh: str = "", text_en: str = "", dimension: str = "",
    choices: Any = None, required: bool = False, show_if: Any = None,
) -> Question:  # fmt: skip
    Survey.objects.select_for_update().filter(pk=survey.pk).first()  # one order number per concurrent add
    order = (survey.questions.aggregate(m=Max("order"))["m"] or 0) + 1
    fields = _clean_question_fields(
        survey, order, kind=kind, text_zh=text_zh, text_en=text_en, dimension=dimension, choices=choices,
        show_if=show_if,
    )  # fmt: skip
    return Question.objects.create(survey=survey, order=order, required=bool(required), **fields)


@transaction.atomic
def update_question(
    question: Question, *, kind: str, text_zh: str = "", text_en: str = "", dimension: str = "",
    choices: Any = None, required: bool = False, show_if: Any = None,
) -> Question:  # fmt: skip
    if kind != question.kind and question.answers.exists():
        message = _("This question already has answers; its kind can no longer change.")
        raise SurveyError(SurveyErrorCode.QUESTION_HAS_ANSWERS, message, {"kind": message})
    fields = _clean_question_fields(
        question.survey, question.order, kind=kind, text_zh=text_zh, text_en=text_en, dimension=dimension,
        choices=choices, show_if=show_if,
    )  # fmt: skip
    for key, value in fields.items():
        setattr(question, key, value)
    question.required = bool(required)
    question.save()
    return question


def _renumber(survey: Survey, ordered: list[Question]) -> None:
    """Give questions the orders 1..n in this sequence and rewrite "show if" references to follow them."""
    new_order = {q.order: n for n, q in enumerate(ordered, start=1)}
    # Two steps so the unique (survey, order) constraint never sees two questions on one number.
    Question.objects.filter(survey=survey).update(order=F("order") + 10000)
    for n, question in enumerate(ordered, start=1):
        show_if = dict(question.show_if or {})
        if show_if.get("question") in new_order:
            show_if["question"] = new_order[show_if["question"]]
            if show_if["question"] >= n:  # the score question now comes after: the condition can never be seen
                show_if = {}
        elif show_if:
            show_if = {}
        Question.objects.filter(pk=question.pk).update(order=n, show_if=show_if)


@transaction.atomic
def move_question(question: Question, direction: str) -> None:
    """Move a question one place "up" or "down"."""
    survey = question.survey
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    ordered = list(survey.questions.order_by("order"))
    index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    _renumber(survey, ordered)


@transaction.atomic
def delete_question(question: Question) -> None:
    if question.answers.exists():
        message = _("This question already has answers and cannot be deleted; copy the survey to change it.")
        raise SurveyError(SurveyErrorCode.QUESTION_HAS_ANSWERS, message)
    survey = question.survey
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    question.delete()
    _renumber(survey, list(survey.questions.order_by("order")))


# --- invitations -------------------------------------------------------------------------------------------


def _expiry(start: datetime) -> datetime:
    return start + timedelta(days=settings.SURVEY_INVITATION_DAYS)


def _fatigued_customer_ids(customer_ids: Iterable[int], now: datetime) -> set[int]:
    since = now - timedelta(days=settings.SURVEY_FATIGUE_DAYS)
    return set(
        Invitation.objects.filter(customer_id__in=list(customer_ids), created_at__gte=since)
        .exclude(status=InvitationStatus.FAILED)
        .values_list("customer_id", flat=True)
    )


def _require_active(survey: Survey) -> None:
    if not survey.is_active:
        raise SurveyError(SurveyErrorCode.INACTIVE, _("This survey is switched off; switch it on first."))


def create_link_invitation(
    survey: Survey, *, customer: Customer | None = None, language: str = "", created_by: Any = None,
    now: datetime | None = None,
) -> Invitation:  # fmt: skip
    """A personal link staff hand out themselves (chat, SMS): counted as sent now."""
    _require_active(survey)
    now = _now(now)
    return Invitation.objects.create(
        survey=survey,
        customer=customer,
        channel=InvitationChannel.LINK,
        language=survey_language(survey, language or (customer.language if customer else "")),
        status=InvitationStatus.SENT,
        sent_at=now,
        expires_at=_expiry(now),
        created_by=created_by,
    )


def invite_by_email(
    survey: Survey, *, email: str = "", customer: Customer | None = None, language: str = "",
    created_by: Any = None, now: datetime | None = None,
) -> Invitation:  # fmt: skip
    """Email one person an invitation (sent by a task after commit)."""
    _require_active(survey)
    now = _now(now)
    address = (email or (customer.email if customer else "")).strip()
    if not address:
        message = _("Give an email address (this customer has none on file).")
        raise SurveyError(SurveyErrorCode.NO_RECIPIENT, message, {"email": message})
    try:
        validate_email(address)
    except ValidationError:
        message = _("That email address does not look right.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"email": message}) from None
    if customer is not None and blocked_customer_ids([customer.pk], ContactPurpose.SURVEYS):
        message = _("This customer withdrew consent to surveys (see the consent ledger).")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"email": message})
    invitation = Invitation.objects.create(
        survey=survey,
        customer=customer,
        channel=InvitationChannel.EMAIL,
        email=address,
        language=survey_language(survey, language or (customer.language if customer else "")),
        expires_at=_expiry(now),
        created_by=created_by,
    )
    transaction.on_commit(lambda: _queue_send(invitation.pk))
    return invitation


@dataclass
class BatchResult:
    invited: int = 0
    skipped_opted_out: int = 0
    skipped_recently_surveyed: int = 0
    skipped_no_email: int = 0
    invitation_ids: list[int] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return self.invited + self.skipped_opted_out + self.skipped_recently_surveyed + self.skipped_no_email


def segment_customers(segment: str = "", tags: Iterable[str] = ()):  # type: ignore[no-untyped-def]
    """Customers in a segment and/or carrying every one of these tags (relationship NPS audiences)."""
    customers = Customer.objects.all()
    if segment:
        customers = customers.filter(segment=segment)
    for tag in tags:
        customers = customers.filter(tags__contains=[tag]) if _json_contains_ok() else customers
    return customers


def _json_contains_ok() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def invite_batch(
    survey: Survey, *, segment: str = "", tags: Iterable[str] = (), created_by: Any = None,
    now: datetime | None = None,
) -> BatchResult:  # fmt: skip
    """Email the survey to every customer of a segment: opted-out customers, customers invited in the last
    SURVEY_FATIGUE_DAYS days and customers without an email address are skipped and counted."""
    _require_active(survey)
    tags = [t.strip() for t in tags if t and t.strip()]
    if not segment and not tags:
        message = _("Choose a segment or tags: a batch never goes to every customer by accident.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"segment": message})
    now = _now(now)
    result = BatchResult()
    customers = segment_customers(segment, tags).only("pk", "email", "language", "opted_out", "tags")
    if tags and not _json_contains_ok():  # SQLite: filter the tags in Python
        wanted = set(tags)
        customers = [c for c in customers if wanted <= set(c.tags or [])]
    with transaction.atomic():
        batch = list(customers)
        fatigued = _fatigued_customer_ids([c.pk for c in batch], now)
        withdrawn = blocked_customer_ids([c.pk for c in batch], ContactPurpose.SURVEYS)
        rows: list[Invitation] = []
        for customer in batch:
            if customer.opted_out or customer.pk in withdrawn:
                result.skipped_opted_out += 1
            elif customer.pk in fatigued:
                result.skipped_recently_surveyed += 1
            elif not customer.email:
                result.skipped_no_email += 1
            else:
                rows.append(
                    Invitation(
                        survey=survey,
                        customer=customer,
                        channel=InvitationChannel.BATCH,
                        email=customer.email,
                        language=survey_language(survey, customer.language),
                        expires_at=_expiry(now),
                        created_by=created_by,
                    )
                )
        created = Invitation.objects.bulk_create(rows, batch_size=500)
        result.invited = len(created)
        result.invitation_ids = [i.pk for i in created if i.pk]
        transaction.on_commit(_queue_sweep)
    return result


def invite_for_case(case: Any, *, now: datetime | None = None, send_after: datetime | None = None) -> Invitation | None:
    """The follow-up survey for a resolved case: None when no follow-up survey is set, the customer opted out,
    has no email address or was surveyed in the last SURVEY_FATIGUE_DAYS days."""
    now = _now(now)
    survey = Survey.objects.filter(is_followup_default=True, is_active=True).first()
    # Read afresh: an opt-out recorded a moment ago must count.
    customer = Customer.objects.filter(pk=case.customer_id).first() if case.customer_id else None
    if survey is None or not customer or not customer.email:
        return None
    if not (may_contact(customer, ContactPurpose.SURVEYS) and may_contact(customer, ContactPurpose.FOLLOW_UPS)):
        return None
    if Invitation.objects.filter(case=case, survey=survey).exists():
        return None  # one follow-up survey per case, however often the hook runs
    if _fatigued_customer_ids([customer.pk], now):
        return None
    start = send_after or now
    invitation = Invitation.objects.create(
        survey=survey,
        customer=customer,
        case=case,
        channel=InvitationChannel.FOLLOWUP,
        email=customer.email,
        language=survey_language(survey, getattr(case, "language", "") or customer.language),
        send_after=send_after,
        expires_at=_expiry(start),
    )
    if send_after is None or send_after <= now:
        transaction.on_commit(lambda: _queue_send(invitation.pk))
    return invitation


def register_followup_sender() -> None:
    """Plug the survey invitation into the case follow-up (voxloop.cases.followup), when that module exists."""
    try:
        from voxloop.cases import followup
    except ImportError:  # pragma: no cover - the cases app without follow-ups
        return
    register = getattr(followup, "register_sender", None)
    if register is not None:
        register(followup_sender)


def followup_sender(follow_up: Any, now: datetime) -> str | None:
    """Sender for a due case follow-up: email the follow-up survey. None (not handled: the agent gets a task)
    when no follow-up survey is set or the customer cannot or should not get one."""
    from voxloop.cases.models import FollowUpStatus

    if invite_for_case(follow_up.case, now=now) is None:
        return None
    follow_up.method = "survey"
    return FollowUpStatus.SENT


def _queue_send(invitation_id: int) -> None:
    from voxloop.surveys.tasks import send_invitation_task

    send_invitation_task.delay(invitation_id)


def _queue_sweep() -> None:
    from voxloop.surveys.tasks import sweep_invitations_task

    sweep_invitations_task.delay()


def survey_url(invitation: Invitation) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("surveys_public:answer", args=[invitation.token])


def _send_email(invitation: Invitation, *, reminder: bool) -> None:
    survey = invitation.survey
    lang = invitation.language or survey_language(survey, "")
    with translation.override(lang):
        context = {
            "survey": survey,
            "title": survey.title(lang) or survey.name,
            "intro": survey.intro(lang),
            "url": survey_url(invitation),
            "reminder": reminder,
            "customer": invitation.customer if not survey.is_anonymous else None,
            "expires_at": invitation.expires_at,
            "brand": (survey.branding or {}).get("logo_text", ""),
        }
        subject = render_to_string("surveys/email/invitation_subject.txt", context).strip()
        body = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    send_survey_email(SurveyEmail(invitation.pk, invitation.email, lang, subject, body, html, reminder))


def send_invitation(invitation_id: int, *, now: datetime | None = None) -> str:
    """Send one pending email invitation. Claimed with a conditional update, so two workers never both send it."""
    now = _now(now)
    claimed = Invitation.objects.filter(
        pk=invitation_id,
        status=InvitationStatus.PENDING,
        channel__in=(InvitationChannel.EMAIL, InvitationChannel.BATCH, InvitationChannel.FOLLOWUP),
    ).exclude(send_after__gt=now)
    if not claimed.update(status=InvitationStatus.SENT, sent_at=now):
        return "skipped"
    invitation = Invitation.objects.select_related("survey", "customer").get(pk=invitation_id)
    if not invitation.email:
        Invitation.objects.filter(pk=invitation_id).update(
            status=InvitationStatus.FAILED, sent_at=None, error=english(_NO_EMAIL), error_i18n=stored(_NO_EMAIL)
        )
        return "failed"
    try:
        _send_email(invitation, reminder=False)
    except Exception as exc:  # noqa: BLE001 - any transport error: record it, show it, never lose the row
        logger.warning("survey invitation %s not sent: %s", invitation_id, exc)
        Invitation.objects.filter(pk=invitation_id).update(
            status=InvitationStatus.FAILED, sent_at=None, error=str(exc)[:500], error_i18n={}
        )
        return "failed"
    return "sent"


@dataclass
class SweepResult:
    sent: int = 0
    reminded: int = 0
    expired: int = 0
    failed: int = 0


def sweep_invitations(now: datetime | None = None, *, limit: int = 500) -> SweepResult:
    """Send due invitations, remind unanswered ones once, expire stale ones. Safe to run concurrently."""
    now = _now(now)
    result = SweepResult()
    result.expired = Invitation.objects.filter(
        status__in=(InvitationStatus.PENDING, InvitationStatus.SENT), expires_at__lt=now
    ).update(status=InvitationStatus.EXPIRED)
    due = Invitation.objects.filter(
        status=InvitationStatus.PENDING,
        channel__in=(InvitationChannel.EMAIL, InvitationChannel.BATCH, InvitationChannel.FOLLOWUP),
    ).exclude(send_after__gt=now)
    for pk in list(due.order_by("pk").values_list("pk", flat=True)[:limit]):
        outcome = send_invitation(pk, now=now)
        result.sent += outcome == "sent"
        result.failed += outcome == "failed"
    if settings.SURVEY_REMINDER_DAYS > 0:
        reminder_due = Invitation.objects.filter(
            status=InvitationStatus.SENT,
            reminded_at__isnull=True,
            answered_at__isnull=True,
            sent_at__lte=now - timedelta(days=settings.SURVEY_REMINDER_DAYS),
            channel__in=(InvitationChannel.EMAIL, InvitationChannel.BATCH, InvitationChannel.FOLLOWUP),
        ).exclude(email="")
        for pk in list(reminder_due.order_by("pk").values_list("pk", flat=True)[:limit]):
            # At most one reminder, ever: claim it first; a failed reminder is not retried.
            if not Invitation.objects.filter(pk=pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            invitation = Invitation.objects.select_related("survey", "customer").get(pk=pk)
            try:
                _send_email(invitation, reminder=True)
                result.reminded += 1
            except Exception as exc:  # noqa: BLE001
                logger.warning("survey reminder %s not sent: %s", pk, exc)
                params = {"error": str(exc)[:400]}
                Invitation.objects.filter(pk=pk).update(
                    error=english(_REMINDER_FAILED, params), error_i18n=stored(_REMINDER_FAILED, params)
                )
    return result


# --- answering ------------------------------------------------------------------------------------------


def find_invitation(token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind a survey link; NOT_FOUND for unknown, expired or switched-off ones (one answer
    for all three, so a link tells nothing about why)."""
    now = _now(now)
    invitation = (
        Invitation.objects.select_related("survey", "customer").filter(token=str(token)[:64]).first() if token else None
    )
    if (
        invitation is None
        or not invitation.survey.is_active
        or invitation.status in (InvitationStatus.EXPIRED, InvitationStatus.FAILED)
        or (invitation.expires_at is not None and invitation.expires_at < now and invitation.answered_at is None)
    ):
        raise SurveyError(SurveyErrorCode.NOT_FOUND, _("This survey link is not valid."))
    return invitation


def find_open_survey(public_token: str) -> Survey:
    survey = Survey.objects.filter(public_token=str(public_token)[:64], is_active=True).first()
    if survey is None:
        raise SurveyError(SurveyErrorCode.NOT_FOUND, _("This survey link is not valid."))
    return survey


def record_open(invitation: Invitation, *, now: datetime | None = None) -> None:
    """The only thing a GET records: when the link was first opened (informational; scanners open links)."""
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=_now(now))


def visible_questions(questions: Iterable[Question], scores: Mapping[int, int | None]) -> list[Question]:
    """The questions shown for these scores (question order -> score): "why?" only after a low score."""
    shown = []
    for question in questions:
        cond = question.show_if or {}
        if cond.get("question"):
            score = scores.get(int(cond["question"]))
            if score is None:
                continue
            if "lte" in cond and score > int(cond["lte"]):
                continue
            if "gte" in cond and score < int(cond["gte"]):
                continue
        shown.append(question)
    return shown


@dataclass
class CleanAnswers:
    numbers: dict[int, int] = field(default_factory=dict)  # question order -> score
    texts: dict[int, str] = field(default_factory=dict)
    choices: dict[int, list[str]] = field(default_factory=dict)
    comment: str = ""


def field_name(question: Question) -> str:
    return f"q{question.order}"


def clean_answers(survey: Survey, data: Mapping[str, Any], language: str) -> CleanAnswers:
    """Validate submitted form data ({"q1": "9", "q2": ["a", "b"], ...}); SurveyError INVALID with one message
    per question that needs a look. Answers to questions hidden by their condition are dropped."""
    questions = list(survey.questions.order_by("order"))
    errors: dict[str, str] = {}
    clean = CleanAnswers()

    def values(name: str) -> list[str]:
        raw = data.getlist(name) if hasattr(data, "getlist") else data.get(name)  # type: ignore[union-attr]
        if raw is None:
            return []
        items = raw if isinstance(raw, list | tuple) else [raw]
        return [str(v).strip() for v in items if str(v).strip()]

    for question in questions:  # scores first: conditions depend on them
        if not question.is_score:
            continue
        raw = values(field_name(question))
        if not raw:
            continue
        low, high = SCORE_RANGES[question.kind]
        try:
            number = int(raw[0])
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors[field_name(question)] = _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}
        else:
            clean.numbers[question.order] = number
    shown = visible_questions(questions, clean.numbers)
    for question in shown:
        name = field_name(question)
        raw = values(name)
        if question.is_score:
            if question.required and question.order not in clean.numbers and name not in errors:
                errors[name] = _("Please choose a score.")
            continue
        if question.kind == QuestionKind.TEXT:
            text = raw[0] if raw else ""
            if len(text) > COMMENT_MAX_CHARS:
                errors[name] = _("Please keep it under %(n)s characters.") % {"n": COMMENT_MAX_CHARS}
            elif question.required and not text:
                errors[name] = _("Please answer this question.")
            elif text:
                clean.texts[question.order] = text
            continue
        codes = {c["code"] for c in question.choices or []}
        picked = list(dict.fromkeys(raw))
        if any(code not in codes for code in picked) or (question.kind == QuestionKind.SINGLE and len(picked) > 1):
            errors[name] = _("Choose from the options given.")
        elif question.required and not picked:
            errors[name] = _("Please choose an option.")
        elif picked:
            clean.choices[question.order] = picked
    shown_orders = {q.order for q in shown}
    clean.numbers = {k: v for k, v in clean.numbers.items() if k in shown_orders}
    clean.comment = "\n\n".join(clean.texts[o] for o in sorted(clean.texts))
    if errors:
        raise SurveyError(SurveyErrorCode.INVALID, _("Some answers need a look."), errors)
    return clean


def _headline(survey: Survey, questions: list[Question], clean: CleanAnswers) -> dict[str, int | None]:
    """nps/csat/ces for the Response: the first score question of each kind without a sub-dimension other than
    "overall" (the survey's headline question)."""
    scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
    for question in questions:
        if question.is_score and question.dimension in ("", "overall") and scores[question.kind] is None:
            scores[question.kind] = clean.numbers.get(question.order)
    return scores


def _case_context(case: Any) -> dict[str, Any]:
    """Who gets the credit: the last person who replied publicly on the case (not merely the assignee)."""
    from voxloop.cases.models import CaseEvent, EventKind

    agent_id = (
        CaseEvent.objects.filter(case=case, kind=EventKind.PUBLIC_REPLY, actor__isnull=False)
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    product_id = (
        case.feedback_items.exclude(product__isnull=True).values_list("product_id", flat=True).first()
        if hasattr(case, "feedback_items")
        else None
    )
    return {"agent_id": agent_id or case.assignee_id, "team_id": case.team_id, "product_id": product_id}


def submit_response(
    *, invitation: Invitation, data: Mapping[str, Any], language: str = "", response: Response | None = None,
    now: datetime | None = None,
) -> Response:  # fmt: skip
    """Record (or, inside the edit window, change) the answers to an invitation. A second submit of an answered
    invitation raises ALREADY_ANSWERED; one after the edit window EDIT_CLOSED. Pass ``response`` to edit an
    anonymous response (anonymous responses keep no link to the invitation)."""
    now = _now(now)
    survey = invitation.survey
    lang = survey_language(survey, language or invitation.language)
    clean = clean_answers(survey, data, lang)
    questions = list(survey.questions.order_by("order"))
    with transaction.atomic():
        if response is None and not survey.is_anonymous:
            response = Response.objects.select_for_update().filter(invitation=invitation).first()
        if response is not None:
            response = Response.objects.select_for_update().get(pk=response.pk)
            if response.editable_until < now:
                raise SurveyError(
                    SurveyErrorCode.EDIT_CLOSED, _("Your answers were saved; the time to change them has passed.")
                )
        else:
            # The conditional update is the guard against a double submit (two tabs, a resent form). For an
            # anonymous survey only the day is kept, so the invitation's time does not point at the response.
            answered_at = now.replace(hour=0, minute=0, second=0, microsecond=0) if survey.is_anonymous else now
            claimed = Invitation.objects.filter(pk=invitation.pk, answered_at__isnull=True).update(
                answered_at=answered_at, status=InvitationStatus.ANSWERED
            )
            if not claimed:
                raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered."))
            response = Response(
                survey=survey,
                invitation=None if survey.is_anonymous else invitation,
                submitted_at=now,
                channel=invitation.channel,
                editable_until=now + timedelta(minutes=settings.SURVEY_EDIT_MINUTES),
            )
            if not survey.is_anonymous:
                response.customer_id = invitation.customer_id
                if invitation.case_id:
                    response.case_id = invitation.case_id
                    for key, value in _case_context(invitation.case).items():
                        setattr(response, key, value)
        response.language = lang
        for key, value in _headline(survey, questions, clean).items():
            setattr(response, key, value)
        response.comment = clean.comment
        try:
            response.save()
        except IntegrityError:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered.")) from None
        response.answers.all().delete()
        Answer.objects.bulk_create(
            [
                Answer(
                    response=response,
                    question=q,
                    dimension=q.dimension,
                    number=clean.numbers.get(q.order),
                    text=clean.texts.get(q.order, ""),
                    choices=clean.choices.get(q.order, []),
                )
                for q in questions
                if q.order in clean.numbers or q.order in clean.texts or q.order in clean.choices
            ]
        )
        response_id, edited = response.pk, response.submitted_at != now
        transaction.on_commit(lambda: _queue_close_loop(response_id, edited))
    return response


def submit_open_response(
    *, survey: Survey, data: Mapping[str, Any], channel: str, submission_id: str = "", language: str = "",
    now: datetime | None = None,
) -> tuple[Invitation, Response]:  # fmt: skip
    """An answer through the survey's open link or embed snippet: its invitation is made on submit. A form sent
    twice (same submission id) is answered once."""
    now = _now(now)
    if channel not in (InvitationChannel.LINK, InvitationChannel.EMBED):
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown channel."))
    clean_answers(survey, data, language)  # validate before making anything
    submission_id = re.sub(r"[^A-Za-z0-9_-]", "", submission_id or "")[:64]
    with transaction.atomic():
        existing = (
            Invitation.objects.filter(survey=survey, submission_id=submission_id).first() if submission_id else None
        )
        if existing is not None:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered."))
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    survey=survey,
                    channel=channel,
                    language=survey_language(survey, language),
                    status=InvitationStatus.SENT,
                    sent_at=now,
                    opened_at=now,
                    expires_at=_expiry(now),
                    submission_id=submission_id,
                )
        except IntegrityError:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered.")) from None
        response = submit_response(invitation=invitation, data=data, language=language, now=now)
    return invitation, response


# --- closing the loop -----------------------------------------------------------------------------------


def _queue_close_loop(response_id: int, edited: bool) -> None:
    from voxloop.surveys.tasks import close_loop_task

    close_loop_task.delay(response_id, edited)


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
    from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

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
        rating=rating,
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
    from voxloop.cases import followup
    from voxloop.cases.models import Case, CaseStatus
    from voxloop.cases.services import CaseError

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
    from voxloop.cases.linking import link_feedback
    from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseFeedback
    from voxloop.cases.services import CaseError

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
