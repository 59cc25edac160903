"""Compensation with per-role authority: an agent approves up to 500, a manager up to 5,000, an admin without
limit (CompensationLimit rows override these defaults). Above the proposer's limit a request waits for a role
whose limit covers it. Every step writes a COMPENSATION event on the case's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from voxloop.accounts import permissions
from voxloop.accounts.models import Role, User
from voxloop.accounts.permissions import Capability, has
from voxloop.cases.events import record_event
from voxloop.cases.models import (
    Case,
    CaseStatus,
    Compensation,
    CompensationKind,
    CompensationLimit,
    CompensationStatus,
    EventKind,
)

# Used when no CompensationLimit row exists for a role; None means no limit.
DEFAULT_LIMITS: dict[str, Decimal | None] = {
    Role.AGENT: Decimal("500"),
    Role.MANAGER: Decimal("5000"),
    Role.ADMIN: None,
}
DEFAULT_CURRENCY = "CNY"
# Compensation.amount has max_digits=12, decimal_places=2.
MAX_AMOUNT = Decimal("9999999999.99")


class CompensationErrorCode(StrEnum):
    BAD_AMOUNT = "bad_amount"
    BAD_KIND = "bad_kind"
    REASON_REQUIRED = "reason_required"
    NOT_ALLOWED = "not_allowed"
    CASE_CLOSED = "case_closed"
    ABOVE_LIMIT = "above_limit"
    ALREADY_DECIDED = "already_decided"
    OWN_REQUEST = "own_request"


class CompensationError(Exception):
    def __init__(self, code: CompensationErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Limit:
    amount: Decimal | None  # None: unlimited
    currency: str

    def covers(self, amount: Decimal) -> bool:
        return self.amount is None or amount <= self.amount


def role_of(user: User) -> str:
    return permissions.role_of(user)


def limit_for(user: User) -> Limit | None:
    """The user's approval limit, or None when the role may not handle compensation at all."""
    if not has(user, Capability.OFFER_COMPENSATION):
        return None
    role = role_of(user)
    row = CompensationLimit.objects.filter(role=role).first()
    if row is not None:
        return Limit(row.max_amount, row.currency)
    return Limit(DEFAULT_LIMITS[role], DEFAULT_CURRENCY)


def parse_amount(value: object) -> Decimal:
    """A positive amount with at most two decimals; anything else is refused with the reason."""
    text = str(value if value is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        raise CompensationError(CompensationErrorCode.BAD_AMOUNT, _("Enter an amount."))
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise CompensationError(
            CompensationErrorCode.BAD_AMOUNT, _("%(value)s is not a number.") % {"value": text[:40]}
        ) from None
    if not amount.is_finite():
        raise CompensationError(
            CompensationErrorCode.BAD_AMOUNT, _("%(value)s is not a number.") % {"value": text[:40]}
        )
    if amount <= 0:
        raise CompensationError(CompensationErrorCode.BAD_AMOUNT, _("The amount must be greater than zero."))
    if amount > MAX_AMOUNT:
        raise CompensationError(CompensationErrorCode.BAD_AMOUNT, _("The amount is too large."))
    if amount != amount.quantize(Decimal("0.01")):
        raise CompensationError(CompensationErrorCode.BAD_AMOUNT, _("Use at most two decimal places."))
    return amount.quantize(Decimal("0.01"))


def _event(comp: Compensation, actor: User | None, action: str, now: datetime, note: str = "") -> None:
    payload = {
        "action": action,
        "amount": str(comp.amount),
        "currency": comp.currency,
        "status": comp.status,
        "compensation_kind": comp.kind,
        "compensation_id": comp.pk,
    }
    if note:
        payload["note"] = note
    record_event(comp.case, EventKind.COMPENSATION, actor, now, **payload)


def propose_compensation(
    case: Case | int,
    actor: User,
    *,
    amount: object,
    kind: str = CompensationKind.REFUND,
    reason: str = "",
    now: datetime | None = None,
) -> Compensation:
    """Propose compensation on a case. Within the proposer's limit it is approved at once; above, it waits."""
    now = now or timezone.now()
    limit = limit_for(actor)
    if limit is None:
        raise CompensationError(CompensationErrorCode.NOT_ALLOWED, _("Your role may not offer compensation."))
    value = parse_amount(amount)
    if kind not in CompensationKind.values:
        raise CompensationError(
            CompensationErrorCode.BAD_KIND,
            _("Unknown kind %(kind)s; use one of %(allowed)s.")
            % {"kind": str(kind)[:40], "allowed": ", ".join(CompensationKind.values)},
        )
    reason = (reason or "").strip()
    if not reason:
        raise CompensationError(CompensationErrorCode.REASON_REQUIRED, _("Give a reason for the compensation."))
    with transaction.atomic():
        case = Case.objects.select_for_update(no_key=True).get(pk=case.pk if isinstance(case, Case) else case)
        if case.merged_into_id or case.status == CaseStatus.CLOSED:
            raise CompensationError(
                CompensationErrorCode.CASE_CLOSED,
                _("Case %(case)s is closed; compensation cannot be added.") % {"case": case.number or case.pk},
            )
        approved = limit.covers(value)
        comp = Compensation.objects.create(
            case=case,
            kind=kind,
            amount=value,
            currency=limit.currency,
            reason=reason,
            status=CompensationStatus.APPROVED if approved else CompensationStatus.PENDING,
            requested_by=actor,
            decided_by=actor if approved else None,
            decided_at=now if approved else None,
            decision_note=_("Within the proposer's own limit.") if approved else "",
        )
        _event(comp, actor, "proposed", now)
    return comp


def may_reject(user: User, comp: Compensation) -> bool:
    """Managers and admins may turn down any pending request but their own."""
    return (
        comp.status == CompensationStatus.PENDING
        and has(user, Capability.DECIDE_COMPENSATION)
        and comp.requested_by_id != user.pk
    )


def may_approve(user: User, comp: Compensation) -> bool:
    """Approving also needs a limit that covers the amount."""
    limit = limit_for(user)
    return may_reject(user, comp) and limit is not None and limit.covers(comp.amount)


def decide_compensation(
    comp: Compensation | int, actor: User, *, approve: bool, note: str = "", now: datetime | None = None
) -> Compensation:
    """A manager or admin approves or rejects a pending request. Approving needs a limit that covers the amount;
    two deciders at once: the conditional update lets exactly one through."""
    now = now or timezone.now()
    pk = comp.pk if isinstance(comp, Compensation) else comp
    current = Compensation.objects.select_related("case").get(pk=pk)
    limit = limit_for(actor)
    if limit is None or not has(actor, Capability.DECIDE_COMPENSATION):
        raise CompensationError(
            CompensationErrorCode.NOT_ALLOWED, _("Only managers and administrators decide on compensation.")
        )
    if current.requested_by_id == actor.pk:
        raise CompensationError(CompensationErrorCode.OWN_REQUEST, _("Someone else must decide on your own request."))
    if approve and not limit.covers(current.amount):
        raise CompensationError(
            CompensationErrorCode.ABOVE_LIMIT,
            _("%(amount)s %(currency)s is above your approval limit of %(limit)s; an administrator must approve it.")
            % {"amount": current.amount, "currency": current.currency, "limit": limit.amount},
        )
    note = (note or "").strip()
    if not approve and not note:
        raise CompensationError(CompensationErrorCode.REASON_REQUIRED, _("Say why the request is rejected."))
    status = CompensationStatus.APPROVED if approve else CompensationStatus.REJECTED
    with transaction.atomic():
        won = Compensation.objects.filter(pk=pk, status=CompensationStatus.PENDING).update(
            status=status, decided_by=actor, decided_at=now, decision_note=note, updated_at=now
        )
        if not won:
            current.refresh_from_db()
            raise CompensationError(
                CompensationErrorCode.ALREADY_DECIDED,
                _("This request was already decided (%(status)s).") % {"status": current.get_status_display()},
            )
        current.refresh_from_db()
        _event(current, actor, "approved" if approve else "rejected", now, note)
    return current


def pending_for(user: User, cases: QuerySet[Case]) -> QuerySet[Compensation]:
    """Pending requests on the cases this user can see; those above the user's limit are included (to be seen
    and rejected; see may_approve)."""
    return (
        Compensation.objects.filter(status=CompensationStatus.PENDING, case__in=cases)
        .select_related("case", "requested_by")
        .order_by("created_at", "id")
    )
