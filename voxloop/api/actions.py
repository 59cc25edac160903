"""Improvement actions endpoints: list, read (with the latest measured effect), create, change status.

The token acts as the user it belongs to, with that user's permissions (voxloop.accounts.permissions and the
object rules in voxloop.actions.services: owner, collaborators, the department's manager). Every change goes
through voxloop.actions.services; its errors come back as 400 (409 when the status moved meanwhile) with the
error code and message.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import Field

from voxloop.accounts.models import Department, User
from voxloop.accounts.permissions import Capability, require
from voxloop.actions import queries, services
from voxloop.actions.models import ActionOrigin, ActionStatus, ActionType, ImprovementAction
from voxloop.actions.services import ActionError, ActionErrorCode
from voxloop.api.auth import TokenAuth, acting_user
from voxloop.api.cursors import keyset_page
from voxloop.api.models import Scope
from voxloop.api.schemas import ErrorOut

router = Router(tags=["actions"])

if TYPE_CHECKING:  # a Literal built from the choices at run time is no type to mypy: plain strings to it
    StatusValue = str
    TypeValue = str
    OriginValue = str
else:  # the API schema lists the model's choices, and ninja answers 422 for any other value
    StatusValue = Literal[tuple(ActionStatus.values)]
    TypeValue = Literal[tuple(ActionType.values)]
    OriginValue = Literal[tuple(ActionOrigin.values)]
Transition = Literal["approve", "start", "implement", "verify", "close_effective", "close_not_effective", "cancel"]


class ActionOut(Schema):
    id: int
    title: str
    description: str
    plan: str
    type: str
    status: str
    department_id: int
    department: str
    owner: str
    collaborators: list[str]
    due_date: date
    overdue: bool
    implemented_on: date | None
    closed_at: datetime | None
    topics: list[str]
    products: list[str]
    channels: list[str]
    segment: str
    origin: str
    baseline: dict[str, Any]
    verdict: str | None
    created_at: datetime
    updated_at: datetime


class ActionDetailOut(ActionOut):
    effect: dict[str, Any] | None = Field(None, description="The latest measurement: verdict, numbers, series.")
    tasks: list[dict[str, Any]]


class ActionPageOut(Schema):
    items: list[ActionOut]
    next_cursor: str | None


class ActionFilters(Schema):
    tab: Literal["mine", "department", "all"] = "all"
    status: StatusValue | None = None
    department: int | None = None
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


class ActionIn(Schema):
    title: str = Field(..., min_length=1, max_length=200)
    department: int
    owner: str = Field(..., description="User id or user name.")
    due_date: date
    type: TypeValue = ActionType.CORRECTIVE
    description: str = ""
    plan: str = ""
    topics: list[str] = []
    products: list[str] = []
    channels: list[str] = []
    segment: str = Field("", max_length=40)
    origin: OriginValue = ActionOrigin.MANUAL
    origin_ref: str = Field("", max_length=100)


class StatusIn(Schema):
    transition: Transition
    plan: str | None = None
    implemented_on: date | None = None
    reason: str = ""


def _acting_user(request: HttpRequest) -> User:
    return acting_user(request, _("This token acts for no active user, so it cannot work on improvement actions."))


def _row(action: ImprovementAction, today: date) -> dict[str, Any]:
    return {
        "id": action.pk, "title": action.title, "description": action.description, "plan": action.plan,
        "type": action.action_type, "status": action.status, "department_id": action.department_id,
        "department": action.department.name, "owner": action.owner.get_username(),
        "collaborators": [u.get_username() for u in action.collaborators.all()], "due_date": action.due_date,
        "overdue": action.is_overdue(today), "implemented_on": action.implemented_on, "closed_at": action.closed_at,
        "topics": action.topics, "products": action.products, "channels": action.channels, "segment": action.segment,
        "origin": action.origin, "baseline": action.baseline, "verdict": action.latest_verdict or None,
        "created_at": action.created_at, "updated_at": action.updated_at,
    }  # fmt: skip


def _detail(action: ImprovementAction) -> dict[str, Any]:
    row = _row(action, timezone.localdate())
    measurement = services.latest_report(action)
    row["effect"] = measurement.report | {"horizon_days": measurement.horizon_days} if measurement else None
    row["tasks"] = [{"id": t.pk, "title": t.title, "done": t.done} for t in action.tasks.all()]
    return row


def _get(action_id: int) -> ImprovementAction:
    action = ImprovementAction.objects.select_related("department", "owner").filter(pk=action_id).first()
    if action is None:
        raise HttpError(404, _("There is no improvement action %(id)s.") % {"id": action_id})
    return action


def _problem(exc: ActionError) -> Status:
    status = (
        409 if exc.code == ActionErrorCode.WRONG_STATUS else 403 if exc.code == ActionErrorCode.NOT_ALLOWED else 400
    )
    return Status(status, {"detail": exc.message, "code": str(exc.code), "field": None})


@router.get(
    "/actions",
    auth=TokenAuth(Scope.ACTIONS_READ),
    response={200: ActionPageOut, 400: ErrorOut, 403: ErrorOut},
    summary="List improvement actions, most recently changed first",
)
def list_actions(request: HttpRequest, filters: Query[ActionFilters]):
    user = _acting_user(request)
    today = timezone.localdate()
    qs = queries.actions_for(user, filters.tab, today, status=filters.status or "all").prefetch_related("collaborators")
    if filters.department is not None:
        qs = qs.filter(department_id=filters.department)
    rows, next_cursor = keyset_page(qs, filters.cursor, filters.limit, "updated_at")
    return {"items": [_row(a, today) for a in rows], "next_cursor": next_cursor}


@router.get(
    "/actions/{action_id}",
    auth=TokenAuth(Scope.ACTIONS_READ),
    response={200: ActionDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="Read one improvement action with its latest measured effect",
)
def get_action(request: HttpRequest, action_id: int):
    _acting_user(request)
    return _detail(_get(action_id))


@router.post(
    "/actions",
    auth=TokenAuth(Scope.ACTIONS_WRITE),
    response={201: ActionDetailOut, 400: ErrorOut, 403: ErrorOut},
    summary="Propose an improvement action; its baseline is frozen now",
)
def create_action(request: HttpRequest, payload: ActionIn):
    user = _acting_user(request)
    require(user, Capability.PROPOSE_ACTIONS)
    department = Department.objects.filter(pk=payload.department).first()
    if department is None:
        return Status(400, {"detail": _("There is no department %(id)s.") % {"id": payload.department},
                            "code": "unknown_department", "field": "department"})  # fmt: skip
    ref = payload.owner.strip()
    owner = User.objects.filter(pk=int(ref)).first() if ref.isdigit() else User.objects.filter(username=ref).first()
    if owner is None:
        return Status(400, {"detail": _("There is no user %(user)s.") % {"user": ref[:50]}, "code": "unknown_user",
                            "field": "owner"})  # fmt: skip
    try:
        action = services.create_action(
            user, title=payload.title, department=department, owner=owner, due_date=payload.due_date,
            action_type=payload.type, description=payload.description, plan=payload.plan, topics=payload.topics,
            products=payload.products, channels=payload.channels, segment=payload.segment, origin=payload.origin,
            origin_ref=payload.origin_ref,
        )  # fmt: skip
    except ActionError as exc:
        return _problem(exc)
    return Status(201, _detail(action))


@router.post(
    "/actions/{action_id}/status",
    auth=TokenAuth(Scope.ACTIONS_WRITE),
    response={200: ActionDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Move an improvement action to its next status",
)
def change_status(request: HttpRequest, action_id: int, payload: StatusIn):
    user = _acting_user(request)
    action = _get(action_id)
    try:
        if payload.transition == "approve":
            services.approve_action(user, action)
        elif payload.transition == "start":
            services.start_action(user, action, payload.plan)
        elif payload.transition == "implement":
            services.implement_action(user, action, payload.implemented_on)
        elif payload.transition == "verify":
            services.verify_action(user, action)
        elif payload.transition == "cancel":
            services.cancel_action(user, action, payload.reason)
        else:
            services.close_action(user, action, effective=payload.transition == "close_effective")
    except ActionError as exc:
        return _problem(exc)
    return _detail(action)
