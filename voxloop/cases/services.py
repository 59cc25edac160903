"""The case lifecycle: open, assign, reply, status, resolve, reopen, severity, escalation, merge. Each function
owns its transaction, records its CaseEvent rows in that transaction (events.record_event) and schedules side
effects with on_commit. The other case writes live beside it (sla, linking, tracking, compensation, followup);
docs/architecture/cases.md lists one function per state change."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Case as DjCase
from django.db.models import CharField, Value, When
from django.db.models.functions import Cast, Concat, LPad
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Team, User
from voxloop.accounts.permissions import Capability, require
from voxloop.cases import followup, repeat
from voxloop.cases.delivery import reply_route
from voxloop.cases.events import record_event, record_events

# CaseError and CaseErrorCode are re-exported: pages and tests catch them from here.
from voxloop.cases.guards import CaseError as CaseError
from voxloop.cases.guards import CaseErrorCode as CaseErrorCode
from voxloop.cases.guards import lock_case, require_active
from voxloop.cases.hooks import cases_written
from voxloop.cases.linking import attach_feedback, attach_feedback_to_cases
from voxloop.cases.models import (
    ACTIVE_STATUSES,
    Case,
    CaseEvent,
    CaseFeedback,
    CaseStatus,
    Clock,
    EventKind,
    Severity,
    SLAPolicy,
)
from voxloop.cases.queries import visible_cases, visible_team_ids
from voxloop.cases.sla import (
    CalendarCache,
    escalate_in_memory,
    resume_clocks,
    schedule_next_check,
    select_policy,
    start_clock,
)
from voxloop.feedback.models import Feedback

# --- helpers ----------------------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


# --- operations -------------------------------------------------------------------------------------


def _require_free_feedback(ids: Sequence[int], found: set[int], actor: User | None) -> None:
    """Every item exists (``found``: the ids the caller locked) and none already belongs to an active case."""
    missing = sorted(set(ids) - found)
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
        _require_free_feedback(ids, {f.pk for f in items}, actor)
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
        start_clock(case, Clock.FIRST_RESPONSE, cal, now)
        start_clock(case, Clock.RESOLUTION, cal, now)
        schedule_next_check(case)
        case.save()
        case.number = f"C{case.pk:07d}"
        # Opened "as of" now: the clocks start then, and so must the case (imports and replays pass past times).
        case.created_at = now
        Case.objects.filter(pk=case.pk).update(number=case.number, created_at=now)
        attach_feedback(case, ids)
        record_event(
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


# f"C{pk:07d}" as SQL (LPAD alone would cut ids of eight digits and more).
_CASE_NUMBER = DjCase(
    When(pk__lt=10**7, then=Concat(Value("C"), LPad(Cast("pk", CharField()), 7, Value("0")))),
    default=Concat(Value("C"), Cast("pk", CharField())),
)


_CLOCK_FIELDS = tuple(
    f"{clock}_{part}" for clock in Clock.values for part in ("due_at", "warn_at", "warned", "breached")
) + ("sla_next_check_at",)


@dataclass
class CaseRequest:
    """One case of a batch (``open_cases``): its feedback, severity, team and, optionally, the agent it goes to."""

    feedback_ids: Sequence[int]
    severity: str = Severity.NORMAL
    team: Team | None = None
    assignee: User | None = None
    title: str = ""


def _bad_severity(severity: str) -> CaseError:
    return CaseError(
        CaseErrorCode.BAD_SEVERITY,
        _("Unknown severity %(value)r; use one of %(allowed)s.")
        % {"value": severity, "allowed": ", ".join(Severity.values)},
    )


def open_cases(
    requests: Sequence[CaseRequest], *, now: datetime | None = None, calendars: CalendarCache | None = None
) -> list[Case]:
    """Open many cases at once, each as ``open_case`` followed by ``assign_case`` would (same checks, same rows,
    same timeline: created, repeat, assigned), with a few queries for the whole batch instead of a dozen per
    case. For the automation rules (no actor). All or nothing: the first request that cannot be opened raises
    its CaseError and the batch writes nothing."""
    now = _now(now)
    if not requests:
        return []
    wanted: list[list[int]] = []
    for request in requests:
        ids = list(dict.fromkeys(int(i) for i in request.feedback_ids))
        if not ids:
            raise CaseError(CaseErrorCode.NO_FEEDBACK, _("A case needs at least one feedback item."))
        if request.severity not in Severity.values:
            raise _bad_severity(request.severity)
        wanted.append(ids)
    all_ids = [i for ids in wanted for i in ids]
    if len(set(all_ids)) != len(all_ids):
        first = next(i for i in all_ids if all_ids.count(i) > 1)
        raise CaseError(
            CaseErrorCode.FEEDBACK_IN_OPEN_CASE,
            _("Feedback %(feedback)s already belongs to an open case.") % {"feedback": first},
        )
    with transaction.atomic():
        by_id = {
            f.pk: f
            for f in Feedback.objects.select_for_update(of=("self",))
            .filter(pk__in=all_ids)
            .select_related("customer")
            .order_by("pk")
        }
        _require_free_feedback(all_ids, set(by_id), None)
        pairs = {(r.assignee.pk, r.team.pk) for r in requests if r.assignee is not None and r.team is not None}
        members = set(
            User.teams.through.objects.filter(
                user_id__in={u for u, _t in pairs}, team_id__in={t for _u, t in pairs}
            ).values_list("user_id", "team_id")
        )
        for request in requests:
            if request.assignee is not None and request.team is not None:
                if (request.assignee.pk, request.team.pk) not in members:
                    raise CaseError(
                        CaseErrorCode.NOT_IN_TEAM,
                        _("%(user)s is not a member of the case's team.") % {"user": request.assignee.get_username()},
                    )
        cache = calendars or CalendarCache()
        policies: dict[tuple[str, int | None, str], SLAPolicy | None] = {}
        cases: list[Case] = []
        clocks: dict[int, dict[str, Any]] = {}
        for request, ids in zip(requests, wanted, strict=True):
            customer = next((by_id[i].customer for i in ids if by_id[i].customer_id), None)
            segment = customer.segment if customer else ""
            key = (request.severity, request.team.pk if request.team else None, segment)
            if key not in policies:
                policies[key] = select_policy(request.severity, request.team, segment)
            policy = policies[key]
            if policy is None:
                raise CaseError(
                    CaseErrorCode.NO_SLA_POLICY,
                    _("No active SLA policy for severity %(severity)s; add one in the admin.")
                    % {"severity": request.severity},
                )
            first_item = by_id[ids[0]]
            case = Case(
                title=request.title or (first_item.title or first_item.text)[:300],
                customer=customer,
                severity=request.severity,
                team=request.team,
                sla_policy=policy,
            )
            if request.assignee is not None:
                case.assignee = request.assignee
                case.status = CaseStatus.OPEN  # as assign_case leaves a new case
            if policy.pk not in clocks:  # every case of a policy starts its clocks at ``now``: compute them once
                cal = cache.get(policy.calendar_id)
                start_clock(case, Clock.FIRST_RESPONSE, cal, now)
                start_clock(case, Clock.RESOLUTION, cal, now)
                schedule_next_check(case)
                clocks[policy.pk] = {f: getattr(case, f) for f in _CLOCK_FIELDS}
            for name, value in clocks[policy.pk].items():
                setattr(case, name, value)
            cases.append(case)
        Case.objects.bulk_create(cases)
        for case in cases:
            case.number = f"C{case.pk:07d}"
            case.created_at = now  # opened "as of" now, like open_case
        # The number is the id, known after the INSERT: one UPDATE computes f"C{pk:07d}" in SQL for the batch.
        Case.objects.filter(pk__in=[case.pk for case in cases]).update(number=_CASE_NUMBER, created_at=now)
        attach_feedback_to_cases(list(zip(cases, wanted, strict=True)))
        record_events(
            [
                (case, EventKind.CREATED, None, now, {
                    "feedback_ids": ids, "severity": case.severity, "team_id": case.team_id,
                    "policy_id": case.sla_policy_id, "first_response_due_at": case.first_response_due_at,
                    "resolution_due_at": case.resolution_due_at})
                for case, ids in zip(cases, wanted, strict=True)
            ]
        )  # fmt: skip
        repeat.flag_repeats(cases, now)
        record_events(
            [
                (case, EventKind.ASSIGNED, None, now, {"from_user_id": None, "to_user_id": case.assignee_id})
                for case in cases
                if case.assignee_id
            ]
        )
        cases_written.announce([case.pk for case in cases])
    return cases


def assign_case(case: Case | int, assignee: User, actor: User | None = None, *, now: datetime | None = None) -> Case:
    if actor is not None:
        require(actor, Capability.MANAGE_CASES)
    now = _now(now)
    with transaction.atomic():
        case = lock_case(case)
        require_active(case)
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
        record_event(case, EventKind.ASSIGNED, actor, now, from_user_id=previous, to_user_id=assignee.pk)
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
        case = lock_case(case)
        require_active(case)
        if case.team_id == team.pk:
            return case
        previous_team, previous_user = case.team_id, case.assignee_id
        case.team = team
        if case.assignee_id and not team.members.filter(pk=case.assignee_id).exists():
            case.assignee = None
        case.save(update_fields=["team", "assignee", "updated_at"])
        record_event(
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
                require_active(current_case)  # raises: merged, resolved or closed
            current = current_case.assignee.get_username() if current_case.assignee else None
            raise CaseError(
                CaseErrorCode.ALREADY_TAKEN,
                _("Case %(case)s was already taken by %(user)s.") % {"case": pk, "user": current or "-"},
            )
        Case.objects.filter(pk=pk, status=CaseStatus.NEW).update(status=CaseStatus.OPEN)
        taken = Case.objects.get(pk=pk)
        record_event(taken, EventKind.ASSIGNED, agent, now, from_user_id=None, to_user_id=agent.pk, taken=True)
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
        case = lock_case(case)  # waits for a merge in progress, then sees its result
        if public:
            require_active(case)
        elif case.merged_into_id:
            require_active(case)
        fields = ["updated_at"]
        if public and case.first_responded_at is None:
            case.first_responded_at = now
            fields.append("first_responded_at")
        if case.status == CaseStatus.NEW and public:
            case.status = CaseStatus.OPEN
            fields.append("status")
        schedule_next_check(case)
        case.save(update_fields=[*fields, "sla_next_check_at"])
        if not public:
            return record_event(case, EventKind.INTERNAL_NOTE, author, now, text=text)
        # The channel the reply goes by (or "" when it reaches nobody), for the timeline: the same routing the
        # sender applies to it moments later (cases.delivery.reply_route).
        return record_event(case, EventKind.PUBLIC_REPLY, author, now, text=text, channel=reply_route(case).channel)


ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    CaseStatus.NEW: {CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER},
    CaseStatus.OPEN: {CaseStatus.PENDING_CUSTOMER},
    CaseStatus.REOPENED: {CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER},
    CaseStatus.PENDING_CUSTOMER: {CaseStatus.OPEN},
    CaseStatus.RESOLVED: {CaseStatus.CLOSED},
    CaseStatus.CLOSED: set(),
}


def set_status(case: Case | int, status: str, actor: User | None = None, *, now: datetime | None = None) -> Case:
    """Move between new/open/pending_customer/closed. Waiting on the customer pauses the SLA clocks."""
    now = _now(now)
    with transaction.atomic():
        case = lock_case(case)
        if case.merged_into_id:
            require_active(case)
        old = case.status
        if status not in ALLOWED_TRANSITIONS.get(old, set()):
            raise CaseError(
                CaseErrorCode.BAD_TRANSITION,
                _("A case cannot go from %(old)s to %(new)s here (resolve and reopen have their own actions).")
                % {
                    "old": CaseStatus(old).label,
                    "new": CaseStatus(status).label if status in CaseStatus.values else status,
                },
            )
        payload: dict[str, Any] = {"from": old, "to": status}
        if status == CaseStatus.PENDING_CUSTOMER:
            case.paused_since = now
        elif old == CaseStatus.PENDING_CUSTOMER:
            paused = resume_clocks(case, CalendarCache(), now)
            payload["paused_business_seconds"] = int(paused.total_seconds())
        if status == CaseStatus.CLOSED:
            case.closed_at = now
            case.auto_close_at = None
            # The customer's tracking link keeps working a while after the close, then answers "not found".
            case.tracking_expires_at = now + timedelta(days=followup.config().tracking_link_days)
        case.status = status
        schedule_next_check(case)
        case.save()
        record_event(case, EventKind.STATUS_CHANGED, actor, now, **payload)
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
        case = lock_case(case)
        require_active(case)
        if case.paused_since is not None:
            resume_clocks(case, CalendarCache(), now)
        old = case.status
        case.status = CaseStatus.RESOLVED
        case.resolved_at = now
        case.root_cause = root_cause
        case.resolution = resolution
        case.next_escalation_at = None
        schedule_next_check(case)
        case.save()
        record_event(
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
        case = lock_case(case)
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
        case.withdrawn_at = None  # a withdrawn case somebody reopens is a complaint again: the metrics count it
        case.escalation_level = 0
        case.next_escalation_at = None
        case.auto_close_at = None
        case.tracking_expires_at = None
        start_clock(case, Clock.RESOLUTION, cache.for_case(case), now)
        schedule_next_check(case)
        case.save()
        record_event(
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
        case = lock_case(case)
        require_active(case)
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
        record_event(
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
        case = lock_case(case)
        require_active(case)
        cache = CalendarCache()
        if cache.level(case.escalation_level + 1) is None:
            raise CaseError(
                CaseErrorCode.MAX_ESCALATION,
                _("Case %(case)s is already at the highest escalation level (%(level)s).")
                % {"case": case.pk, "level": case.escalation_level},
            )
        payload = escalate_in_memory(case, cache, now, "on_demand", actor.pk if actor else None)
        payload["note"] = reason
        schedule_next_check(case)
        case.save()
        record_event(case, EventKind.ESCALATED, actor, now, **payload)
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
            c.pk: c for c in Case.objects.select_for_update(no_key=True).filter(pk__in=[target_id, *source_ids]).order_by("pk")
        }
        missing = [i for i in [target_id, *source_ids] if i not in locked]
        if missing:
            raise CaseError(
                CaseErrorCode.MERGE_INVALID, _("Case %(ids)s does not exist.") % {"ids": ", ".join(map(str, missing))}
            )
        target_case = locked[target_id]
        require_active(target_case)
        for sid in source_ids:
            source = locked[sid]
            require_active(source)
            if source.customer_id and target_case.customer_id and source.customer_id != target_case.customer_id:
                raise CaseError(
                    CaseErrorCode.MERGE_INVALID,
                    _("Case %(case)s belongs to another customer and cannot be merged.") % {"case": sid},
                )
        already = set(CaseFeedback.objects.filter(case=target_case).values_list("feedback_id", flat=True))
        moved: list[int] = []
        for link in CaseFeedback.objects.filter(case_id__in=source_ids).order_by("pk"):
            if link.feedback_id not in already:
                already.add(link.feedback_id)
                moved.append(link.feedback_id)
        attach_feedback(target_case, moved)
        for sid in source_ids:
            source = locked[sid]
            source.status = CaseStatus.CLOSED
            source.closed_at = now
            source.merged_into = target_case
            source.paused_since = None
            source.next_escalation_at = None
            schedule_next_check(source)
            source.save()
            record_event(source, EventKind.MERGED, actor, now, into_case_id=target_id)
        record_event(target_case, EventKind.MERGED, actor, now, from_case_ids=source_ids, feedback_ids=moved)
        target_case.save(update_fields=["updated_at"])
    return target_case
