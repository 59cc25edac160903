"""Every write to an improvement action: one function per state change (docs/actions.md).

Each function checks the policy, changes the row with a conditional update (two clicks at once change it
once), writes an ActionEvent and announces the change (voxloop.actions.hooks) after commit, so webhooks and
notifications never see a change that was rolled back."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Department, User
from voxloop.accounts.permissions import Capability, has, require
from voxloop.actions import confirmation, outcomes
from voxloop.actions.hooks import ActionAnnouncement, OverdueNotice, action_announced, action_overdue
from voxloop.actions.models import (
    DUE_STATUSES,
    OPEN_STATUSES,
    ActionComment,
    ActionEvent,
    ActionEventKind,
    ActionOrigin,
    ActionStatus,
    ActionTask,
    ActionType,
    EffectMeasurement,
    EffectVerdict,
    ImprovementAction,
)
from voxloop.actions.queries import ANNOTATIONS_CACHE_KEY
from voxloop.cases.models import Case
from voxloop.feedback.models import Channel, Feedback
from voxloop.stats.effects import EffectReport, Estimate, judge

HORIZONS = (14, 30, 60, 90)  # days after "implemented on" when the effect is measured on its own
ON_DEMAND = 0


class ActionErrorCode(StrEnum):
    NOT_ALLOWED = "not_allowed"
    WRONG_STATUS = "wrong_status"
    PLAN_REQUIRED = "plan_required"
    VERDICT_REQUIRED = "verdict_required"
    REASON_REQUIRED = "reason_required"
    INVALID = "invalid"


class ActionError(Exception):
    def __init__(self, code: ActionErrorCode, message: Any) -> None:
        self.code = code
        self.message = str(message)
        super().__init__(self.message)


def action_path(action: ImprovementAction | int) -> str:
    return reverse("actions:detail", args=[getattr(action, "pk", action)])


def _today() -> date:
    return timezone.localdate()


def _summary(action: ImprovementAction) -> dict[str, Any]:
    """The action as webhook receivers see it (no personal data beyond the owner's username)."""
    return {
        "id": action.pk,
        "title": action.title,
        "type": action.action_type,
        "status": action.status,
        "department": action.department.name if action.department_id else None,
        "owner": action.owner.username if action.owner_id else None,
        "due_date": action.due_date.isoformat() if action.due_date else None,
        "implemented_on": action.implemented_on.isoformat() if action.implemented_on else None,
        "verdict": action.latest_verdict or None,
        "scope": {"topics": action.topics, "products": action.products, "channels": action.channels,
                  "segment": action.segment},
        "url": settings.SITE_URL.rstrip("/") + action_path(action),
    }  # fmt: skip


def _announce(kind: str, action: ImprovementAction, **extra: Any) -> None:
    announcement = ActionAnnouncement(kind=kind, action_id=action.pk, data={"action": _summary(action), **extra})
    transaction.on_commit(lambda: action_announced.announce(announcement))


def _event(action: ImprovementAction, kind: str, actor: User | None, **kw: Any) -> ActionEvent:
    return ActionEvent.objects.create(action=action, kind=kind, actor=actor, **kw)


# --- who may ---------------------------------------------------------------------------------------------------


def may_approve(user: User, action: ImprovementAction) -> bool:
    """Managers and administrators, and the responsible department's manager."""
    return has(user, Capability.APPROVE_ACTIONS) or (
        has(user, Capability.PROPOSE_ACTIONS) and action.department.manager_id == user.pk
    )


def may_work_on(user: User, action: ImprovementAction) -> bool:
    """The owner, the collaborators, and whoever may approve."""
    if not has(user, Capability.PROPOSE_ACTIONS):
        return False
    if may_approve(user, action) or action.owner_id == user.pk:
        return True
    return action.collaborators.filter(pk=user.pk).exists()


def _require_work(user: User, action: ImprovementAction) -> None:
    if not may_work_on(user, action):
        raise ActionError(
            ActionErrorCode.NOT_ALLOWED, _("Only the owner, collaborators and managers change this action.")
        )


def _require_approve(user: User, action: ImprovementAction) -> None:
    if not may_approve(user, action):
        raise ActionError(
            ActionErrorCode.NOT_ALLOWED,
            _("Only managers, administrators and the department's manager approve, cancel or close actions."),
        )


# --- creating ---------------------------------------------------------------------------------------------------


def _clean_scope(
    topics: Iterable[str], products: Iterable[Any], channels: Iterable[str]
) -> tuple[list[str], list[str], list[str]]:
    topic_list = sorted({str(t).strip() for t in topics if str(t).strip()})
    product_list = sorted({str(p).strip() for p in products if str(p).strip()})
    bad = [p for p in product_list if not p.isdigit()]
    if bad:
        raise ActionError(ActionErrorCode.INVALID, _("Unknown product: %(product)s.") % {"product": bad[0]})
    channel_list = sorted({str(c).strip() for c in channels if str(c).strip()})
    unknown = [c for c in channel_list if c not in Channel.values]
    if unknown:
        raise ActionError(ActionErrorCode.INVALID, _("Unknown channel: %(channel)s.") % {"channel": unknown[0]})
    return topic_list, product_list, channel_list


def create_action(
    actor: User,
    *,
    title: str,
    department: Department,
    owner: User,
    due_date: date,
    description: str = "",
    plan: str = "",
    action_type: str = ActionType.CORRECTIVE,
    topics: Sequence[str] = (),
    products: Sequence[Any] = (),
    channels: Sequence[str] = (),
    segment: str = "",
    origin: str = ActionOrigin.MANUAL,
    origin_ref: str = "",
    collaborators: Sequence[User] = (),
    cases: Sequence[Case] = (),
    feedback: Sequence[Feedback] = (),
    today: date | None = None,
) -> ImprovementAction:
    """Propose an action; its baseline (the 90 days before today) is frozen now."""
    require(actor, Capability.PROPOSE_ACTIONS)
    title = (title or "").strip()
    if not title:
        raise ActionError(ActionErrorCode.INVALID, _("An action needs a title."))
    if action_type not in ActionType.values:
        raise ActionError(ActionErrorCode.INVALID, _("Unknown action type: %(type)s.") % {"type": action_type})
    if origin not in ActionOrigin.values:
        raise ActionError(ActionErrorCode.INVALID, _("Unknown origin: %(origin)s.") % {"origin": origin})
    if not owner.is_active:
        raise ActionError(ActionErrorCode.INVALID, _("The owner's account is switched off."))
    topic_list, product_list, channel_list = _clean_scope(topics, products, channels)
    today = today or _today()
    scope = outcomes.Scope(topic_list, product_list, channel_list, segment or "")
    with transaction.atomic():
        action = ImprovementAction.objects.create(
            title=title[:200],
            description=description or "",
            plan=plan or "",
            action_type=action_type,
            department=department,
            owner=owner,
            created_by=actor,
            due_date=due_date,
            topics=topic_list,
            products=product_list,
            channels=channel_list,
            segment=segment or "",
            origin=origin,
            origin_ref=(origin_ref or "")[:100],
            baseline=outcomes.baseline(scope, today),
        )
        if collaborators:
            action.collaborators.set(collaborators)
        if cases:
            action.cases.set(cases)
        if feedback:
            action.feedback.set(feedback)
        _event(action, ActionEventKind.CREATED, actor, to_status=action.status)
        _announce("action.created", action)
    return action


# --- the status machine ----------------------------------------------------------------------------------------


def _loaded(action: ImprovementAction, name: str) -> bool:
    return ImprovementAction._meta.get_field(name).is_cached(action)  # type: ignore[union-attr]


def _move(
    action: ImprovementAction, actor: User | None, old: Sequence[str], new: str, **fields: Any
) -> ImprovementAction:
    """Change the status if it is still one of ``old`` (a conditional update), record and announce it."""
    if action.status not in old:
        raise ActionError(
            ActionErrorCode.WRONG_STATUS,
            _("This action is %(status)s; it cannot move to %(target)s.")
            % {"status": action.get_status_display(), "target": ActionStatus(new).label},
        )
    with transaction.atomic():
        changed = ImprovementAction.objects.filter(pk=action.pk, status__in=old).update(
            status=new, updated_at=timezone.now(), **fields
        )
        if not changed:
            action.refresh_from_db()
            raise ActionError(
                ActionErrorCode.WRONG_STATUS, _("Someone changed this action at the same time; reload it.")
            )
        previous = action.status
        # refresh_from_db drops the loaded department and owner; keep them (the update above did not change
        # them), so the announcement below does not read them again for every action a run moves
        related = {name: getattr(action, name) for name in ("department", "owner") if _loaded(action, name)}
        action.refresh_from_db()
        for name, obj in related.items():
            if getattr(action, f"{name}_id") == obj.pk:
                setattr(action, name, obj)
        if "implemented_on" in fields or new == ActionStatus.CANCELLED:
            # the charts' marks changed: forget them now, and again after commit (a reader in between may have
            # cached the old rows)
            cache.delete(ANNOTATIONS_CACHE_KEY)
            transaction.on_commit(lambda: cache.delete(ANNOTATIONS_CACHE_KEY))
        payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in fields.items() if k != "closed_at"}
        _event(action, ActionEventKind.STATUS_CHANGED, actor, from_status=previous, to_status=new, payload=payload)
        _announce("action.status_changed", action, from_status=previous, to_status=new)
    return action


def approve_action(actor: User, action: ImprovementAction) -> ImprovementAction:
    _require_approve(actor, action)
    return _move(action, actor, [ActionStatus.PROPOSED], ActionStatus.APPROVED)


def start_action(actor: User, action: ImprovementAction, plan: str | None = None) -> ImprovementAction:
    """Start the work: a plan is required (given here or already on the action)."""
    _require_work(actor, action)
    plan_text = (plan if plan is not None else action.plan or "").strip()
    if not plan_text:
        raise ActionError(
            ActionErrorCode.PLAN_REQUIRED, _("Write the plan (what will be done, by whom, by when) before starting.")
        )
    return _move(action, actor, [ActionStatus.APPROVED], ActionStatus.IN_PROGRESS, plan=plan_text)


def implement_action(actor: User, action: ImprovementAction, implemented_on: date | None = None) -> ImprovementAction:
    """The change is in place since ``implemented_on`` (the intervention date); measurement starts from it."""
    _require_work(actor, action)
    on = implemented_on or _today()
    if on > _today():
        raise ActionError(ActionErrorCode.INVALID, _("The implementation date cannot be in the future."))
    return _move(action, actor, [ActionStatus.IN_PROGRESS], ActionStatus.IMPLEMENTED, implemented_on=on)


def verify_action(actor: User | None, action: ImprovementAction) -> ImprovementAction:
    """Start verifying (done by the first scheduled measurement, or by hand)."""
    if actor is not None:
        _require_work(actor, action)
    return _move(action, actor, [ActionStatus.IMPLEMENTED], ActionStatus.VERIFYING)


def close_action(actor: User, action: ImprovementAction, effective: bool) -> ImprovementAction:
    """Close with the verdict: "effective" needs a measured effective verdict; "not effective" needs a measured
    verdict that is not effective (not effective, or inconclusive after the time the owner was willing to wait)."""
    _require_approve(actor, action)
    verdict = action.latest_verdict
    if effective and verdict != EffectVerdict.EFFECTIVE:
        raise ActionError(
            ActionErrorCode.VERDICT_REQUIRED, _("Only an action measured as effective can be closed as effective.")
        )
    if not effective and verdict not in (EffectVerdict.NOT_EFFECTIVE, EffectVerdict.INCONCLUSIVE):
        raise ActionError(
            ActionErrorCode.VERDICT_REQUIRED,
            _(
                "Measure the effect first: an action closes as not effective on a not effective or inconclusive verdict."
            ),
        )
    target = ActionStatus.CLOSED_EFFECTIVE if effective else ActionStatus.CLOSED_NOT_EFFECTIVE
    return _move(action, actor, [ActionStatus.VERIFYING], target, closed_at=timezone.now())


def cancel_action(actor: User, action: ImprovementAction, reason: str) -> ImprovementAction:
    _require_approve(actor, action)
    if not (reason or "").strip():
        raise ActionError(ActionErrorCode.REASON_REQUIRED, _("Say why the action is cancelled."))
    action = _move(action, actor, list(OPEN_STATUSES), ActionStatus.CANCELLED, closed_at=timezone.now())
    ActionComment.objects.create(action=action, author=actor, text=reason.strip())
    return action


# --- sub-tasks and comments -------------------------------------------------------------------------------------


def add_task(actor: User, action: ImprovementAction, title: str) -> ActionTask:
    _require_work(actor, action)
    if not (title or "").strip():
        raise ActionError(ActionErrorCode.INVALID, _("A sub-task needs a title."))
    position = action.tasks.count()
    return ActionTask.objects.create(action=action, title=title.strip()[:200], position=position)


def set_task_done(actor: User, task: ActionTask, done: bool) -> ActionTask:
    _require_work(actor, task.action)
    ActionTask.objects.filter(pk=task.pk).update(done=done)
    task.done = done
    return task


def add_comment(actor: User, action: ImprovementAction, text: str) -> ActionComment:
    require(actor, Capability.PROPOSE_ACTIONS)
    if not (text or "").strip():
        raise ActionError(ActionErrorCode.INVALID, _("A comment cannot be empty."))
    return ActionComment.objects.create(action=action, author=actor, text=text.strip())


def link_cases(actor: User, action: ImprovementAction, cases: Iterable[Case]) -> None:
    _require_work(actor, action)
    action.cases.add(*cases)


# --- measuring the effect --------------------------------------------------------------------------------------


def _clean_list(values: Iterable[float | None]) -> list[float | None]:
    return [None if v is None or not math.isfinite(v) else round(float(v), 4) for v in values]


def _estimate_dict(est: Estimate | None) -> dict[str, float] | None:
    if est is None:
        return None
    return {"value": est.value, "se": est.se, "low": est.ci_low, "high": est.ci_high, "p": est.p_value}


def report_dict(report: EffectReport, series: outcomes.OutcomeSeries, intervention: int) -> dict[str, Any]:
    """What a measurement keeps: the verdict's numbers and the series the chart draws (JSON-safe)."""
    rate = series.rate()
    control_rate, _control_n = series.control()
    its = report.its
    ba = report.before_after
    return {
        "metric": outcomes.METRIC,
        "verdict": report.verdict.value,
        "alpha": report.alpha,
        "baseline_mean": report.baseline_mean if math.isfinite(report.baseline_mean) else None,
        "min_effect": report.min_effect if math.isfinite(report.min_effect) else None,
        "improvement": _estimate_dict(report.improvement),
        "relative_improvement": report.relative_improvement,
        "post_days": report.post_days,
        "post_days_needed": report.post_days_needed,
        "items_needed": report.items_needed,
        "warnings": [str(w) for w in report.warnings],
        "before_after": None if ba is None else {
            "before_mean": ba.before_mean, "before_low": ba.before_ci[0], "before_high": ba.before_ci[1],
            "before_n": ba.before_n, "before_days": ba.before_days,
            "after_mean": ba.after_mean, "after_low": ba.after_ci[0], "after_high": ba.after_ci[1],
            "after_n": ba.after_n, "after_days": ba.after_days, "difference": _estimate_dict(ba.difference),
        },
        "its": None if its is None else {
            "level_change": _estimate_dict(its.level_change), "slope_change": _estimate_dict(its.slope_change),
            "effect": _estimate_dict(its.effect), "pre_slope": its.pre_slope, "pre_trend_p": its.pre_trend_p,
            "pre_trend_ok": its.pre_trend_ok,
        },
        "did": None if report.did is None else {
            "effect": _estimate_dict(report.did.effect), "parallel_p": report.did.parallel_p,
            "parallel_ok": report.did.parallel_ok,
        },
        "series": {
            "days": [d.isoformat() for d in series.days],
            "intervention": series.days[intervention].isoformat() if intervention < len(series.days) else None,
            "observed": _clean_list(rate),
            "items": [int(v) for v in series.items],
            "complaints": [int(v) for v in series.complaints],
            "control": _clean_list(control_rate),
            "fitted": _clean_list(its.fitted) if its else [],
            "counterfactual": _clean_list(its.counterfactual) if its else [],
            "counterfactual_low": _clean_list(its.counterfactual_low) if its else [],
            "counterfactual_high": _clean_list(its.counterfactual_high) if its else [],
        },
    }  # fmt: skip


def measurement_span(action: ImprovementAction, horizon_days: int, today: date) -> tuple[date, date]:
    """The days a measurement reads: the baseline window before "implemented on", then up to the horizon."""
    assert action.implemented_on is not None
    start = action.implemented_on - timedelta(days=outcomes.BASELINE_DAYS)
    last = today - timedelta(days=1)
    if horizon_days:
        last = min(last, action.implemented_on + timedelta(days=horizon_days - 1))
    return start, max(last, action.implemented_on - timedelta(days=1))


def _series_report(
    scope: outcomes.Scope, start: date, last: date, implemented_on: date, cache: outcomes.OutcomeCache | None
) -> dict[str, Any]:
    """The verdict and the outcomes of a scope over ``start``..``last`` with the intervention on
    ``implemented_on``: everything a measurement keeps but the customers' answers."""
    series = outcomes.outcome_series(scope, start, last, cache)
    control_rate, control_n = series.control()
    intervention = outcomes.BASELINE_DAYS
    report = judge(series.rate(), series.items, intervention, control_values=control_rate, control_weights=control_n)
    result = report_dict(report, series, intervention)
    # The customer-level outcomes (per 1,000 orders, repeats, NPS, CSAT) before and after the intervention date.
    # the day series already counted the complaints of each window, anonymous ones included
    split_complaints = (int(series.complaints[:intervention].sum()), int(series.complaints[intervention:].sum()))
    customers_before, customers_after = outcomes.customer_outcomes_split(
        scope, start, last, implemented_on, cache, complaints=split_complaints
    )
    before = {**customers_before, **outcomes.series_outcomes(series, 0, intervention)}
    after: dict[str, Any] = {}
    if customers_after is not None:
        after = {**customers_after, **outcomes.series_outcomes(series, intervention, len(series.days))}
    result["outcomes"] = outcomes.compare_outcomes(before, after)
    result["orders_imported"] = bool(before.get("orders") or after.get("orders"))
    return result


def compute_effect(
    action: ImprovementAction,
    horizon_days: int = ON_DEMAND,
    today: date | None = None,
    cache: outcomes.OutcomeCache | None = None,
) -> dict[str, Any]:
    """The effect ``horizon_days`` after "implemented on" (on demand: up to yesterday), as a report dict."""
    if action.implemented_on is None:
        raise ActionError(
            ActionErrorCode.WRONG_STATUS, _("The effect is measured from the implementation date; set it first.")
        )
    today = today or _today()
    start, last = measurement_span(action, horizon_days, today)
    scope = outcomes.Scope(action.topics, action.products, action.channels, action.segment)
    # Actions of one scope implemented on one day read the same days: in a run, the first computes, the others
    # take a copy (the answers below are each action's own).
    key = (tuple(scope.topics), tuple(scope.products), tuple(scope.channels), scope.segment, start, last)
    shared = cache.reports.get(key) if cache is not None else None
    if shared is None:
        shared = _series_report(scope, start, last, action.implemented_on, cache)
        if cache is not None:
            cache.reports[key] = shared
    result = copy.deepcopy(shared)
    # the answers of customers told of the fix ("is it fixed for you?") may overrule an "effective" verdict
    asked = cache is None or action.pk in cache.asked_actions
    return confirmation.apply(result, confirmation.answers(action) if asked else confirmation.no_answers())


def measure_effect(
    action: ImprovementAction,
    horizon_days: int = ON_DEMAND,
    actor: User | None = None,
    today: date | None = None,
    cache: outcomes.OutcomeCache | None = None,
) -> EffectMeasurement:
    """Compute and keep one measurement; an implemented action starts verifying; the verdict is announced."""
    if actor is not None:
        _require_work(actor, action)
    report = compute_effect(action, horizon_days, today, cache)
    with transaction.atomic():
        if horizon_days == ON_DEMAND:
            EffectMeasurement.objects.filter(action=action, horizon_days=ON_DEMAND).delete()
        try:
            with transaction.atomic():
                measurement = EffectMeasurement.objects.create(
                    action=action, horizon_days=horizon_days, metric=outcomes.METRIC, verdict=report["verdict"],
                    report=report, computed_at=timezone.now(),
                )  # fmt: skip
        except IntegrityError:  # another run measured this horizon first
            return EffectMeasurement.objects.get(action=action, horizon_days=horizon_days, metric=outcomes.METRIC)
        previous = action.latest_verdict
        ImprovementAction.objects.filter(pk=action.pk).update(latest_verdict=report["verdict"])
        action.latest_verdict = report["verdict"]
        _event(
            action,
            ActionEventKind.MEASURED,
            actor,
            payload={"horizon_days": horizon_days, "verdict": report["verdict"]},
        )
        if action.status == ActionStatus.IMPLEMENTED and report["verdict"] != EffectVerdict.TOO_EARLY:
            action = verify_action(None, action)
        if previous != report["verdict"] or horizon_days:
            _announce(
                "action.verdict",
                action,
                horizon_days=horizon_days,
                verdict=report["verdict"],
                improvement=report["improvement"],
                relative_improvement=report["relative_improvement"],
            )
    return measurement


def due_measurements(today: date | None = None) -> list[tuple[int, int]]:
    """(action id, horizon) pairs whose scheduled measurement is due and not yet taken."""
    today = today or _today()
    candidates = ImprovementAction.objects.filter(
        status__in=[ActionStatus.IMPLEMENTED, ActionStatus.VERIFYING], implemented_on__isnull=False,
        implemented_on__lte=today - timedelta(days=min(HORIZONS)),
    ).values_list("pk", "implemented_on")  # fmt: skip
    taken = set(
        EffectMeasurement.objects.filter(action_id__in=[pk for pk, _ in candidates], horizon_days__gt=0).values_list(
            "action_id", "horizon_days"
        )
    )
    due = []
    for pk, on in candidates:
        assert on is not None  # implemented_on__isnull=False above
        for horizon in HORIZONS:
            if on + timedelta(days=horizon) <= today and (pk, horizon) not in taken:
                due.append((pk, horizon))
    return due


def measure_due_effects(today: date | None = None) -> int:
    """Take every scheduled measurement that is due (the daily task); returns how many were taken."""
    today = today or _today()
    due = due_measurements(today)
    if not due:
        return 0
    actions = ImprovementAction.objects.select_related("department", "owner").in_bulk([pk for pk, _ in due])
    spans = [measurement_span(actions[pk], horizon, today) for pk, horizon in due]
    cache = outcomes.OutcomeCache(min(s for s, _ in spans), max(e for _, e in spans))
    for pk, horizon in due:
        measure_effect(actions[pk], horizon, today=today, cache=cache)
    return len(due)


def measure_open_effects(today: date | None = None) -> dict[str, int]:
    """Measure every implemented or verifying action now (on demand, one shared read of the data); returns the
    count of each verdict."""
    today = today or _today()
    actions = list(
        ImprovementAction.objects.filter(
            status__in=[ActionStatus.IMPLEMENTED, ActionStatus.VERIFYING], implemented_on__isnull=False
        ).select_related("department", "owner")
    )
    if not actions:
        return {}
    spans = [measurement_span(a, ON_DEMAND, today) for a in actions]
    cache = outcomes.OutcomeCache(min(s for s, _ in spans), max(e for _, e in spans))
    counts: dict[str, int] = {}
    for action in actions:
        verdict = measure_effect(action, ON_DEMAND, today=today, cache=cache).verdict
        counts[verdict] = counts.get(verdict, 0) + 1
    return counts


def latest_report(action: ImprovementAction) -> EffectMeasurement | None:
    return action.measurements.first()


# --- overdue actions --------------------------------------------------------------------------------------------


def flag_overdue_actions(today: date | None = None) -> tuple[int, int]:
    """Tell the owner of each action past its due date (once), and the department's manager once it is
    ``ACTIONS_ESCALATE_AFTER_DAYS`` days late. Each notice is claimed by a conditional update, so two runs at
    once send it once. Returns (reminders, escalations)."""
    today = today or _today()
    late = ImprovementAction.objects.filter(status__in=DUE_STATUSES, due_date__lt=today).select_related(
        "department__manager", "owner"
    )
    reminders = escalations = 0
    escalate_after = timedelta(days=settings.ACTIONS_ESCALATE_AFTER_DAYS)
    for action in late:
        url = action_path(action)
        with transaction.atomic():
            if ImprovementAction.objects.filter(pk=action.pk, overdue_notified_on__isnull=True).update(
                overdue_notified_on=today
            ):
                _event(action, ActionEventKind.OVERDUE, None, payload={"due_date": action.due_date.isoformat()})
                notice = OverdueNotice(action.pk, action.title, url, [action.owner_id], escalated=False)
                transaction.on_commit(partial(action_overdue.announce, notice))
                reminders += 1
        manager = action.department.manager
        if manager is None or not manager.is_active or action.due_date + escalate_after >= today:
            continue
        with transaction.atomic():
            if ImprovementAction.objects.filter(pk=action.pk, escalated_on__isnull=True).update(escalated_on=today):
                _event(action, ActionEventKind.ESCALATED, None, payload={"to_user_id": manager.pk})
                notice = OverdueNotice(action.pk, action.title, url, [manager.pk], escalated=True)
                transaction.on_commit(partial(action_overdue.announce, notice))
                escalations += 1
    return reminders, escalations


def measure_now(actor: User, action: ImprovementAction) -> EffectMeasurement:
    """The "measure now" button."""
    return measure_effect(action, ON_DEMAND, actor=actor)
