"""Cases endpoints: list, read (with the timeline), create, update, comment.

The token acts as the user it belongs to (who created it, or `create_api_token --user`), with that user's
permissions in the product: ``visible_cases`` scopes every request (another team's case is a 404, as on the
pages), analysts and viewers only read, and only managers assign cases to other people. Every change goes
through voxloop.cases.services; their errors come back as 400 (409 when someone else was quicker) with the
error code and message.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from pydantic import Field

from voxloop.accounts import privacy
from voxloop.accounts.audit import record_access
from voxloop.accounts.models import Team, User
from voxloop.accounts.permissions import DENIED_MESSAGES, Capability, PolicyDenied, has
from voxloop.api import services as api_services
from voxloop.api.auth import TokenAuth, TokenRequest, acting_user
from voxloop.api.case_schemas import (
    CaseCreateIn,
    CaseDetailOut,
    CaseEventOut,
    CasePageOut,
    CaseUpdateIn,
    CommentIn,
    SeverityValue,
    StatusValue,
)
from voxloop.api.cursors import keyset_page
from voxloop.api.idempotency import IDEMPOTENCY, idempotent
from voxloop.api.models import ApiToken, Scope
from voxloop.api.schemas import ApiDateTime, ErrorOut
from voxloop.cases import queries, services
from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus
from voxloop.cases.services import CaseError, CaseErrorCode
from voxloop.feedback.models import Customer

router = Router(tags=["cases"])

# Someone else was quicker: the client should re-read the case and decide again.
CONFLICT_CODES = {CaseErrorCode.ALREADY_TAKEN}


class ApiProblem(Exception):
    """A 4xx with a machine-readable code, raised inside the update transaction so nothing is half-applied."""

    def __init__(self, status: int, code: str, message: Any, field: str | None = None) -> None:
        super().__init__(str(message))
        self.status, self.code, self.message, self.field = status, code, str(message), field

    def response(self) -> Status:
        return Status(self.status, {"detail": self.message, "code": self.code, "field": self.field})


def _acting_user(request: HttpRequest) -> User:
    return acting_user(
        request,
        _(
            "This token acts for no active user, so it cannot work on cases. Create one while signed in as "
            "that user, or with `voxloop create_api_token --user NAME`."
        ),
    )


def _may_write(user: User) -> bool:
    return has(user, Capability.WORK_ON_CASES)


def _case_error(exc: CaseError) -> ApiProblem:
    return ApiProblem(409 if exc.code in CONFLICT_CODES else 400, str(exc.code), exc.message)


# --- reading ---------------------------------------------------------------------------------------------------


def _base_queryset(user: User) -> QuerySet[Case]:
    return (
        queries.visible_cases(user)
        .select_related("team", "assignee", "customer")
        .prefetch_related(Prefetch("feedback_links", queryset=CaseFeedback.objects.only("case_id", "feedback_id")))
    )


def _case_row(case: Case, user: User, *, detail: bool = False) -> dict[str, Any]:
    customer = None
    if case.customer_id and case.customer:
        customer = {"id": case.customer.pk, "external_id": case.customer.external_id}
        if detail:
            customer |= {
                "name": privacy.name_for(case.customer.name, user),
                "email": privacy.contact_for(case.customer.email, user),
                "phone": privacy.contact_for(case.customer.phone, user),
            }
    return {
        "id": case.pk,
        "number": case.number,
        "title": privacy.text_for(case.title, user, privacy.known_values(case.customer) if case.customer_id else ()),
        "status": case.status,
        "severity": case.severity,
        "team_id": case.team_id,
        "team": case.team.name if case.team_id and case.team else None,
        "assignee": case.assignee.get_username() if case.assignee_id and case.assignee else None,
        "customer": customer,
        "feedback_ids": [link.feedback_id for link in case.feedback_links.all()],
        "first_response_due_at": case.first_response_due_at,
        "resolution_due_at": case.resolution_due_at,
        "first_responded_at": case.first_responded_at,
        "first_response_breached": case.first_response_breached,
        "resolution_breached": case.resolution_breached,
        "escalation_level": case.escalation_level,
        "waiting_on_customer_since": case.paused_since,
        "resolved_at": case.resolved_at,
        "closed_at": case.closed_at,
        "withdrawn_at": case.withdrawn_at,
        "root_cause": case.root_cause,
        "resolution": privacy.text_for(case.resolution, user),
        "reopen_count": case.reopen_count,
        "repeat_of_id": case.repeat_of_id,
        "merged_into_id": case.merged_into_id,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    }


def _event_row(event: CaseEvent, user: User) -> dict[str, Any]:
    payload = event.payload or {}
    return {
        "id": event.pk,
        "kind": event.kind,
        "created_at": event.created_at,
        "actor": event.actor.get_username() if event.actor_id and event.actor else None,
        "payload": privacy.payload_for(payload, user),
    }


def _detail(request: HttpRequest, user: User, case_id: int) -> dict[str, Any]:
    case = _base_queryset(user).filter(pk=case_id).first()
    if case is None:
        raise HttpError(404, _("There is no case %(id)s that this token's user can see.") % {"id": case_id})
    if case.customer_id:
        # Contact details unmasked are personal-data access, logged as on the case page (masked views are not).
        record_access(user, case, customer_id=case.customer_id, request=request)
    row = _case_row(case, user, detail=True)
    events = CaseEvent.objects.filter(case=case).select_related("actor").order_by("created_at", "id")
    row["events"] = [_event_row(e, user) for e in events]
    return row


class CaseFilters(Schema):
    status: StatusValue | None = None
    severity: SeverityValue | None = None
    team: int | None = Field(None, description="Team id.")
    assignee: str | None = Field(None, description="User id, user name, or `none` for unassigned cases.")
    updated_since: ApiDateTime | None = Field(None, description="updated_at ≥ this (ISO 8601): for syncing.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


def _find_user(ref: str | int) -> User | None:
    text = str(ref).strip()
    if text.isdigit():
        found = User.objects.filter(pk=int(text)).first()
        if found is not None:
            return found
    return User.objects.filter(username=text).first()


@router.get(
    "/cases",
    auth=TokenAuth(Scope.CASES_READ),
    response={200: CasePageOut, 400: ErrorOut, 403: ErrorOut},
    summary="List the cases the token's user can see, most recently changed first",
)
def list_cases(request: HttpRequest, filters: Query[CaseFilters]):
    user = _acting_user(request)
    qs = _base_queryset(user)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.severity:
        qs = qs.filter(severity=filters.severity)
    if filters.team is not None:
        qs = qs.filter(team_id=filters.team)
    if filters.assignee:
        if filters.assignee == "none":
            qs = qs.filter(assignee__isnull=True)
        else:
            assignee = _find_user(filters.assignee)
            if assignee is None:
                return Status(
                    400,
                    {
                        "detail": _("There is no user %(user)s.") % {"user": filters.assignee[:50]},
                        "code": "unknown_user",
                        "field": "assignee",
                    },
                )
            qs = qs.filter(assignee=assignee)
    if filters.updated_since:
        qs = qs.filter(updated_at__gte=filters.updated_since)
    rows, next_cursor = keyset_page(qs, filters.cursor, filters.limit, "updated_at")
    return {"items": [_case_row(c, user) for c in rows], "next_cursor": next_cursor}


@router.get(
    "/cases/{case_id}",
    auth=TokenAuth(Scope.CASES_READ),
    response={200: CaseDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="Read one case with its whole timeline",
)
def get_case(request: HttpRequest, case_id: int):
    user = _acting_user(request)
    return _detail(request, user, case_id)


# --- writing ---------------------------------------------------------------------------------------------------


def _customer_ref(ref: str) -> Customer:
    ref = ref.strip()
    customer = None
    if ref.startswith("#") and ref[1:].isdigit():
        customer = Customer.objects.filter(pk=int(ref[1:])).first()
    elif ref:
        customer = Customer.objects.filter(external_id=ref).first()
    if customer is None:
        raise ApiProblem(
            400, "customer_not_found", _("There is no customer %(ref)s.") % {"ref": ref[:100]}, field="customer"
        )
    return customer


def _record_feedback_for(customer: Customer, title: str, text: str, token: ApiToken) -> int:
    """The customer's request, stored through the one ingest path, so the case answers a real feedback item."""
    item: dict[str, Any] = {"text": text, "title": title, "external_id": f"case-{uuid.uuid4().hex}"}
    if customer.external_id:
        item["customer_id"] = customer.external_id
    elif customer.phone:
        item["phone"] = customer.phone
    elif customer.email:
        item["email"] = customer.email
    else:
        raise ApiProblem(
            400,
            "customer_not_linkable",
            _("Customer #%(id)s has no id, phone or email to file the request under; send feedback_ids instead.")
            % {"id": customer.pk},
            field="customer",
        )
    outcome = api_services.submit_feedback([item], token=token, record_batch=False).items[0]
    if outcome.status != "created" or outcome.id is None:
        raise ApiProblem(400, outcome.code or "feedback_rejected", outcome.message, field=outcome.field or None)
    return outcome.id


@router.post(
    "/cases",
    auth=TokenAuth(Scope.CASES_WRITE),
    response={201: CaseDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Open a case for stored feedback, or for a customer's request",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def create_case(request: TokenRequest, payload: CaseCreateIn):
    """SLA clocks start now; the case is flagged as a repeat complaint when the customer had one on the same
    topic recently. A team the token's user cannot see is refused like a team that does not exist."""
    user = _acting_user(request)
    if not _may_write(user):
        raise HttpError(403, _("Analysts and viewers can read cases but not open them."))
    try:
        with transaction.atomic():  # a refused case leaves no stray feedback item behind
            team = None
            if payload.team is not None:
                visible = queries.visible_team_ids(user)
                team = Team.objects.filter(pk=payload.team).first()
                if team is None or (visible is not None and team.pk not in visible):
                    raise ApiProblem(
                        400,
                        "unknown_team",
                        _("There is no team %(id)s you can work in.") % {"id": payload.team},
                        "team",
                    )
            title = (payload.title or "").strip()
            if payload.feedback_ids:
                feedback_ids = payload.feedback_ids
            elif title and payload.customer:
                customer = _customer_ref(payload.customer)
                text = (payload.description or "").strip() or title
                feedback_ids = [_record_feedback_for(customer, title, text, request.auth)]
            else:
                raise ApiProblem(
                    400, str(CaseErrorCode.NO_FEEDBACK), _("Send feedback_ids, or a title and a customer.")
                )
            try:
                case = services.open_case(feedback_ids, payload.severity, team, user, title=title)
            except CaseError as exc:
                raise _case_error(exc) from exc
    except ApiProblem as problem:
        return problem.response()
    return Status(201, _detail(request, user, case.pk))


def case_for_work(user: User, case_id: int) -> Case:
    """The case, if this user can see it (else 404) and work on it (else 403): every write endpoint's first step."""
    case = queries.visible_cases(user).filter(pk=case_id).first()
    if case is None:
        raise HttpError(404, _("There is no case %(id)s that this token's user can see.") % {"id": case_id})
    if not queries.may_work_on(user, case):
        raise HttpError(403, _("Analysts and viewers can read cases but not change them."))
    return case


def _apply_assignee(case: Case, user: User, ref: str | int) -> None:
    assignee = _find_user(ref)
    if assignee is None or not assignee.is_active:
        raise ApiProblem(
            400, "unknown_user", _("There is no active user %(user)s.") % {"user": str(ref)[:50]}, "assignee"
        )
    if case.assignee_id == assignee.pk:
        return
    if assignee.pk == user.pk and not has(user, Capability.MANAGE_CASES):
        # Agents take unassigned cases, as with the "Take" button; a case someone else holds is a 409.
        services.take_case(case, user)
        return
    try:
        services.assign_case(case, assignee, user)  # the service applies the policy, as for the page
    except PolicyDenied as exc:
        raise ApiProblem(403, exc.code, exc.message, "assignee") from exc


def _apply_team(case: Case, user: User, team_id: int) -> None:
    if not has(user, Capability.MANAGE_CASES):  # before the team lookup, so it reveals nothing about teams
        raise ApiProblem(403, "not_allowed", DENIED_MESSAGES[Capability.MANAGE_CASES], "team")
    visible = queries.visible_team_ids(user)
    team = Team.objects.filter(pk=team_id).first()
    if team is None or (visible is not None and team.pk not in visible):
        raise ApiProblem(400, "unknown_team", _("There is no team %(id)s you can work in.") % {"id": team_id}, "team")
    try:
        services.change_team(case, team, user)
    except PolicyDenied as exc:
        raise ApiProblem(403, exc.code, exc.message, "team") from exc


@router.patch(
    "/cases/{case_id}",
    auth=TokenAuth(Scope.CASES_WRITE),
    response={200: CaseDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Change status, severity, team or assignee; resolve with root cause and resolution",
)
def update_case(request: HttpRequest, case_id: int, payload: CaseUpdateIn):
    """All changes in one request apply together or not at all. Order: severity, team, assignee, then status, so
    `{"assignee": "me", "status": "resolved", ...}` works in one call."""
    user = _acting_user(request)
    case = case_for_work(user, case_id)
    changes = payload.model_dump(exclude_none=True)
    if not changes:
        return Status(
            400, {"detail": _("Nothing to change: send status, severity, team or assignee."), "code": "empty"}
        )
    resolving = payload.status == CaseStatus.RESOLVED
    if not resolving and (payload.root_cause is not None or payload.resolution is not None):
        return Status(
            400,
            {
                "detail": _("root_cause and resolution are recorded when resolving: send them with status resolved."),
                "code": "resolve_fields_without_resolve",
                "field": "root_cause" if payload.root_cause is not None else "resolution",
            },
        )
    if payload.reason is not None and payload.status != CaseStatus.REOPENED:
        return Status(
            400,
            {
                "detail": _("A reason is recorded when reopening: send it with status reopened."),
                "code": "reason_without_reopen",
                "field": "reason",
            },
        )
    try:
        with transaction.atomic():
            try:
                if payload.severity is not None and payload.severity != case.severity:
                    services.change_severity(case, payload.severity, user)
                if payload.team is not None:
                    _apply_team(case, user, payload.team)
                    case.refresh_from_db()
                if payload.assignee is not None:
                    _apply_assignee(case, user, payload.assignee)
                if payload.status is not None:
                    case.refresh_from_db()
                    _apply_status(case, user, payload)
            except CaseError as exc:
                raise _case_error(exc) from exc
    except ApiProblem as problem:
        return problem.response()
    return _detail(request, user, case.pk)


def _apply_status(case: Case, user: User, payload: CaseUpdateIn) -> None:
    status = payload.status
    if status == case.status:
        return
    if status == CaseStatus.RESOLVED:
        services.resolve_case(case, user, root_cause=payload.root_cause or "", resolution=payload.resolution or "")
    elif status == CaseStatus.REOPENED:
        services.reopen_case(case, user, reason=payload.reason or "")
    else:
        services.set_status(case, str(status), user)


@router.post(
    "/cases/{case_id}/comments",
    auth=TokenAuth(Scope.CASES_WRITE),
    response={201: CaseEventOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Add an internal note, or a public reply that is emailed to the customer",
    openapi_extra=IDEMPOTENCY,
)
@decorate_view(idempotent)
def comment(request: HttpRequest, case_id: int, payload: CommentIn):
    """A public reply stops the first-response clock (the first one is stored as first_responded_at)."""
    user = _acting_user(request)
    case = case_for_work(user, case_id)
    try:
        event = services.add_reply(case, user, payload.text, public=payload.public)
    except CaseError as exc:
        return _case_error(exc).response()
    return Status(201, _event_row(event, user))
