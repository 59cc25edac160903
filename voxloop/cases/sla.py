"""The SLA engine: which policy applies, when each clock warns and breaches, how pauses and escalations move
the due times, and the sweep that flips what is due. The lifecycle operations in ``services`` call it; it
never changes a case's status itself."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from voxloop.accounts.models import Role, Team, User
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.calendar import CalendarError
from voxloop.cases.events import kick_outbox_after_commit
from voxloop.cases.models import (
    ACTIVE_STATUSES,
    BusinessCalendar,
    Case,
    CaseEvent,
    Clock,
    EscalationLevel,
    EventKind,
    SLAPolicy,
)

logger = logging.getLogger(__name__)


# --- calendars and clocks -------------------------------------------------------------------------


class CalendarCache:
    """Builds each pure calendar once per operation/sweep (holiday rows are read once)."""

    def __init__(self) -> None:
        self._by_id: dict[int, PureCalendar] = {}
        self._levels: list[EscalationLevel] | None = None
        self._admins: list[int] | None = None
        self._unteamed: dict[str, list[int]] = {}

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
            self._levels = list(EscalationLevel.objects.select_related("user").order_by("level"))
        return self._levels

    def level(self, number: int) -> EscalationLevel | None:
        return next((lv for lv in self.levels if lv.level == number), None)

    @property
    def admins(self) -> list[int]:
        """The escalation fallback, read once per sweep (not once per escalated case)."""
        if self._admins is None:
            self._admins = _admins()
        return self._admins

    def unteamed(self, target: str) -> list[int]:
        """``unteamed_recipients``, read once per sweep and level kind."""
        if target not in self._unteamed:
            self._unteamed[target] = unteamed_recipients(target)
        return self._unteamed[target]


def select_policy(severity: str, team: Team | None, segment: str) -> SLAPolicy | None:
    """The most specific active policy: team + segment, then team, then segment, then the general one."""
    candidates = SLAPolicy.objects.filter(is_active=True, severity=severity).filter(
        Q(team__isnull=True) | Q(team=team) if team else Q(team__isnull=True),
        Q(customer_segment="") | Q(customer_segment=segment) if segment else Q(customer_segment=""),
    )
    ranked = sorted(candidates, key=lambda p: (p.team_id is None, p.customer_segment == "", p.pk))
    return ranked[0] if ranked else None


def start_clock(case: Case, clock: str, cal: PureCalendar, start: datetime) -> None:
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


def _level_users(team: Team | None, level: EscalationLevel) -> list[int]:
    """The active users a level names for a case of ``team`` (None: a case without a team), before any fallback."""
    if team is None and level.target != EscalationLevel.Target.NAMED_USER:
        return unteamed_recipients(level.target)
    if level.target == EscalationLevel.Target.TEAM_LEAD:
        user = team.lead if team else None
    elif level.target == EscalationLevel.Target.DEPARTMENT_MANAGER:
        user = team.department.manager if team and team.department else None
    else:
        user = level.user
    return [user.pk] if user is not None and user.is_active else []


# At most this many people get one escalation of a case without a team (a large staff gets no flood).
UNTEAMED_LIMIT = 5


def unteamed_recipients(target: str) -> list[int]:
    """Who a team-lead or department-manager level reaches for a case without a team. Such a case waits in the
    shared queue, which the managers watch: a team-lead level reaches the managers (role), a department-manager
    level the departments' managers; each falls back on the other. Empty only when the workspace has neither;
    the administrators then get the escalation."""
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True).order_by("pk").values_list("pk", flat=True))
    heads = list(
        User.objects.filter(managed_departments__isnull=False, is_active=True)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if target == EscalationLevel.Target.DEPARTMENT_MANAGER:
        return (heads or managers)[:UNTEAMED_LIMIT]
    return (managers or heads)[:UNTEAMED_LIMIT]


def _admins() -> list[int]:
    return list(
        User.objects.filter(Q(role=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:20]
    )


def escalation_recipients(
    team: Team | None, level: EscalationLevel, admins: list[int] | None = None, cache: CalendarCache | None = None
) -> tuple[list[int], bool]:
    """(user ids, fell back?): the people a level reaches. A level that names nobody for this team (no lead,
    no department manager, no named person, or an inactive one) reaches the administrators instead, so an
    escalation always lands on someone's desk. A case without a team reaches the managers
    (``unteamed_recipients``)."""
    if cache is not None and team is None and level.target != EscalationLevel.Target.NAMED_USER:
        users = cache.unteamed(level.target)
    else:
        users = _level_users(team, level)
    if users:
        return users, False
    return (admins if admins is not None else _admins()), True


@dataclass
class ChainGap:
    """A chain level that names nobody for some team (the administrators get those escalations instead)."""

    level: int
    target: str
    team: Team | None  # None: cases without a team


def chain_gaps() -> list[ChainGap]:
    """Every (level, team) pair whose level resolves to nobody, for the SLA page and the start-up check."""
    gaps: list[ChainGap] = []
    levels = list(EscalationLevel.objects.select_related("user").order_by("level"))
    if not levels:
        return gaps
    teams: list[Team | None] = [None, *Team.objects.select_related("lead", "department__manager").order_by("name")]
    for level in levels:
        for team in teams:
            if not _level_users(team, level):
                gaps.append(ChainGap(level.level, level.target, team))
    return gaps


def _breach_anchor(case: Case) -> datetime | None:
    """When the case first breached: escalation steps count business time from there."""
    times = [
        getattr(case, f"{c}_due_at") for c in (Clock.FIRST_RESPONSE, Clock.RESOLUTION) if getattr(case, f"{c}_breached")
    ]
    return min(times) if times else None


def escalate_in_memory(
    case: Case, cache: CalendarCache, now: datetime, reason: str, actor_id: int | None
) -> dict[str, Any]:
    """Move the case one level up and schedule the next automatic step. Returns the event payload."""
    level = cache.level(case.escalation_level + 1)
    assert level is not None
    case.escalation_level = level.level
    recipients, fallback = escalation_recipients(case.team if case.team_id else None, level, cache.admins, cache)
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
        # to_user_id: the first recipient (older readers of the payload); to_user_ids: everyone it reaches.
        "to_user_id": recipients[0] if recipients else None,
        "to_user_ids": recipients,
        "fallback_to_admins": fallback,
        "reason": reason,
        "by_user_id": actor_id,
    }


def advance_clocks(case: Case, now: datetime, cache: CalendarCache) -> list[tuple[str, dict[str, Any]]]:
    """Flip every warning/breach/escalation that is due at ``now`` on this in-memory case; return the events.
    Pure apart from reading configuration: the caller persists with a conditional update."""
    events: list[tuple[str, dict[str, Any]]] = []
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
        events.append((EventKind.ESCALATED, escalate_in_memory(case, cache, now, "sla_breach", None)))
    if case.next_escalation_at and not cache.level(case.escalation_level + 1):
        case.next_escalation_at = None
    schedule_next_check(case)
    return events


def resume_clocks(case: Case, cache: CalendarCache, now: datetime) -> timedelta:
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
    now = now or timezone.now()
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
            cases = (
                Case.objects.filter(pk__in=ids)
                .select_related("sla_policy", "team__lead", "team__department__manager")
                .order_by("pk")
            )
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
                kick_outbox_after_commit()
    return result
