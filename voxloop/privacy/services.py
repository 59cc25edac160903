"""Data-subject requests from receipt to outcome, erasure, and the consent ledger. Every state change is one
function here; each writes a RequestEvent on the request's timeline and an entry in the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from voxloop.accounts.audit import record_access
from voxloop.accounts.models import AuditAction, User
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.cases.models import Case, CaseEvent, FollowUp, FollowUpStatus
from voxloop.core.hooks import Hook
from voxloop.feedback.models import Customer, Feedback, QuarantinedRow
from voxloop.notify.models import MessageStatus, OutgoingMessage
from voxloop.privacy.models import (
    ConsentBasis,
    ConsentPurpose,
    ConsentRecord,
    DataSubjectRequest,
    RequestEvent,
    RequestKind,
    RequestState,
)
from voxloop.privacy.queries import Subject, find_subject
from voxloop.privacy.tombstones import IDENTIFIER_KINDS, bury, normalise, scrub_text
from voxloop.surveys.models import Invitation, InvitationStatus
from voxloop.webhooks.models import WebhookDelivery
from voxloop.webhooks.services import emit_event, scrub_personal_data


class PrivacyErrorCode(StrEnum):
    WRONG_STATE = "wrong_state"
    REASON_REQUIRED = "reason_required"
    SAME_ADMINISTRATOR = "same_administrator"
    NO_IDENTIFIER = "no_identifier"
    IDENTITY_METHOD_REQUIRED = "identity_method_required"
    NO_CUSTOMER = "no_customer"


class PrivacyError(Exception):
    def __init__(self, code: PrivacyErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def due_days() -> int:
    return int(getattr(settings, "PRIVACY_REQUEST_DUE_DAYS", 30))


def _step(
    request: DataSubjectRequest, actor: User | None, action: str, note: str = "", *, http: HttpRequest | None = None
) -> None:
    RequestEvent.objects.create(request=request, actor=actor, action=action, note=note)
    if actor is not None:
        customer_id = _first_customer_id(request)
        record_access(actor, request, customer_id=customer_id, action=action, request=http)


def _first_customer_id(request: DataSubjectRequest) -> int | None:
    ids = request.counts.get("customer_ids") if isinstance(request.counts, dict) else None
    return ids[0] if ids else None


def _require(request: DataSubjectRequest, *states: str) -> None:
    if request.state not in states:
        raise PrivacyError(
            PrivacyErrorCode.WRONG_STATE,
            _("This step is not possible while the request is “%(state)s”.") % {"state": request.get_state_display()},
        )


# --- the request workflow ----------------------------------------------------------------------------------


def open_request(
    *,
    kind: str,
    identifiers: Mapping[str, Any],
    actor: User,
    subject_name: str = "",
    received_via: str = "",
    details: str = "",
    received_at: Any = None,
    http: HttpRequest | None = None,
) -> DataSubjectRequest:
    """Log a request as received; the clock starts at ``received_at`` (default now)."""
    cleaned = {k: normalise(k, identifiers.get(k)) for k in IDENTIFIER_KINDS}
    cleaned = {k: v for k, v in cleaned.items() if v}
    if not cleaned:
        raise PrivacyError(
            PrivacyErrorCode.NO_IDENTIFIER,
            _("Give at least one identifier: customer ID, phone, email, handle or order number."),
        )
    received = received_at or timezone.now()
    with transaction.atomic():
        request = DataSubjectRequest.objects.create(
            kind=kind,
            identifiers=cleaned,
            subject_name=subject_name[:200],
            received_via=received_via[:100],
            details=details,
            received_at=received,
            due_at=received + timedelta(days=due_days()),
            created_by=actor,
        )
        subject = find_subject(cleaned)
        request.counts = {"customer_ids": subject.customer_ids}
        request.save(update_fields=["counts"])
        _step(request, actor, AuditAction.PRIVACY_REQUEST_OPENED, http=http)
    return request


def verify_identity(
    request: DataSubjectRequest, *, actor: User, method: str, http: HttpRequest | None = None
) -> DataSubjectRequest:
    """Record how the person proved who they are; only then is their data shown, exported or changed."""
    method = method.strip()
    if not method:
        raise PrivacyError(
            PrivacyErrorCode.IDENTITY_METHOD_REQUIRED, _("Say how the identity was checked (e.g. a code sent by SMS).")
        )
    with transaction.atomic():
        _require(request, RequestState.RECEIVED)
        request.state = RequestState.VERIFIED
        request.identity_method = method[:300]
        request.identity_checked_by = actor
        request.identity_checked_at = timezone.now()
        request.save()
        _step(request, actor, AuditAction.PRIVACY_IDENTITY_CHECKED, method, http=http)
    return request


def refuse_request(
    request: DataSubjectRequest, *, actor: User, reason: str, http: HttpRequest | None = None
) -> DataSubjectRequest:
    """Close a request without doing it; the person must be told why, so a reason is required."""
    reason = reason.strip()
    if not reason:
        raise PrivacyError(PrivacyErrorCode.REASON_REQUIRED, _("A refusal needs a reason the person can be given."))
    with transaction.atomic():
        _require(request, RequestState.RECEIVED, RequestState.VERIFIED, RequestState.AWAITING_APPROVAL)
        request.state = RequestState.REFUSED
        request.refusal_reason = reason
        request.completed_at = timezone.now()
        request.save()
        _step(request, actor, AuditAction.PRIVACY_REQUEST_REFUSED, reason, http=http)
    return request


def record_export(request: DataSubjectRequest, *, actor: User, http: HttpRequest | None = None) -> Subject:
    """Audit an export of the person's data (the zip is built by voxloop.privacy.export); identity first."""
    _require(request, RequestState.VERIFIED)
    subject = find_subject(request.identifiers)
    _step(request, actor, AuditAction.EXPORT_PERSONAL_DATA, gettext_noop("Data exported as a zip file."), http=http)
    return subject


def complete_request(
    request: DataSubjectRequest,
    *,
    actor: User,
    outcome: str,
    purposes: Iterable[str] = (),
    http: HttpRequest | None = None,
) -> DataSubjectRequest:
    """Close an access, portability, correction, restriction or consent-withdrawal request with what was done.
    Restriction withdraws every purpose and opts the customer out; consent withdrawal the chosen purposes."""
    outcome = outcome.strip()
    if not outcome:
        raise PrivacyError(PrivacyErrorCode.REASON_REQUIRED, _("Say what was done for the person."))
    if request.kind == RequestKind.DELETION:
        raise PrivacyError(PrivacyErrorCode.WRONG_STATE, _("A deletion is completed by its approval."))
    purposes = list(purposes)
    if request.kind == RequestKind.CONSENT_WITHDRAWAL and not purposes:
        raise PrivacyError(PrivacyErrorCode.REASON_REQUIRED, _("Tick the purposes the person withdraws consent for."))
    with transaction.atomic():
        _require(request, RequestState.VERIFIED)
        subject = find_subject(request.identifiers)
        source = _("Data-subject request #%(number)s") % {"number": request.pk}
        if request.kind == RequestKind.RESTRICTION:
            purposes = ConsentPurpose.values
            Customer.objects.filter(pk__in=subject.customer_ids).update(opted_out=True)
        if request.kind in (RequestKind.RESTRICTION, RequestKind.CONSENT_WITHDRAWAL):
            for customer in subject.customers():
                for purpose in purposes:
                    withdraw_consent(customer, purpose, source=source, actor=actor)
        request.state = RequestState.COMPLETED
        request.outcome = outcome
        request.completed_at = timezone.now()
        request.save()
        _step(request, actor, AuditAction.PRIVACY_REQUEST_COMPLETED, outcome, http=http)
    return request


def ask_erasure(
    request: DataSubjectRequest, *, actor: User, keep_feedback: bool, http: HttpRequest | None = None
) -> DataSubjectRequest:
    """The first administrator asks for the erasure; a second one must approve it (four eyes)."""
    if request.kind != RequestKind.DELETION:
        raise PrivacyError(PrivacyErrorCode.WRONG_STATE, _("Only a deletion request erases data."))
    with transaction.atomic():
        _require(request, RequestState.VERIFIED)
        request.state = RequestState.AWAITING_APPROVAL
        request.keep_feedback = keep_feedback
        request.erasure_requested_by = actor
        request.erasure_requested_at = timezone.now()
        request.counts = {**request.counts, "found": find_subject(request.identifiers).counts()}
        request.save()
        # Notes the system writes are stored untranslated and shown in the reader's language.
        yes, no = gettext_noop("Keep de-identified feedback: yes"), gettext_noop("Keep de-identified feedback: no")
        note = yes if keep_feedback else no
        _step(request, actor, AuditAction.PRIVACY_ERASURE_REQUESTED, note, http=http)
    return request


def approve_erasure(request: DataSubjectRequest, *, actor: User, http: HttpRequest | None = None) -> DataSubjectRequest:
    """The second administrator approves: the person's data is erased everywhere it was found, tombstones are
    kept, the request is completed and a ``subject.erased`` webhook event is queued."""
    if actor.pk == request.erasure_requested_by_id:
        raise PrivacyError(
            PrivacyErrorCode.SAME_ADMINISTRATOR,
            _("Another administrator must approve: the one who asked for the erasure cannot approve it."),
        )
    with transaction.atomic():
        request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        _require(request, RequestState.AWAITING_APPROVAL)
        now = timezone.now()
        subject = find_subject(request.identifiers)
        changed = erase_subject(subject, keep_feedback=request.keep_feedback, request_id=request.pk)
        request.state = RequestState.COMPLETED
        request.approved_by = actor
        request.approved_at = now
        request.completed_at = now
        request.counts = {**request.counts, "erased": changed}
        # What stays on the request itself: masked hints, never the identifiers (the tombstones hold hashes).
        request.identifiers = {k: _hint(v) for k, v in request.identifiers.items()}
        request.subject_name = ""
        request.outcome = (
            gettext_noop("Erased; de-identified feedback kept.") if request.keep_feedback else gettext_noop("Erased.")
        )
        request.save()
        _step(request, actor, AuditAction.PRIVACY_ERASURE_APPROVED, http=http)
        emit_event("subject.erased", {"request_id": request.pk, "erased_at": now.isoformat(), "counts": changed})
    return request


def _hint(value: str) -> str:
    value = str(value)
    if len(value) <= 4:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


# --- erasure -----------------------------------------------------------------------------------------------


def _scrub_json(value: Any, values: set[str]) -> Any:
    if isinstance(value, str):
        return scrub_text(value, values)
    if isinstance(value, list):
        return [_scrub_json(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, values) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Erased:
    """What an erasure rewrote in place without model signals, for the copies kept elsewhere (the search index)."""

    feedback_ids: list[int]
    customer_ids: list[int]
    case_event_ids: list[int]


# Announced after the erasure's commit; voxloop.search re-indexes the records so erased words cannot be found.
subject_erased: Hook[Erased] = Hook("subject erased")


def erase_subject(subject: Subject, *, keep_feedback: bool, request_id: int | None = None) -> dict[str, int]:
    """Anonymise the person everywhere the finder found them; returns the records changed or removed per place.
    Runs inside the caller's transaction. Tombstones go in first, so an import running meanwhile is screened."""
    values = subject.values()
    changed: dict[str, int] = {}
    identifiers = {kind: sorted(v) for kind, v in subject.identifiers.items()}
    changed["tombstones"] = bury(identifiers, request_id)

    # Gather every place first: clearing the links (customer, contacts) would hide the records from the finder.
    feedback_ids = subject.feedback_ids()
    case_ids = subject.case_ids()
    messages = list(subject.outgoing_messages().values_list("pk", flat=True))
    deliveries = list(subject.webhook_deliveries().values_list("pk", flat=True))
    responses = subject.survey_responses()
    invitations = subject.survey_invitations()
    quarantined = list(subject.quarantined_rows().values_list("pk", flat=True))

    # Cases and their timelines: texts re-masked, the customer unlinked.
    cases = Case.objects.filter(pk__in=case_ids)
    for case in cases:
        case.title = scrub_text(case.title, values)
        case.resolution = scrub_text(case.resolution, values)
        case.customer = None
        case.save(update_fields=["title", "resolution", "customer", "updated_at"])
    changed["cases"] = len(case_ids)
    events = list(CaseEvent.objects.filter(case_id__in=case_ids))
    for event in events:
        event.payload = _scrub_json(event.payload, values)
    CaseEvent.objects.bulk_update(events, ["payload"], batch_size=500)
    changed["case_events"] = len(events)

    changed["outgoing_messages"] = 0
    for message in OutgoingMessage.objects.filter(pk__in=messages):
        message.to_email = "" if message.to_email in subject.identifiers["email"] else message.to_email
        message.subject = scrub_text(message.subject, values)[:300]
        message.body = scrub_text(message.body, values)
        if message.status == MessageStatus.PENDING:
            message.status, message.next_attempt_at = MessageStatus.NOT_SENT, None
        message.save(update_fields=["to_email", "subject", "body", "status", "next_attempt_at", "updated_at"])
        changed["outgoing_messages"] += 1

    changed["webhook_deliveries"] = 0
    for delivery in WebhookDelivery.objects.filter(pk__in=deliveries):
        try:
            body = json.loads(delivery.body)
        except ValueError:
            delivery.body = scrub_text(delivery.body, values)
        else:
            delivery.body = json.dumps(_scrub_json(scrub_personal_data(body), values), ensure_ascii=False)
        delivery.save(update_fields=["body", "updated_at"])
        changed["webhook_deliveries"] += 1

    changed["survey_responses"] = 0
    for response in responses:
        response.comment = scrub_text(response.comment, values)
        response.customer = None
        response.save(update_fields=["comment", "customer"])
        for answer in response.answers.exclude(text=""):
            answer.text = scrub_text(answer.text, values)
            answer.save(update_fields=["text"])
        changed["survey_responses"] += 1
    changed["survey_invitations"] = _clear_invitations(invitations)

    # Feedback: de-identified in place, or removed with its analyses and links.
    items = Feedback.objects.filter(pk__in=feedback_ids)
    changed["attachments"] = sum(len(a or []) for a in items.values_list("attachments", flat=True))
    changed["raw_payloads"] = items.exclude(raw_payload={}).count()
    if keep_feedback:
        rows = list(items)
        for item in rows:
            item.text = scrub_text(item.text, values) or "[erased]"
            item.title = scrub_text(item.title, values)[:500]
            item.contact_name = item.contact_email = item.contact_phone = item.order_ref = item.thread_key = ""
            item.customer = item.order = None
            item.raw_payload, item.attachments = {}, []
        Feedback.objects.bulk_update(
            rows,
            ["text", "title", "contact_name", "contact_email", "contact_phone", "order_ref", "thread_key",
             "customer", "order", "raw_payload", "attachments"],
            batch_size=500,
        )  # fmt: skip
        analyses = list(FeedbackAnalysis.objects.filter(feedback_id__in=feedback_ids))
        for analysis in analyses:
            analysis.normalized_text = scrub_text(analysis.normalized_text, values)
            analysis.masked_text = scrub_text(analysis.masked_text, values)
            analysis.keywords = [k for k in analysis.keywords if str(k) not in values]
            # Evidence snippets (topics, emotions, needs, urgency reasons) quote the text.
            for name in ("topics", "emotions", "needs", "urgency_reasons"):
                setattr(analysis, name, _scrub_json(getattr(analysis, name), values))
        FeedbackAnalysis.objects.bulk_update(
            analyses,
            ["normalized_text", "masked_text", "keywords", "topics", "emotions", "needs", "urgency_reasons"],
            batch_size=500,
        )
        changed["analyses"] = len(analyses)
        changed["feedback"] = len(rows)
    else:
        changed["analyses"] = FeedbackAnalysis.objects.filter(feedback_id__in=feedback_ids).count()
        changed["feedback"] = len(feedback_ids)
        items.delete()

    changed["quarantined_rows"] = QuarantinedRow.objects.filter(pk__in=quarantined).delete()[0]

    # Orders stay (accounting) without their raw payload; customer records are emptied, or removed.
    changed["orders"] = subject.orders().update(raw_payload={})
    changed["consent_records"] = subject.consent_records().delete()[0]
    changed["audit_log"] = subject.audit_log().exclude(path="").update(path="")
    customers = subject.customers()
    changed["customers"] = len(subject.customer_ids)
    if keep_feedback:
        customers.update(
            external_id="", name="", email="", phone="", handles={}, tags=[], attributes={}, opted_out=True, segment=""
        )
    else:
        customers.delete()
    erased = Erased(
        feedback_ids=list(feedback_ids) if keep_feedback else [],
        customer_ids=list(subject.customer_ids) if keep_feedback else [],
        case_event_ids=[e.pk for e in events],
    )
    transaction.on_commit(lambda: subject_erased.announce(erased))
    return changed


def _clear_invitations(invitations: Any) -> int:
    # A pending invitation is never sent now; the token stays so an old link finds nothing personal.
    pending = invitations.filter(status=InvitationStatus.PENDING)
    pending.update(status=InvitationStatus.FAILED, error="The person's data was erased.", error_i18n={})
    cleared: int = invitations.update(customer=None, email="")
    return cleared


# --- the consent ledger ------------------------------------------------------------------------------------


def record_consent(
    customer: Customer,
    purpose: str,
    *,
    source: str,
    actor: User | None = None,
    basis: str = ConsentBasis.CONSENT,
    at: Any = None,
) -> ConsentRecord:
    """A customer gives consent for a purpose (e.g. ticked the box on the web form, said yes on the phone)."""
    return _ledger(customer, purpose, withdrawn=False, source=source, actor=actor, basis=basis, at=at)


def withdraw_consent(
    customer: Customer, purpose: str, *, source: str, actor: User | None = None, at: Any = None
) -> ConsentRecord:
    """A customer withdraws consent: from now on no message of that purpose is queued, and the ones waiting
    (survey invitations, follow-ups, notices) are stopped at once."""
    with transaction.atomic():
        record = _ledger(customer, purpose, withdrawn=True, source=source, actor=actor, at=at)
        _stop_waiting_messages(customer, purpose)
    return record


def _ledger(
    customer: Customer,
    purpose: str,
    *,
    withdrawn: bool,
    source: str,
    actor: User | None,
    basis: str = ConsentBasis.CONSENT,
    at: Any = None,
) -> ConsentRecord:
    if purpose not in ConsentPurpose.values:
        raise PrivacyError(PrivacyErrorCode.WRONG_STATE, _("Unknown purpose “%(purpose)s”.") % {"purpose": purpose})
    source = source.strip()
    if not source:
        raise PrivacyError(PrivacyErrorCode.REASON_REQUIRED, _("Say where the consent or withdrawal came from."))
    record = ConsentRecord.objects.create(
        customer=customer,
        purpose=purpose,
        withdrawn=withdrawn,
        basis=basis,
        source=source[:200],
        recorded_at=at or timezone.now(),
        recorded_by=actor,
    )
    if actor is not None:
        record_access(actor, record, customer_id=customer.pk, action=AuditAction.PRIVACY_CONSENT_CHANGED)
    return record


def _stop_waiting_messages(customer: Customer, purpose: str) -> None:
    now = timezone.now()
    if purpose == ConsentPurpose.SURVEYS:
        Invitation.objects.filter(customer=customer, status=InvitationStatus.PENDING).update(
            status=InvitationStatus.FAILED, error="Consent for surveys was withdrawn.", error_i18n={}, updated_at=now
        )
        # Sent ones get no reminder: the sweep only reminds invitations not reminded yet.
        Invitation.objects.filter(customer=customer, status=InvitationStatus.SENT, reminded_at__isnull=True).update(
            reminded_at=now, updated_at=now
        )
    elif purpose == ConsentPurpose.FOLLOW_UPS:
        FollowUp.objects.filter(
            case__customer=customer, status__in=(FollowUpStatus.SCHEDULED, FollowUpStatus.DUE)
        ).update(status=FollowUpStatus.SKIPPED, skip_reason="consent_withdrawn", updated_at=now)
        Invitation.objects.filter(
            customer=customer, status=InvitationStatus.PENDING, case__isnull=False
        ).update(status=InvitationStatus.FAILED, error="Consent for follow-ups was withdrawn.", error_i18n={},
                 updated_at=now)  # fmt: skip
    elif purpose == ConsentPurpose.NOTICES:
        OutgoingMessage.objects.filter(
            case__customer=customer, recipient="customer", status=MessageStatus.PENDING
        ).update(status=MessageStatus.NOT_SENT, last_error="consent_withdrawn", next_attempt_at=None, updated_at=now)


def withdrawn_customer_ids(customer_ids: Iterable[int], purpose: str) -> set[int]:
    """The contact check (voxloop.feedback.hooks): customers whose latest ledger entry for ``purpose`` is a
    withdrawal. Customers never recorded are not blocked here (the opt-out flag still applies)."""
    ids = list(customer_ids)
    if not ids:
        return set()
    latest: dict[int, bool] = {}
    rows = ConsentRecord.objects.filter(customer_id__in=ids, purpose=purpose).order_by("-recorded_at", "-id")
    for customer_id, withdrawn in rows.values_list("customer_id", "withdrawn"):
        latest.setdefault(customer_id, withdrawn)
    return {pk for pk, withdrawn in latest.items() if withdrawn}


def correct_customer(
    request: DataSubjectRequest, *, actor: User, changes: Mapping[str, str], http: HttpRequest | None = None
) -> Customer:
    """A correction request: set the customer's name, email or phone to what the person says is right."""
    _require(request, RequestState.VERIFIED)
    subject = find_subject(request.identifiers)
    customer = subject.customers().first()
    if customer is None:
        raise PrivacyError(PrivacyErrorCode.NO_CUSTOMER, _("No customer record matches this request."))
    fields = {}
    for name in ("name", "email", "phone"):
        value = (changes.get(name) or "").strip()
        if value:
            fields[name] = value[:200] if name == "name" else normalise(name, value)
    if fields:
        Customer.objects.filter(pk=customer.pk).update(**fields, updated_at=timezone.now())
        _step(request, actor, AuditAction.PRIVACY_DATA_CORRECTED, ", ".join(sorted(fields)), http=http)
    customer.refresh_from_db()
    return customer


def overdue_count() -> int:
    return DataSubjectRequest.objects.filter(
        Q(state__in=(RequestState.RECEIVED, RequestState.VERIFIED, RequestState.AWAITING_APPROVAL)),
        due_at__lt=timezone.now(),
    ).count()
