"""Case operations: the only code that changes a case. Each function owns its transaction, writes the
CaseEvent rows for what it did in that same transaction, and schedules side effects with on_commit."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Team, User
from voxloop.accounts.permissions import Capability, require
from voxloop.cases import followup, repeat
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.calendar import CalendarError
from voxloop.cases.models import (
    ACTIVE_STATUSES,
    BusinessCalendar,
    Case,
    CaseEvent,
    CaseFeedback,
    CaseStatus,
    Clock,
    EscalationLevel,
    EventKind,
    Severity,
    SLAPolicy,
)
from voxloop.cases.queries import visible_cases, visible_team_ids
from voxloop.feedback.models import Feedback

logger = logging.getLogger(__name__)


class CaseErrorCode(StrEnum):
    NO_FEEDBACK = "no_feedback"
    FEEDBACK_NOT_FOUND = "feedback_not_found"
    FEEDBACK_IN_OPEN_CASE = "feedback_in_open_case"
    BAD_SEVERITY = "bad_severity"
    NO_SLA_POLICY = "no_sla_policy"
    ALREADY_TAKEN = "already_taken"
    NOT_ACTIVE = "not_active"
    BAD_TRANSITION = "bad_transition"
    ROOT_CAUSE_REQUIRED = "root_cause_required"
    RESOLUTION_REQUIRED = "resolution_required"
    MERGED = "merged"
    EMPTY_REPLY = "empty_reply"
    NOT_IN_TEAM = "not_in_team"
    MAX_ESCALATION = "max_escalation"
    MERGE_INVALID = "merge_invalid"
    UNKNOWN_TEAM = "unknown_team"


class CaseError(Exception):
    def __init__(self, code: CaseErrorCode, message: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)


# --- calendars and clocks -------------------------------------------------------------------------


class CalendarCache:
    """Builds each pure calendar once per operation/sweep (holiday rows are read once)."""

    def __init__(self) -> None:
        self._by_id: dict[int, PureCalendar] = {}
        self._levels: list[EscalationLevel] | None = None

    def get(self, calendar_id: int) -> PureCalendar:
        if calendar_id not in self._by_id:
            self._by_id[calendar_id] = BusinessCalendar.objects.get(pk=calendar_id).to_calendar()
        return self._by_id[calendar_id]

    def for_case(self, case: Case) -> PureCalendar:
        policy = case.sla_policy
        assert policy is not None
        return self.get(policy.calendar_id)

    @property
    def levels(self) -> list[EscalationLevel]:
        if self._levels is None:
            self._levels = list(EscalationLevel.objects.order_by("level"))
        return self._levels

    def level(self, number: int) -> EscalationLevel | None:
        return next((lv for lv in self.levels if lv.level == number), None)


def select_policy(severity: str, team: Team | None, segment: str) -> SLAPolicy | None:
    """The most specific active policy: team + segment, then team, then segment, then the general one."""
    candidates = SLAPolicy.objects.filter(is_active=True, severity=severity).filter(
        Q(team__isnull=True) | Q(team=team) if team else Q(team__isnull=True),
        Q(customer_segment="") | Q(customer_segment=segment) if segment else Q(customer_segment=""),
    )
    ranked = sorted(candidates, key=lambda p: (p.team_id is None, p.customer_segment == "", p.pk))
    return ranked[0] if ranked else None


def _start_clock(case: Case, clock: str, cal: PureCalendar, start: datetime) -> None:
    policy = case.sla_policy
    assert policy is not None
    target = policy.first_response_target if clock == Clock.FIRST_RESPONSE else policy.resolution_target
    due = cal.add_business_time(start, target)
    warn = cal.add_business_time(start, target * policy.warn_share)
    setattr(case, f"{clock}_due_at", due)
    setattr(case, f"{clock}_warn_at", warn)
    setattr(case, f"{clock}_warned", False)
    setattr(case, f"{clock}_breached", False)


def _clock_running(case: Case, clock: str) -> bool:
    if clock == Clock.FIRST_RESPONSE and case.first_responded_at is not None:
        return False
    return case.status in ACTIVE_STATUSES and case.paused_since is None


def schedule_next_check(case: Case) -> None:
    """Recompute ``sla_next_check_at``: the earliest pending warning, breach or escalation step."""
    moments: list[datetime] = []
    for clock in (Clock.FIRST_RESPONSE, Clock.RESOLUTION):
        if not _clock_running(case, clock):
            continue
        if not getattr(case, f"{clock}_warned") and getattr(case, f"{clock}_warn_at"):
            moments.append(getattr(case, f"{clock}_warn_at"))
        if not getattr(case, f"{clock}_breached") and getattr(case, f"{clock}_due_at"):
            moments.append(getattr(case, f"{clock}_due_at"))
    if case.next_escalation_at and case.status in ACTIVE_STATUSES and case.paused_since is None:
        moments.append(case.next_escalation_at)
    case.sla_next_check_at = min(moments) if moments else None


def _escalation_target(case: Case, level: EscalationLevel) -> int | None:
    team = case.team
    if level.target == EscalationLevel.Target.TEAM_LEAD:
        return team.lead_id if team else None
    if level.target == EscalationLevel.Target.DEPARTMENT_MANAGER:
        return team.department.manager_id if team and team.department else None
    return level.user_id


def _breach_anchor(case: Case) -> datetime | None:
    """When the case first breached: escalation steps count business time from there."""
    times = [
        getattr(case, f"{c}_due_at") for c in (Clock.FIRST_RESPONSE, Clock.RESOLUTION) if getattr(case, f"{c}_breached")
    ]
    return min(times) if times else None


def _escalate_in_memory(case: Case, cache: CalendarCache, now: datetime, reason: str, actor_id: int | None) -> dict:
    """Move the case one level up and schedule the next automatic step. Returns the event payload."""
    level = cache.level(case.escalation_level + 1)
    assert level is not None
    case.escalation_level = level.level
    following = cache.level(level.level + 1)
    anchor = _breach_anchor(case)
    if following and anchor and case.sla_policy:
        cal = cache.for_case(case)
        # May already be past: advance_clocks then climbs again, once per level (a sweep that was down catches up).
        case.next_escalation_at = cal.add_business_time(anchor, timedelta(minutes=following.after_breach_minutes))
    else:
        case.next_escalation_at = None
    return {
        "level": level.level,
        "target": level.target,
        "to_user_id": _escalation_target(case, level),
        "reason": reason,
        "by_user_id": actor_id,
    }


def advance_clocks(case: Case, now: datetime, cache: CalendarCache) -> list[tuple[str, dict]]:
    """Flip every warning/breach/escalation that is due at ``now`` on this in-memory case; return the events.
    Pure apart from reading configuration: the caller persists with a conditional update."""
    events: list[tuple[str, dict]] = []
    breached_now = False
    for clock in (Clock.FIRST_RESPONSE, Clock.RESOLUTION):
        if not _clock_running(case, clock):
            continue
        due, warn = getattr(case, f"{clock}_due_at"), getattr(case, f"{clock}_warn_at")
        if not getattr(case, f"{clock}_warned") and warn and warn <= now:
            setattr(case, f"{clock}_warned", True)
            events.append((EventKind.SLA_WARNING, {"clock": str(clock), "due_at": due.isoformat() if due else None}))
        if not getattr(case, f"{clock}_breached") and due and due <= now:
            setattr(case, f"{clock}_breached", True)
            breached_now = True
            events.append((EventKind.SLA_BREACH, {"clock": str(clock), "due_at": due.isoformat()}))
    if breached_now and case.next_escalation_at is None and case.sla_policy:
        # The first breach starts the chain at the next level (level 1, or the one after a manual escalation),
        # each level N due after_breach_minutes business minutes after the breach.
        following = cache.level(case.escalation_level + 1)
        anchor = _breach_anchor(case)
        if following and anchor:
            after = timedelta(minutes=following.after_breach_minutes)
            case.next_escalation_at = cache.for_case(case).add_business_time(anchor, after)
    # Climb every step that is due (a sweep that was down for hours still climbs each level exactly once).
    while case.next_escalation_at and case.next_escalation_at <= now and cache.level(case.escalation_level + 1):
        events.append((EventKind.ESCALATED, _escalate_in_memory(case, cache, now, "sla_breach", None)))
    if case.next_escalation_at and not cache.level(case.escalation_level + 1):
        case.next_escalation_at = None
    schedule_next_check(case)
    return events


# --- helpers ----------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def _record(case: Case, kind: str, actor: User | None, now: datetime, **payload: Any) -> CaseEvent:
    event = CaseEvent.objects.create(case=case, kind=kind, actor=actor, payload=_jsonable(payload), created_at=now)
    transaction.on_commit(_kick_outbox)
    return event


def _jsonable(payload: dict) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in payload.items()}


def _kick_outbox() -> None:
    from voxloop.cases.tasks import process_case_events_task

    process_case_events_task.delay()


def _lock(case: Case | int) -> Case:
    pk = case.pk if isinstance(case, Case) else case
    return Case.objects.select_for_update().get(pk=pk)


def _require_active(case: Case) -> None:
    if case.merged_into_id:
        raise CaseError(
            CaseErrorCode.MERGED,
            _("Case %(case)s was merged into case %(into)s; work on that case.")
            % {"case": case.pk, "into": case.merged_into_id},
        )
    if case.status not in ACTIVE_STATUSES:
        raise CaseError(
            CaseErrorCode.NOT_ACTIVE,
            _("Case %(case)s is %(status)s; reopen it first.") % {"case": case.pk, "status": case.get_status_display()},
        )


# --- operations -------------------------------------------------------------------------------------


def open_case(
    feedback_ids: Sequence[int],
    severity: str = Severity.NORMAL,
    team: Team | None = None,
    actor: User | None = None,
    *,
    title: str = "",
    now: datetime | None = None,
    calendars: CalendarCache | None = None,
) -> Case:
    """Open a case for one or more feedback items; its SLA clocks start now. Callers opening many cases
    (the rules) pass one ``calendars`` cache so each business calendar is built once."""
    if actor is not None:
        require(actor, Capability.WORK_ON_CASES)
    now = _now(now)
    ids = list(dict.fromkeys(int(i) for i in feedback_ids))
    if not ids:
        raise CaseError(CaseErrorCode.NO_FEEDBACK, _("A case needs at least one feedback item."))
    if severity not in Severity.values:
        raise CaseError(
            CaseErrorCode.BAD_SEVERITY,
            _("Unknown severity %(value)r; use one of %(allowed)s.")
            % {"value": severity, "allowed": ", ".join(Severity.values)},
        )
    with transaction.atomic():
        items = list(Feedback.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        missing = sorted(set(ids) - {f.pk for f in items})
        if missing:
            raise CaseError(
                CaseErrorCode.FEEDBACK_NOT_FOUND,
                _("Feedback %(ids)s does not exist.") % {"ids": ", ".join(map(str, missing))},
            )
        taken = (
            CaseFeedback.objects.filter(feedback_id__in=ids, case__status__in=ACTIVE_STATUSES)
            .values_list("feedback_id", "case_id")
            .first()
        )
        if taken:
            if actor is not None and not visible_cases(actor).filter(pk=taken[1]).exists():
                # Naming a case the actor gets 404 for would reveal that it exists.
                raise CaseError(
                    CaseErrorCode.FEEDBACK_IN_OPEN_CASE,
                    _("Feedback %(feedback)s already belongs to an open case.") % {"feedback": taken[0]},
                )
            raise CaseError(
                CaseErrorCode.FEEDBACK_IN_OPEN_CASE,
                _("Feedback %(feedback)s already belongs to open case %(case)s.")
                % {"feedback": taken[0], "case": taken[1]},
            )
        by_id = {f.pk: f for f in items}
        customer = next((by_id[i].customer for i in ids if by_id[i].customer_id), None)
        policy = select_policy(severity, team, customer.segment if customer else "")
        if policy is None:
            raise CaseError(
                CaseErrorCode.NO_SLA_POLICY,
                _("No active SLA policy for severity %(severity)s; add one in the admin.") % {"severity": severity},
            )
        first = by_id[ids[0]]
        case = Case(
            title=title or (first.title or first.text)[:300],
            customer=customer,
            severity=severity,
            team=team,
            sla_policy=policy,
            created_by=actor,
        )
        cache = calendars or CalendarCache()
        cal = cache.get(policy.calendar_id)
        _start_clock(case, Clock.FIRST_RESPONSE, cal, now)
        _start_clock(case, Clock.RESOLUTION, cal, now)
        schedule_next_check(case)
        case.save()
        case.number = f"C{case.pk:07d}"
        # Opened "as of" now: the clocks start then, and so must the case (imports and replays pass past times).
        case.created_at = now
        Case.objects.filter(pk=case.pk).update(number=case.number, created_at=now)
        CaseFeedback.objects.bulk_create([CaseFeedback(case=case, feedback_id=i) for i in ids])
        _record(
            case,
            EventKind.CREATED,
            actor,
            now,
            feedback_ids=ids,
            severity=severity,
            team_id=team.pk if team else None,
            policy_id=policy.pk,
            first_response_due_at=case.first_response_due_at,
            resolution_due_at=case.resolution_due_at,
        )
        repeat.flag_repeat(case, now)  # same customer, same topic, within REPEAT_WINDOW_DAYS: linked and counted
    return case


def assign_case(case: Case | int, assignee: User, actor: User | None = None, *, now: datetime | None = None) -> Case:
    if actor is not None:
        require(actor, Capability.MANAGE_CASES)
    now = _now(now)
    with transaction.atomic():
        case = _lock(case)
        _require_active(case)
        if case.team_id and not assignee.teams.filter(pk=case.team_id).exists():
            raise CaseError(
                CaseErrorCode.NOT_IN_TEAM,
                _("%(user)s is not a member of the case's team.") % {"user": assignee.get_username()},
            )
        previous = case.assignee_id
        case.assignee = assignee
        if case.status == CaseStatus.NEW:
            case.status = CaseStatus.OPEN
        case.save(update_fields=["assignee", "status", "updated_at"])
        _record(case, EventKind.ASSIGNED, actor, now, from_user_id=previous, to_user_id=assignee.pk)
    return case


def change_team(case: Case | int, team: Team, actor: User | None = None, *, now: datetime | None = None) -> Case:
    """Move a case to another team (a manager's decision). An assignee who is not in the new team lets go,
    so the case waits in that team's queue. Due times stay as promised to the customer."""
    if actor is not None:
        require(actor, Capability.MANAGE_CASES)
        allowed = visible_team_ids(actor)  # a manager moves cases among the teams of their department
        if allowed is not None and team.pk not in allowed:
            message = _("There is no team %(id)s you can work in.") % {"id": team.pk}
            raise CaseError(CaseErrorCode.UNKNOWN_TEAM, message)
    now = _now(now)
    with transaction.atomic():
        case = _lock(case)
        _require_active(case)
        if case.team_id == team.pk:
            return case
        previous_team, previous_user = case.team_id, case.assignee_id
        case.team = team
        if case.assignee_id and not team.members.filter(pk=case.assignee_id).exists():
            case.assignee = None
        case.save(update_fields=["team", "assignee", "updated_at"])
        _record(
            case,
            EventKind.ASSIGNED,
            actor,
            now,
            from_team_id=previous_team,
            to_team_id=team.pk,
            from_user_id=previous_user,
            to_user_id=case.assignee_id,
        )
    return case


def take_case(case: Case | int, agent: User, *, now: datetime | None = None) -> Case:
    """An agent takes an unassigned case. Two agents at once: the conditional update lets exactly one win."""
    require(agent, Capability.WORK_ON_CASES)
    now = _now(now)
    pk = case.pk if isinstance(case, Case) else case
    team_id = Case.objects.filter(pk=pk).values_list("team_id", flat=True).first()
    if team_id and not agent.teams.filter(pk=team_id).exists():
        message = _("%(user)s is not a member of the case's team.") % {"user": agent.get_username()}
        raise CaseError(CaseErrorCode.NOT_IN_TEAM, message)
    with transaction.atomic():
        won = Case.objects.filter(pk=pk, assignee__isnull=True, status__in=ACTIVE_STATUSES).update(
            assignee=agent, updated_at=now
        )
        if not won:
            current_case = Case.objects.select_related("assignee").get(pk=pk)
            if current_case.assignee is None:
                _require_active(current_case)  # raises: merged, resolved or closed
            current = current_case.assignee.get_username() if current_case.assignee else None
            raise CaseError(
                CaseErrorCode.ALREADY_TAKEN,
                _("Case %(case)s was already taken by %(user)s.") % {"case": pk, "user": current or "-"},
            )
        Case.objects.filter(pk=pk, status=CaseStatus.NEW).update(status=CaseStatus.OPEN)
        taken = Case.objects.get(pk=pk)
        _record(taken, EventKind.ASSIGNED, agent, now, from_user_id=None, to_user_id=agent.pk, taken=True)
    return taken


def add_reply(
    case: Case | int, author: User | None, text: str, *, public: bool = True, now: datetime | None = None
) -> CaseEvent:
    """A public reply (to the customer) or an internal note. The first public reply stops the first-response
    clock and is stored as first_responded_at."""
    now = _now(now)
    text = (text or "").strip()
    if not text:
        raise CaseError(CaseErrorCode.EMPTY_REPLY, _("A reply needs some text."))
    with transaction.atomic():
        case = _lock(case)  # waits for a merge in progress, then sees its result
        if public:
            _require_active(case)
        elif case.merged_into_id:
            _require_active(case)
        fields = ["updated_at"]
        if public and case.first_responded_at is None:
            case.first_responded_at = now
            fields.append("first_responded_at")
        if case.status == CaseStatus.NEW and public:
            case.status = CaseStatus.OPEN
            fields.append("status")
        schedule_next_check(case)
        case.save(update_fields=[*fields, "sla_next_check_at"])
        return _record(case, EventKind.PUBLIC_REPLY if public else EventKind.INTERNAL_NOTE, author, now, text=text)


ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER},
    CaseStatus.OPEN: {CaseStatus.PENDING_CUSTOMER},
    CaseStatus.REOPENED: {CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER},
    CaseStatus.PENDING_CUSTOMER: {CaseStatus.OPEN},
    CaseStatus.RESOLVED: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}


def _resume_clocks(case: Case, cache: CalendarCache, now: datetime) -> timedelta:
    """Leaving pending_customer: every running due time moves later by the business time spent waiting."""
    assert case.paused_since is not None
    cal = cache.for_case(case)
    since = case.paused_since
    paused = cal.business_time_between(since, now)

    def shift(moment: datetime | None) -> datetime | None:
        if moment is None or moment <= since:
            return moment
        return cal.add_business_time(now, cal.business_time_between(since, moment))

    for clock in (Clock.FIRST_RESPONSE, Clock.RESOLUTION):
        if clock == Clock.FIRST_RESPONSE and case.first_responded_at is not None:
            continue
        setattr(case, f"{clock}_due_at", shift(getattr(case, f"{clock}_due_at")))
        setattr(case, f"{clock}_warn_at", shift(getattr(case, f"{clock}_warn_at")))
    case.next_escalation_at = shift(case.next_escalation_at)
    case.paused_business_seconds += int(paused.total_seconds())
    case.paused_since = None
    return paused


def set_status(case: Case | int, status: str, actor: User | None = None, *, now: datetime | None = None) -> Case:
    """Move between new/open/pending_customer/closed. Waiting on the customer pauses the SLA clocks."""
    now = _now(now)
    with transaction.atomic():
        case = _lock(case)
        if case.merged_into_id:
            _require_active(case)
        old = case.status
        if status not in ALLOWED_TRANSITIONS.get(old, set()):
            raise CaseError(
                CaseErrorCode.BAD_TRANSITION,
                _("A case cannot go from %(old)s to %(new)s here (resolve and reopen have their own actions).")
                % {"old": old, "new": status},
            )
        payload: dict[str, Any] = {"from": old, "to": status}
        if status == CaseStatus.PENDING_CUSTOMER:
            case.paused_since = now
        elif old == CaseStatus.PENDING_CUSTOMER:
            paused = _resume_clocks(case, CalendarCache(), now)
            payload["paused_business_seconds"] = int(paused.total_seconds())
        if status == CaseStatus.CLOSED:
            case.closed_at = now
            case.auto_close_at = None
            # The customer's tracking link keeps working a while after the close, then answers "not found".
            case.tracking_expires_at = now + timedelta(days=followup.config().tracking_link_days)
        case.status = status
        schedule_next_check(case)
        case.save()
        _record(case, EventKind.STATUS_CHANGED, actor, now, **payload)
    return case


def resolve_case(
    case: Case | int, actor: User | None, *, root_cause: str, resolution: str, now: datetime | None = None
) -> Case:
    now = _now(now)
    root_cause, resolution = (root_cause or "").strip(), (resolution or "").strip()
    if not root_cause:
        raise CaseError(CaseErrorCode.ROOT_CAUSE_REQUIRED, _("Choose a root cause before resolving the case."))
    if not resolution:
        raise CaseError(CaseErrorCode.RESOLUTION_REQUIRED, _("Describe the resolution before resolving the case."))
    with transaction.atomic():
        case = _lock(case)
        _require_active(case)
        if case.paused_since is not None:
            _resume_clocks(case, CalendarCache(), now)
        old = case.status
        case.status = CaseStatus.RESOLVED
        case.resolved_at = now
        case.root_cause = root_cause
        case.resolution = resolution
        case.next_escalation_at = None
        schedule_next_check(case)
        case.save()
        _record(
            case,
            EventKind.RESOLVED,
            actor,
            now,
            previous_status=old,
            root_cause=root_cause,
            resolution=resolution,
            resolution_breached=case.resolution_breached,
        )
        followup.on_resolved(case, now)  # the follow-up (or why it is skipped) and the automatic close
    return case


def reopen_case(case: Case | int, actor: User | None, *, reason: str = "", now: datetime | None = None) -> Case:
    """Reopen a resolved or closed case: a fresh resolution clock starts now; the old breaches stay in the timeline."""
    now = _now(now)
    with transaction.atomic():
        case = _lock(case)
        if case.merged_into_id or case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            raise CaseError(
                CaseErrorCode.BAD_TRANSITION,
                _("Only a resolved or closed case can be reopened (case %(case)s is %(status)s).")
                % {"case": case.pk, "status": case.get_status_display()},
            )
        cache = CalendarCache()
        old = case.status
        case.status = CaseStatus.REOPENED
        case.reopen_count += 1
        case.resolved_at = None
        case.closed_at = None
        case.escalation_level = 0
        case.next_escalation_at = None
        case.auto_close_at = None
        case.tracking_expires_at = None
        _start_clock(case, Clock.RESOLUTION, cache.for_case(case), now)
        schedule_next_check(case)
        case.save()
        _record(
            case,
            EventKind.REOPENED,
            actor,
            now,
            previous_status=old,
            reason=reason,
            resolution_due_at=case.resolution_due_at,
        )
        followup.on_reopened(case, now)  # follow-ups of the old resolution no longer apply
    return case


def change_severity(case: Case | int, severity: str, actor: User | None = None, *, now: datetime | None = None) -> Case:
    """Re-rate a case: the new severity's policy applies from when the case was opened (time spent waiting on
    the customer still does not count). Breaches already recorded stay recorded."""
    now = _now(now)
    if severity not in Severity.values:
        raise CaseError(
            CaseErrorCode.BAD_SEVERITY,
            _("Unknown severity %(value)r; use one of %(allowed)s.")
            % {"value": severity, "allowed": ", ".join(Severity.values)},
        )
    with transaction.atomic():
        case = _lock(case)
        _require_active(case)
        old = case.severity
        if old == severity:
            return case
        segment = case.customer.segment if case.customer_id and case.customer else ""
        policy = select_policy(severity, case.team, segment)
        if policy is None:
            raise CaseError(
                CaseErrorCode.NO_SLA_POLICY,
                _("No active SLA policy for severity %(severity)s; add one in the admin.") % {"severity": severity},
            )
        old_policy = case.sla_policy
        assert old_policy is not None
        cache = CalendarCache()
        old_cal, cal = cache.get(old_policy.calendar_id), cache.get(policy.calendar_id)
        # Where the clocks stand: now, or where they stopped if the case waits on the customer.
        reference = case.paused_since or now
        for clock, old_target, new_target in (
            (Clock.FIRST_RESPONSE, old_policy.first_response_target, policy.first_response_target),
            (Clock.RESOLUTION, old_policy.resolution_target, policy.resolution_target),
        ):
            if clock == Clock.FIRST_RESPONSE and case.first_responded_at is not None:
                continue
            old_due = getattr(case, f"{clock}_due_at")
            if getattr(case, f"{clock}_breached") or old_due is None:
                continue  # a breach already happened and stays recorded
            used = old_target - old_cal.business_time_between(reference, old_due)
            due = cal.add_business_time(reference, max(new_target - used, timedelta(0)))
            warn = cal.add_business_time(reference, max(new_target * policy.warn_share - used, timedelta(0)))
            setattr(case, f"{clock}_due_at", due)
            setattr(case, f"{clock}_warn_at", warn)
            setattr(case, f"{clock}_warned", getattr(case, f"{clock}_warned") and warn <= reference)
        case.severity = severity
        case.sla_policy = policy
        schedule_next_check(case)
        case.save()
        _record(
            case,
            EventKind.SEVERITY_CHANGED,
            actor,
            now,
            **{"from": old, "to": severity},
            policy_id=policy.pk,
            first_response_due_at=case.first_response_due_at,
            resolution_due_at=case.resolution_due_at,
        )
    return case


def escalate_case(case: Case | int, actor: User | None, *, reason: str = "", now: datetime | None = None) -> Case:
    """On-demand escalation ("beyond my authority"): the next configured level."""
    now = _now(now)
    with transaction.atomic():
        case = _lock(case)
        _require_active(case)
        cache = CalendarCache()
        if cache.level(case.escalation_level + 1) is None:
            raise CaseError(
                CaseErrorCode.MAX_ESCALATION,
                _("Case %(case)s is already at the highest escalation level (%(level)s).")
                % {"case": case.pk, "level": case.escalation_level},
            )
        payload = _escalate_in_memory(case, cache, now, "on_demand", actor.pk if actor else None)
        payload["note"] = reason
        schedule_next_check(case)
        case.save()
        _record(case, EventKind.ESCALATED, actor, now, **payload)
    return case


def merge_cases(
    target: Case | int, sources: Iterable[Case | int], actor: User | None = None, *, now: datetime | None = None
) -> Case:
    """Fold duplicate cases into ``target``: their feedback moves over, they close as merged."""
    now = _now(now)
    source_ids = sorted({s.pk if isinstance(s, Case) else int(s) for s in sources})
    target_id = target.pk if isinstance(target, Case) else int(target)
    if not source_ids or target_id in source_ids:
        raise CaseError(CaseErrorCode.MERGE_INVALID, _("Choose other cases to merge into this one."))
    with transaction.atomic():
        # Lock in id order so two merges (or a merge and a reply) never deadlock.
        locked = {
            c.pk: c for c in Case.objects.select_for_update().filter(pk__in=[target_id, *source_ids]).order_by("pk")
        }
        missing = [i for i in [target_id, *source_ids] if i not in locked]
        if missing:
            raise CaseError(
                CaseErrorCode.MERGE_INVALID, _("Case %(ids)s does not exist.") % {"ids": ", ".join(map(str, missing))}
            )
        target_case = locked[target_id]
        _require_active(target_case)
        for sid in source_ids:
            source = locked[sid]
            _require_active(source)
            if source.customer_id and target_case.customer_id and source.customer_id != target_case.customer_id:
                raise CaseError(
                    CaseErrorCode.MERGE_INVALID,
                    _("Case %(case)s belongs to another customer and cannot be merged.") % {"case": sid},
                )
        already = set(CaseFeedback.objects.filter(case=target_case).values_list("feedback_id", flat=True))
        moved: list[int] = []
        for link in CaseFeedback.objects.filter(case_id__in=source_ids).order_by("pk"):
            if link.feedback_id not in already:
                CaseFeedback.objects.create(case=target_case, feedback_id=link.feedback_id)
                already.add(link.feedback_id)
                moved.append(link.feedback_id)
        for sid in source_ids:
            source = locked[sid]
            source.status = CaseStatus.CLOSED
            source.closed_at = now
            source.merged_into = target_case
            source.paused_since = None
            source.next_escalation_at = None
            schedule_next_check(source)
            source.save()
            _record(source, EventKind.MERGED, actor, now, into_case_id=target_id)
        _record(target_case, EventKind.MERGED, actor, now, from_case_ids=source_ids, feedback_ids=moved)
        target_case.save(update_fields=["updated_at"])
    return target_case


# --- the SLA sweep ----------------------------------------------------------------------------------

# What the sweep read; a row whose values changed since (another sweep, an agent) is left alone.
_GUARD_FIELDS = (
    "status",
    "paused_since",
    "first_responded_at",
    "sla_next_check_at",
    "escalation_level",
    "first_response_warned",
    "first_response_breached",
    "resolution_warned",
    "resolution_breached",
    "first_response_due_at",
    "resolution_due_at",
)
_SWEEP_WRITES = (
    "first_response_warned",
    "first_response_breached",
    "resolution_warned",
    "resolution_breached",
    "escalation_level",
    "next_escalation_at",
    "sla_next_check_at",
)


@dataclass
class SweepResult:
    examined: int = 0
    flipped: int = 0
    skipped: int = 0  # changed by someone else between read and write
    errors: int = 0  # cases whose calendar cannot be used (logged)
    events: dict[str, int] = field(default_factory=dict)


def sweep_sla(now: datetime | None = None, *, batch_size: int = 500, max_batches: int | None = None) -> SweepResult:
    """Flip warnings, breaches and escalations that are due. Safe to run concurrently and to kill: each batch
    commits its conditional updates together with their events, so a case is never flipped twice and a
    killed batch leaves its rows due for the next run."""
    now = _now(now)
    result = SweepResult()
    cache = CalendarCache()
    passed_over: list[int] = []  # rows another writer changed first; each is looked at once per run
    batches = 0
    while max_batches is None or batches < max_batches:
        # Earliest due first, straight off the partial index. Flipped rows leave the range (their next check
        # is later than now, or none), so the loop always makes progress.
        due = Case.objects.filter(sla_next_check_at__lte=now)
        if passed_over:
            due = due.exclude(pk__in=passed_over)
        ids = sorted(due.order_by("sla_next_check_at").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        batches += 1
        with transaction.atomic():
            new_events: list[CaseEvent] = []
            cases = Case.objects.filter(pk__in=ids).select_related("sla_policy", "team__department").order_by("pk")
            for case in cases:
                result.examined += 1
                if case.sla_next_check_at is None or case.sla_next_check_at > now:
                    continue  # moved on since we listed it
                if case.sla_policy is None:  # no clock to run (policy removed): stop checking it
                    Case.objects.filter(pk=case.pk, sla_policy__isnull=True).update(sla_next_check_at=None)
                    continue
                guard = {f: getattr(case, f) for f in _GUARD_FIELDS}
                try:
                    flips = advance_clocks(case, now, cache)
                except CalendarError as exc:
                    # One broken calendar must not stop every other case's clock: report it, move on.
                    logger.error("SLA sweep: case %s: calendar error %s: %s", case.pk, exc.code, exc.message)
                    result.errors += 1
                    passed_over.append(case.pk)
                    continue
                updated = Case.objects.filter(pk=case.pk, **guard).update(
                    **{f: getattr(case, f) for f in _SWEEP_WRITES}, updated_at=now
                )
                if not updated:
                    result.skipped += 1
                    passed_over.append(case.pk)
                    continue
                result.flipped += 1
                for kind, payload in flips:
                    result.events[str(kind)] = result.events.get(str(kind), 0) + 1
                    new_events.append(CaseEvent(case_id=case.pk, kind=kind, payload=payload, created_at=now))
            if new_events:
                CaseEvent.objects.bulk_create(new_events)
                transaction.on_commit(_kick_outbox)
    return result


# --- holiday data -----------------------------------------------------------------------------------


def import_holidays(calendar: BusinessCalendar, text: str, fmt: str = "csv", *, replace_years: bool = True) -> int:
    """Load a holiday list (see calendar.load_holiday_rows) into a calendar. All-or-nothing: a file with a bad
    line changes nothing and the error names every bad line. With replace_years, the years present in the file
    are replaced as a whole, so a corrected list removes days that are no longer holidays."""
    from voxloop.cases.calendar import load_holiday_rows
    from voxloop.cases.models import Holiday

    rows = load_holiday_rows(text, fmt)
    with transaction.atomic():
        if replace_years:
            Holiday.objects.filter(calendar=calendar, date__year__in={r.day.year for r in rows}).delete()
        Holiday.objects.bulk_create(
            [Holiday(calendar=calendar, date=r.day, kind=r.kind, name=r.name) for r in rows],
            update_conflicts=True,
            unique_fields=["calendar", "date"],
            update_fields=["kind", "name"],
        )
        calendar.to_calendar()  # validates the result (e.g. a day both holiday and make-up day cannot happen)
    return len(rows)
