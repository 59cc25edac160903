"""Read models for the privacy pages: the request inbox and the subject finder (every place a person's data
lives, with counts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import AuditLog, User
from voxloop.accounts.permissions import Capability, has
from voxloop.analysis.models import FeedbackAnalysis
from voxloop.cases.models import Case, CaseEvent
from voxloop.feedback.models import Customer, Feedback, Order, QuarantinedRow
from voxloop.notify.models import OutgoingMessage
from voxloop.privacy.models import OPEN_STATES, ConsentPurpose, ConsentRecord, DataSubjectRequest
from voxloop.privacy.tombstones import IDENTIFIER_KINDS, normalise
from voxloop.surveys.models import Answer, Invitation, Response
from voxloop.webhooks.models import WebhookDelivery

NAV_LABEL = _("Privacy requests")


def may_handle_requests(user: User) -> bool:
    """Who may see and act on data-subject requests, retention and consent: administrators (the policy's
    ADMINISTER capability)."""
    return has(user, Capability.ADMINISTER)


# The places a person's data can live, in the order the finder shows them: key -> label.
PLACES: dict[str, Any] = {
    "customers": _("Customer records"),
    "orders": _("Orders"),
    "feedback": _("Feedback texts"),
    "raw_payloads": _("Raw payloads as received"),
    "attachments": _("Attachments (by reference)"),
    "analyses": _("Analyses"),
    "cases": _("Cases"),
    "case_events": _("Case timeline events"),
    "survey_responses": _("Survey answers"),
    "survey_invitations": _("Survey invitations"),
    "quarantined_rows": _("Quarantined import rows"),
    "outgoing_messages": _("Outgoing messages"),
    "webhook_deliveries": _("Webhook deliveries"),
    "consent_records": _("Consent ledger"),
    "audit_log": _("Audit log entries"),
}


@dataclass
class Subject:
    """One person as the finder found them: their identifiers (as given, plus what their customer records add)
    and the records in every place."""

    identifiers: dict[str, set[str]]
    names: set[str] = field(default_factory=set)
    customer_ids: list[int] = field(default_factory=list)

    def values(self) -> set[str]:
        """Every identifier value and name: what erasure replaces in free text."""
        return {v for values in self.identifiers.values() for v in values} | self.names

    # --- the places

    def customers(self) -> QuerySet[Customer]:
        return Customer.objects.filter(pk__in=self.customer_ids)

    def orders(self) -> QuerySet[Order]:
        return Order.objects.filter(Q(customer_id__in=self.customer_ids) | Q(external_id__in=self.identifiers["order"]))

    def feedback(self) -> QuerySet[Feedback]:
        ids = self.identifiers
        match = Q(customer_id__in=self.customer_ids)
        if ids["phone"]:
            match |= Q(contact_phone__in=ids["phone"])
        if ids["email"]:
            match |= Q(contact_email__in=ids["email"])
        if ids["order"]:
            match |= Q(order_ref__in=ids["order"])
        return Feedback.objects.filter(match)

    def feedback_ids(self) -> list[int]:
        return list(self.feedback().values_list("pk", flat=True))

    def raw_payloads(self) -> QuerySet[Feedback]:
        return self.feedback().exclude(raw_payload={})

    def analyses(self) -> QuerySet[FeedbackAnalysis]:
        return FeedbackAnalysis.objects.filter(feedback_id__in=self.feedback_ids())

    def cases(self) -> QuerySet[Case]:
        return Case.objects.filter(
            Q(customer_id__in=self.customer_ids) | Q(feedback_links__feedback_id__in=self.feedback_ids())
        ).distinct()

    def case_ids(self) -> list[int]:
        return list(self.cases().values_list("pk", flat=True))

    def case_events(self) -> QuerySet[CaseEvent]:
        return CaseEvent.objects.filter(case_id__in=self.case_ids())

    def survey_responses(self) -> QuerySet[Response]:
        return Response.objects.filter(Q(customer_id__in=self.customer_ids) | Q(feedback_id__in=self.feedback_ids()))

    def survey_answers(self) -> QuerySet[Answer]:
        return Answer.objects.filter(response__in=self.survey_responses())

    def survey_invitations(self) -> QuerySet[Invitation]:
        match = Q(customer_id__in=self.customer_ids)
        if self.identifiers["email"]:
            match |= Q(email__in=self.identifiers["email"])
        return Invitation.objects.filter(match)

    def quarantined_rows(self) -> QuerySet[QuarantinedRow]:
        # Rejected rows are linked to nobody: they are found by the identifiers in their text (names excluded:
        # too many false matches; the JSON copy is searched as text, where phones, emails and ids are verbatim).
        needles = [v for kind in IDENTIFIER_KINDS for v in self.identifiers[kind] if len(v) >= 5]
        if not needles:
            return QuarantinedRow.objects.none()
        match = Q()
        for needle in needles:
            match |= Q(raw_text__contains=needle) | Q(raw_as_text__contains=needle)
        return QuarantinedRow.objects.annotate(raw_as_text=Cast("raw", TextField())).filter(match)

    def outgoing_messages(self) -> QuerySet[OutgoingMessage]:
        match = Q(case_id__in=self.case_ids())
        if self.identifiers["email"]:
            match |= Q(to_email__in=self.identifiers["email"])
        return OutgoingMessage.objects.filter(match)

    def webhook_deliveries(self) -> QuerySet[WebhookDelivery]:
        match = Q(case_id__in=self.case_ids())
        for needle in (*self.identifiers["phone"], *self.identifiers["email"], *self.identifiers["customer_id"]):
            if len(needle) >= 5:
                match |= Q(body__contains=needle)
        return WebhookDelivery.objects.filter(match)

    def consent_records(self) -> QuerySet[ConsentRecord]:
        return ConsentRecord.objects.filter(customer_id__in=self.customer_ids)

    def audit_log(self) -> QuerySet[AuditLog]:
        return AuditLog.objects.filter(customer_id__in=self.customer_ids)

    def attachments(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for pk, attachments in self.feedback().exclude(attachments=[]).values_list("pk", "attachments"):
            found.extend({"feedback_id": pk, **a} for a in attachments if isinstance(a, dict))
        return found

    def counts(self) -> dict[str, int]:
        counts = {}
        for place in PLACES:
            found = getattr(self, place)()
            counts[place] = len(found) if isinstance(found, list) else found.count()
        return counts

    @property
    def is_empty(self) -> bool:
        return not self.customer_ids and not self.feedback().exists()


def _clean_identifiers(given: Mapping[str, Any]) -> dict[str, set[str]]:
    identifiers: dict[str, set[str]] = {kind: set() for kind in IDENTIFIER_KINDS}
    for kind in IDENTIFIER_KINDS:
        value = normalise(kind, given.get(kind))
        if value:
            identifiers[kind].add(value)
    return identifiers


def find_subject(given: Mapping[str, Any]) -> Subject:
    """The person matching any of the given identifiers (customer id, phone, email, handle, order number), with
    the identifiers of their customer records and orders added, so that erasure finds every copy."""
    ids = _clean_identifiers(given)
    match = Q(pk__in=[])
    if ids["customer_id"]:
        match |= Q(external_id__in=ids["customer_id"])
    if ids["phone"]:
        match |= Q(phone__in=ids["phone"])
    if ids["email"]:
        match |= Q(email__in=ids["email"])
    for handle in ids["handle"]:
        match |= Q(handles__handle=handle)
    if ids["order"]:
        match |= Q(pk__in=Order.objects.filter(external_id__in=ids["order"]).values("customer_id"))
    # A contact given with feedback identifies its customer too (the customer record may lack that contact).
    contacts = Q(pk__in=[])
    if ids["phone"]:
        contacts |= Q(contact_phone__in=ids["phone"])
    if ids["email"]:
        contacts |= Q(contact_email__in=ids["email"])
    if ids["order"]:
        contacts |= Q(order_ref__in=ids["order"])
    if ids["phone"] or ids["email"] or ids["order"]:
        match |= Q(pk__in=Feedback.objects.filter(contacts, customer__isnull=False).values("customer_id"))
    customers = list(Customer.objects.filter(match)) if any(ids.values()) else []
    subject = Subject(identifiers=ids, customer_ids=[c.pk for c in customers])
    for customer in customers:
        for kind, value in (("customer_id", customer.external_id), ("phone", customer.phone),
                            ("email", customer.email)):  # fmt: skip
            if value:
                ids[kind].add(value)
        ids["handle"].update(str(v) for v in (customer.handles or {}).values() if v)
        if customer.name:
            subject.names.add(customer.name)
    if subject.customer_ids:
        ids["order"].update(
            Order.objects.filter(customer_id__in=subject.customer_ids).values_list("external_id", flat=True)
        )
    # The contacts given with their feedback are theirs too (a customer record may lack them): erasure replaces
    # and buries those as well. One round only: a contact found here does not pull in further people.
    found = subject.feedback().values_list("contact_phone", "contact_email", "order_ref", "contact_name")
    for phone, email, order, name in found:
        for kind, value in (("phone", phone), ("email", email), ("order", order)):
            if value:
                ids[kind].add(value)
        if name:
            subject.names.add(name)
    return subject


def inbox(state: str = "open") -> QuerySet[DataSubjectRequest]:
    requests = DataSubjectRequest.objects.select_related("created_by")
    if state == "open":
        return requests.filter(state__in=OPEN_STATES)
    if state == "closed":
        return requests.exclude(state__in=OPEN_STATES).order_by("-completed_at", "-id")
    return requests


def consent_state(customer: Customer) -> list[dict[str, Any]]:
    """Per purpose: the latest ledger entry (None: never recorded, the opt-out flag alone decides)."""
    latest: dict[str, ConsentRecord] = {}
    for record in ConsentRecord.objects.filter(customer=customer).select_related("recorded_by"):
        latest.setdefault(record.purpose, record)
    return [{"purpose": p, "label": label, "record": latest.get(p)} for p, label in ConsentPurpose.choices]
