"""Request and response shapes of the cases API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import BaseModel, ConfigDict, Field

StatusValue = Literal["new", "open", "pending_customer", "resolved", "closed", "reopened"]
SeverityValue = Literal["normal", "important", "urgent"]


class CaseCustomerOut(Schema):
    id: int
    external_id: str
    name: str | None = Field(None, description="Only in a single case; masked for roles that may not see it.")
    email: str | None = None
    phone: str | None = None


class CaseOut(Schema):
    id: int
    number: str
    title: str
    status: str
    severity: str
    team_id: int | None
    team: str | None = Field(None, description="Team name.")
    assignee: str | None = Field(None, description="User name of the assigned agent.")
    customer: CaseCustomerOut | None
    feedback_ids: list[int]
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    first_responded_at: datetime | None
    first_response_breached: bool
    resolution_breached: bool
    escalation_level: int
    waiting_on_customer_since: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    withdrawn_at: datetime | None = Field(
        None,
        description="Set when the case was withdrawn: a rule opened it on a negative label that the refine lane "
        "corrected before anyone worked on it (closed_at is the same moment).",
    )
    root_cause: str
    resolution: str
    reopen_count: int
    repeat_of_id: int | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class CaseEventOut(Schema):
    id: int
    kind: str
    created_at: datetime
    actor: str | None = Field(None, description="User name; null for the system (SLA sweep, automation).")
    payload: dict[str, Any]


class CaseDetailOut(CaseOut):
    events: list[CaseEventOut] = Field(..., description="The whole timeline, oldest first.")


class CasePageOut(Schema):
    items: list[CaseOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last.")


# Inputs are strict pydantic models: an unknown field is an error (a misspelt "severty" must not pass silently).


class CaseCreateIn(BaseModel):
    """Either `feedback_ids` (stored feedback the case answers), or `title` and `customer` (a feedback item is
    recorded for the customer with `description` as its text, then the case opens for it)."""

    model_config = ConfigDict(extra="forbid")
    feedback_ids: list[int] | None = Field(None, max_length=100)
    title: str | None = Field(None, max_length=300)
    customer: str | None = Field(
        None, max_length=100, description="The customer's id in your system, or VoxLoop's as `#123`."
    )
    description: str | None = Field(None, max_length=20_000, description="What the customer needs; default: title.")
    severity: SeverityValue = "normal"
    team: int | None = Field(None, description="Team id; default: no team (the shared queue).")


class CaseUpdateIn(BaseModel):
    """Changes, applied together or not at all. `status: resolved` needs `root_cause` and `resolution`."""

    model_config = ConfigDict(extra="forbid")
    status: StatusValue | None = None
    severity: SeverityValue | None = None
    team: int | None = Field(None, description="Team id: move the case (managers). An assignee outside it lets go.")
    assignee: str | int | None = Field(
        None,
        description="User id or user name. Agents may take an unassigned case; managers assign anyone in the team.",
    )
    root_cause: str | None = Field(None, max_length=100, description="A topic code from the taxonomy.")
    resolution: str | None = Field(None, max_length=20_000)
    reason: str | None = Field(None, max_length=2000, description="Why, when reopening.")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(..., max_length=20_000)
    public: bool = Field(
        False, description="true: a reply emailed to the customer; false (default): an internal note for staff."
    )
