"""Inviting customers: personal links, single e-mails, batches to a segment, the follow-up survey of a resolved
case; sending them (through notify's outbox, see ``delivery``), one reminder, expiry."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from voxloop.cases import followup
from voxloop.cases.models import FollowUpStatus
from voxloop.core.messages import english, stored
from voxloop.feedback.hooks import ContactPurpose, blocked_customer_ids, may_contact
from voxloop.feedback.models import Customer
from voxloop.surveys.common import SurveyError, SurveyErrorCode, now_or_current, survey_language
from voxloop.surveys.delivery import SurveyEmail, send_survey_email
from voxloop.surveys.models import Invitation, InvitationChannel, InvitationStatus, Survey

logger = logging.getLogger(__name__)


# Written by the sending worker, read later on the survey's page in either language (voxloop.core.messages).
_NO_EMAIL = gettext_noop("No email address.")
_REMINDER_FAILED = gettext_noop("The reminder was not sent: %(error)s")


def invitation_expiry(start: datetime) -> datetime:
    return start + timedelta(days=settings.SURVEY_INVITATION_DAYS)


def fatigued_customer_ids(customer_ids: Iterable[int], now: datetime) -> set[int]:
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
    now = now_or_current(now)
    return Invitation.objects.create(
        survey=survey,
        customer=customer,
        channel=InvitationChannel.LINK,
        language=survey_language(survey, language or (customer.language if customer else "")),
        status=InvitationStatus.SENT,
        sent_at=now,
        expires_at=invitation_expiry(now),
        created_by=created_by,
    )


def invite_by_email(
    survey: Survey, *, email: str = "", customer: Customer | None = None, language: str = "",
    created_by: Any = None, now: datetime | None = None,
) -> Invitation:  # fmt: skip
    """Email one person an invitation (sent by a task after commit)."""
    _require_active(survey)
    now = now_or_current(now)
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
        expires_at=invitation_expiry(now),
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


def segment_customers(segment: str = "", tags: Iterable[str] = ()) -> QuerySet[Customer]:
    """Customers in a segment and/or carrying every one of these tags (relationship NPS audiences)."""
    customers = Customer.objects.all()
    if segment:
        customers = customers.filter(segment=segment)
    for tag in tags:
        customers = customers.filter(tags__contains=[tag]) if _json_contains_ok() else customers
    return customers


def _json_contains_ok() -> bool:
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
    now = now_or_current(now)
    result = BatchResult()
    customers: QuerySet[Customer] | list[Customer] = segment_customers(segment, tags).only(
        "pk", "email", "language", "opted_out", "tags"
    )
    if tags and not _json_contains_ok():  # SQLite: filter the tags in Python
        wanted = set(tags)
        customers = [c for c in customers if wanted <= set(c.tags or [])]
    with transaction.atomic():
        batch = list(customers)
        fatigued = fatigued_customer_ids([c.pk for c in batch], now)
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
                        expires_at=invitation_expiry(now),
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
    now = now_or_current(now)
    survey = Survey.objects.filter(is_followup_default=True, is_active=True).first()
    # Read afresh: an opt-out recorded a moment ago must count.
    customer = Customer.objects.filter(pk=case.customer_id).first() if case.customer_id else None
    if survey is None or not customer or not customer.email:
        return None
    if not (may_contact(customer, ContactPurpose.SURVEYS) and may_contact(customer, ContactPurpose.FOLLOW_UPS)):
        return None
    if Invitation.objects.filter(case=case, survey=survey).exists():
        return None  # one follow-up survey per case, however often the hook runs
    if fatigued_customer_ids([customer.pk], now):
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
        expires_at=invitation_expiry(start),
    )
    if send_after is None or send_after <= now:
        transaction.on_commit(lambda: _queue_send(invitation.pk))
    return invitation


def register_followup_sender() -> None:
    """Plug the survey invitation into the case follow-up (voxloop.cases.followup)."""
    followup.register_sender(followup_sender)


def followup_sender(follow_up: Any, now: datetime) -> str | None:
    """Sender for a due case follow-up: email the follow-up survey. None (not handled: the agent gets a task)
    when no follow-up survey is set or the customer cannot or should not get one."""
    if invite_for_case(follow_up.case, now=now) is None:
        return None
    follow_up.method = "survey"
    return FollowUpStatus.SENT


def _queue_send(invitation_id: int) -> None:
    # Imported here: the tasks module imports this one.
    from voxloop.surveys.tasks import send_invitation_task

    send_invitation_task.delay(invitation_id)


def _queue_sweep() -> None:
    # Imported here: the tasks module imports this one.
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
            "title": survey.title(lang) or survey.name_in(lang),
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
    now = now_or_current(now)
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
    now = now_or_current(now)
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
