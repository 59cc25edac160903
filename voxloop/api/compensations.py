"""Compensation endpoints: list a case's requests, propose one, approve or reject one.

The same rules as the case page, because the same service decides (voxloop.cases.compensation): an agent's
request within 500 is approved at once, above it waits; managers decide up to 5,000 and administrators without
limit; nobody decides their own request. The token acts as its user (see voxloop.api.cases); a case the user
cannot see is a 404. Refusals carry the service's code: 403 for what this user may not do (`not_allowed`,
`above_limit`, `own_request`), 409 when someone else decided first (`already_decided`), 400 for a bad request.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from pydantic import BaseModel, ConfigDict, Field

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, has
from voxloop.api.auth import TokenAuth, acting_user
from voxloop.api.cases import case_for_work
from voxloop.api.idempotency import IDEMPOTENCY, idempotent
from voxloop.api.models import Scope
from voxloop.api.schemas import ErrorOut
from voxloop.cases import compensation, queries
from voxloop.cases.compensation import CompensationError, CompensationErrorCode
from voxloop.cases.models import Compensation, CompensationKind

router = Router(tags=["cases"])

KindValue = Literal["refund", "voucher", "gift", "service", "other"]

# What this user may not do is 403, as on the page; a lost race is 409; the rest is a bad request.
STATUS_OF = {
    CompensationErrorCode.NOT_ALLOWED: 403,
    CompensationErrorCode.ABOVE_LIMIT: 403,
    CompensationErrorCode.OWN_REQUEST: 403,
    CompensationErrorCode.ALREADY_DECIDED: 409,
}


class CompensationOut(Schema):
    id: int
    case_id: int
    kind: str
    amount: str = Field(..., description="Decimal as a string, two places: 800.00")
    currency: str
    reason: str
    status: str = Field(..., description="pending, approved or rejected")
    requested_by: str | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    created_at: datetime
    may_approve: bool = Field(..., description="Whether this token's user may approve it now.")
    may_reject: bool = Field(..., description="Whether this token's user may reject it now.")


# What parse_amount accepts, stated for clients: more than zero, at most two decimals, at most 9,999,999,999.99.
_AMOUNT: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 9_999_999_999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": "^(0\\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,9}(\\.[0-9]{1,2})?)$"},
    ],
    "description": 'More than zero, at most two decimals: 800, 120.5 or "120.50".',
}


class CompensationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: Decimal = Field(..., gt=0, max_digits=12, decimal_places=2, json_schema_extra=_AMOUNT)
    kind: KindValue = "refund"
    reason: str = Field(..., min_length=1, max_length=2_000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approve: bool = Field(..., description="true approves, false rejects (a rejection needs a note).")
    note: str = Field("", max_length=2_000)


def _user(request: HttpRequest) -> User:
    return acting_user(request, _("This token acts for no active user, so it cannot work on compensation."))


def _row(comp: Compensation, user: User) -> dict[str, Any]:
    return {
        "id": comp.pk,
        "case_id": comp.case_id,
        "kind": comp.kind,
        "amount": f"{comp.amount:.2f}",
        "currency": comp.currency,
        "reason": comp.reason,
        "status": comp.status,
        "requested_by": comp.requested_by.get_username() if comp.requested_by else None,
        "decided_by": comp.decided_by.get_username() if comp.decided_by else None,
        "decided_at": comp.decided_at,
        "decision_note": comp.decision_note,
        "created_at": comp.created_at,
        "may_approve": compensation.may_approve(user, comp),
        "may_reject": compensation.may_reject(user, comp),
    }


def _problem(exc: CompensationError, field: str | None = None) -> Status:
    return Status(STATUS_OF.get(exc.code, 400), {"detail": exc.message, "code": str(exc.code), "field": field})


@router.get(
    "/cases/{case_id}/compensations",
    auth=TokenAuth(Scope.CASES_READ),
    response={200: list[CompensationOut], 404: ErrorOut},
    summary="A case's compensation requests, newest first",
)
def list_compensations(request: HttpRequest, case_id: int):
    user = _user(request)
    case = queries.visible_cases(user).filter(pk=case_id).first()
    if case is None:
        raise HttpError(404, _("There is no case %(id)s that this token's user can see.") % {"id": case_id})
    comps = case.compensations.select_related("requested_by", "decided_by").order_by("-created_at", "-id")
    return [_row(comp, user) for comp in comps]


@router.post(
    "/cases/{case_id}/compensations",
    auth=TokenAuth(Scope.CASES_WRITE),
    response={201: CompensationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Propose compensation: approved at once within your limit, otherwise it waits for a decision",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def propose(request: HttpRequest, case_id: int, payload: CompensationIn):
    user = _user(request)
    case = case_for_work(user, case_id)
    try:
        comp = compensation.propose_compensation(
            case, user, amount=payload.amount, kind=CompensationKind(payload.kind), reason=payload.reason
        )
    except CompensationError as exc:
        return _problem(exc, "amount" if exc.code == CompensationErrorCode.BAD_AMOUNT else None)
    return Status(201, _row(comp, user))


@router.post(
    "/cases/{case_id}/compensations/{compensation_id}/decision",
    auth=TokenAuth(Scope.CASES_WRITE),
    response={200: CompensationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Approve or reject a pending compensation request (managers and administrators)",
)
def decide(request: HttpRequest, case_id: int, compensation_id: int, payload: DecisionIn):
    user = _user(request)
    # The case first, by its own key: an id beyond the column's range then finds nothing instead of failing.
    case = queries.visible_cases(user).filter(pk=case_id).first()
    comp = None if case is None else case.compensations.select_related("case").filter(pk=compensation_id).first()
    if comp is None:
        raise HttpError(
            404,
            _("There is no compensation request %(id)s on a case that this token's user can see.")
            % {"id": compensation_id},
        )
    if not has(user, Capability.DECIDE_COMPENSATION):
        # Before the service, as the page's require(): the refusal is the policy's, with its code.
        exc = CompensationError(
            CompensationErrorCode.NOT_ALLOWED, _("Only managers and administrators decide on compensation.")
        )
        return _problem(exc)
    try:
        decided = compensation.decide_compensation(comp, user, approve=payload.approve, note=payload.note)
    except CompensationError as exc:
        return _problem(exc, "note" if exc.code == CompensationErrorCode.REASON_REQUIRED else None)
    decided = Compensation.objects.select_related("requested_by", "decided_by").get(pk=decided.pk)
    return _row(decided, user)
