"""Carrying out what the automation rules decided: open, join or reopen cases, raise their severity, assign
them by routing, record acknowledgements and notices, tag the items and record the firings.

``voxloop.automation`` decides (the rule language, which rules fire on an item, the plan they add up to, the
team and the agent routing picks) and sits below cases, so it never writes a case: ``apply_rules`` hands the
items due to a ``RuleRun`` that this app registers (CasesConfig.ready), and the case writes here go through
the cases functions like every other writer.

Speed (docs/rules.md, "Throughput"): items are carried out in waves of up to WAVE items of distinct customers,
one transaction each. A wave reads what it needs in bulk (firings, links, the customers' open and resolved
cases on the items' topics) and writes in bulk (tags, firings, new cases with their clocks, links, events and
assignments through ``cases.services.open_cases``). Since every case lookup is per customer, items of
distinct customers cannot affect each other, so a wave decides exactly as one-by-one processing would. The
rare items that join, reopen or are already in a case take the one-by-one path (``_fire``), and a wave that
meets a CaseError is rolled back and redone one by one, so a failing item only rolls back itself.

Row locks (docs/architecture/cases.md, "Row locks"): a wave, and each commit of the one-by-one path, locks its
feedback items in id order first, then every existing case its items may join, reopen or raise (the
customers' newest open and resolved cases on the items' topics, the cases they are linked to, followed through
merges) in id order, and only then writes. Item by item, two workers' waves would take the same customers'
cases in the order of their own item ids, which differs from worker to worker: under load that deadlocked,
and the losing wave's items were left without their case. Case locks are FOR NO KEY UPDATE (``lock_case``),
so the outbox, which writes rows pointing at cases (messages, notifications) and so takes FOR KEY SHARE on
them, never waits for a rule wave, nor a wave for it. Cases opened after the locks were taken (by another
worker) have higher ids than every locked one, so waiting for them keeps the order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from voxloop.accounts.models import Team, User
from voxloop.automation.models import FeedbackTag, RuleFiring
from voxloop.automation.routing import RoutingContext, compiled_routing_rules, pick_agent
from voxloop.automation.rules import SEVERITY_RANK, Facts, Plan, Predicate
from voxloop.automation.services import (
    COMMIT_EVERY,
    WAVE,
    CompiledRule,
    Outcome,
    RulesResult,
    matching_rules,
    rules_applied,
)
from voxloop.cases.events import record_event, record_events
from voxloop.cases.followup import resolved_case_on_topic
from voxloop.cases.guards import CaseError
from voxloop.cases.linking import link_feedback
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseEvent, CaseFeedback, CaseStatus, EventKind
from voxloop.cases.queries import newest_case_on_topics, newest_cases_on_topics
from voxloop.cases.services import CaseRequest, assign_case, change_severity, open_case, open_cases, reopen_case
from voxloop.cases.sla import CalendarCache
from voxloop.feedback.models import Feedback

logger = logging.getLogger(__name__)


class RuleRun:
    """One ``apply_rules`` call's work on the cases side: the routing state (teams, agents' loads, calendars) is
    built once and kept across the call's chunks. Registered with ``automation.services.register_rule_runner``."""

    def __init__(self, rules: list[CompiledRule], result: RulesResult, now: datetime) -> None:
        self.rules, self.result, self.now = rules, result, now
        self.routing = _Routing(compiled_routing_rules(), RoutingContext())

    def __call__(self, due: list[Facts], history: set[int], batch: bool) -> None:
        if batch:
            for wave in _waves(due):
                _fire_wave_or_one_by_one(wave, self.rules, self.routing, self.result, self.now, history)
        else:
            _fire_one_by_one(due, self.rules, self.routing, self.result, self.now, history)


@dataclass
class _Routing:
    rules: list[tuple[int, Predicate]]
    context: RoutingContext
    teams: dict[int | str, Team | None] = field(default_factory=dict)
    calendars: CalendarCache = field(default_factory=CalendarCache)  # one build per calendar per run

    def team_for(self, facts: Facts, named: int | str | None) -> Team | None:
        """The team a rule's set_team names, else the first routing rule's."""
        if named is not None:
            if named not in self.teams:
                self.teams[named] = _team(named)
            if self.teams[named] is not None:
                return self.teams[named]
        for team_id, predicate in self.rules:
            if predicate(facts):
                if team_id not in self.teams:
                    self.teams[team_id] = Team.objects.filter(pk=team_id).first()
                return self.teams[team_id]
        return None


def _fire_one_by_one(
    due: list[Facts],
    rules: list[CompiledRule],
    routing: _Routing,
    result: RulesResult,
    now: datetime,
    history: set[int],
) -> None:
    for start_commit in range(0, len(due), COMMIT_EVERY):
        # A few items per commit (each in its own savepoint): one item's failure rolls back only that item.
        with transaction.atomic():
            chunk = due[start_commit : start_commit + COMMIT_EVERY]
            _lock_for(chunk)
            # Settled with this commit, failing items too (their error is reported; the catch-up would only
            # meet it again): only a run that dies leaves them due.
            rules_applied(f.feedback_id for f in chunk)
            for facts in chunk:
                item_result = RulesResult()
                try:
                    _fire(facts, rules, routing, item_result, now, historical=facts.feedback_id in history)
                except CaseError as exc:
                    result.errors[facts.feedback_id] = exc.message
                    logger.warning("rules on feedback %s: %s", facts.feedback_id, exc.message)
                    continue
                result.add(item_result)


def _waves(due: list[Facts]) -> Iterable[list[Facts]]:
    """Up to WAVE items each, no customer twice in one wave (a customer's later items wait for the next wave,
    so they see the case the earlier one opened or joined), otherwise in id order."""
    waiting = due
    while waiting:
        wave: list[Facts] = []
        later: list[Facts] = []
        customers: set[int] = set()
        for facts in waiting:
            if len(wave) >= WAVE or (facts.customer_id is not None and facts.customer_id in customers):
                later.append(facts)
                continue
            wave.append(facts)
            if facts.customer_id is not None:
                customers.add(facts.customer_id)
        yield wave
        waiting = later


def _fire_wave_or_one_by_one(
    wave: list[Facts],
    rules: list[CompiledRule],
    routing: _Routing,
    result: RulesResult,
    now: datetime,
    history: set[int],
) -> None:
    part = RulesResult()
    try:
        with transaction.atomic():
            _fire_wave(wave, rules, routing, part, now, history)
    except CaseError as exc:
        # E.g. no SLA policy for one severity: redo the wave item by item, so only the failing items fail.
        logger.info("rules: a batch of %s items is redone one by one: %s", len(wave), exc.message)
        routing.context = RoutingContext()  # the rolled-back assignments must not count as load
        _fire_one_by_one(wave, rules, routing, result, now, history)
        return
    result.add(part)
    result.errors.update(part.errors)


def _fire_wave(
    wave: list[Facts],
    rules: list[CompiledRule],
    routing: _Routing,
    result: RulesResult,
    now: datetime,
    history: set[int],
) -> None:
    """``_fire`` for a wave of items of distinct customers, with bulk reads and writes (see the module doc)."""
    ids = [facts.feedback_id for facts in wave]
    # The same lock as _fire's, taken for the whole wave in id order: a concurrent run waits, then sees the firings.
    list(Feedback.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    rules_applied(ids)  # settled if this wave commits; a wave that dies leaves them to the catch-up
    already: dict[int, set[int]] = {}
    for rule_id, feedback_id in RuleFiring.objects.filter(feedback_id__in=ids).values_list("rule_id", "feedback_id"):
        already.setdefault(feedback_id, set()).add(rule_id)
    hits_of: dict[int, list[CompiledRule]] = {}
    plans: dict[int, Plan] = {}
    for facts in wave:
        hits = matching_rules(rules, facts, already.get(facts.feedback_id, set()))
        if hits:
            hits_of[facts.feedback_id] = hits
            plans[facts.feedback_id] = plan = Plan()
            for rule in hits:
                plan.add(rule.actions, rule.pk, rule.name)
    todo = [facts for facts in wave if facts.feedback_id in hits_of]
    if not todo:
        return
    live = [f for f in todo if f.feedback_id not in history]
    linked = set(
        CaseFeedback.objects.filter(feedback_id__in=[f.feedback_id for f in live]).values_list("feedback_id", flat=True)
    )
    # Which items would join an open case or reopen a resolved one: those go one by one (they are few).
    joining = {
        f.customer_id: f.top_topics
        for f in live
        if f.feedback_id not in linked and plans[f.feedback_id].severity and plans[f.feedback_id].merge_open
        and f.customer_id is not None and f.top_topics
    }  # fmt: skip
    with_open = newest_cases_on_topics(joining, ACTIVE_STATUSES)
    resolved = {c: t for c, t in joining.items() if c not in with_open}
    with_resolved = newest_cases_on_topics(resolved, [CaseStatus.RESOLVED])
    slow = [
        f
        for f in live
        if f.feedback_id in linked
        or (f.customer_id in joining and (f.customer_id in with_open or f.customer_id in with_resolved))
    ]
    slow_ids = {f.feedback_id for f in slow}
    fast = [f for f in todo if f.feedback_id not in slow_ids]
    # Every existing case the slow items may join, reopen or raise, locked now in id order (see the module doc).
    _lock_cases(
        [*with_open.values(), *with_resolved.values()], [f.feedback_id for f in slow if f.feedback_id in linked]
    )

    tags: list[FeedbackTag] = []
    for facts in fast:
        hits, plan = hits_of[facts.feedback_id], plans[facts.feedback_id]
        rule_of_tag = {t: r.pk for r in reversed(hits) for a in r.actions if a["type"] == "add_tags" for t in a["tags"]}
        tags.extend(FeedbackTag(feedback_id=facts.feedback_id, tag=t, rule_id=rule_of_tag.get(t)) for t in plan.tags)
    if tags:
        FeedbackTag.objects.bulk_create(tags, ignore_conflicts=True)

    requests: list[tuple[Facts, CaseRequest]] = []
    firings: list[RuleFiring] = []
    for facts in fast:
        plan = plans[facts.feedback_id]
        if facts.feedback_id in history:
            result.historical += 1  # tags only, no firing: see _fire
            continue
        if not plan.severity:
            firings.extend(
                RuleFiring(
                    rule_id=r.pk, feedback_id=facts.feedback_id, case=None, outcome=Outcome.NO_CASE, fired_at=now
                )
                for r in hits_of[facts.feedback_id]
            )
            result.matched += 1
            result.firings += len(hits_of[facts.feedback_id])
            continue
        team = routing.team_for(facts, plan.team)
        agent = pick_agent(team, language=facts.language, topics=facts.topics, context=routing.context)
        if agent is not None and team is not None:
            routing.context.assigned(team, agent, plan.severity)
        requests.append((facts, CaseRequest([facts.feedback_id], plan.severity, team=team, assignee=agent)))
    cases = open_cases([r for _f, r in requests], now=now, calendars=routing.calendars)
    events: list[tuple[Case, str, User | None, datetime, dict[str, Any]]] = []
    for (facts, _request), case in zip(requests, cases, strict=True):
        plan, hits = plans[facts.feedback_id], hits_of[facts.feedback_id]
        result.cases_opened.append(case.pk)
        if case.assignee_id:
            result.assigned += 1
        else:
            result.unassigned += 1
        events.extend((case, EventKind.NOTIFICATION, None, now, {**n, "feedback_id": facts.feedback_id})
                      for n in plan.notifications)  # fmt: skip
        if plan.acknowledge:  # a case opened just now has not been acknowledged yet
            events.append(
                (case, EventKind.ACKNOWLEDGED, None, now, {"feedback_id": facts.feedback_id, "automatic": True})
            )
        firings.extend(
            RuleFiring(rule_id=r.pk, feedback_id=facts.feedback_id, case=case, outcome=Outcome.OPENED, fired_at=now)
            for r in hits
        )
        result.matched += 1
        result.firings += len(hits)
    record_events(events)
    RuleFiring.objects.bulk_create(firings)

    for facts in slow:
        item_result = RulesResult()
        try:
            _fire(facts, rules, routing, item_result, now, historical=False)
        except CaseError as exc:
            result.errors[facts.feedback_id] = exc.message
            logger.warning("rules on feedback %s: %s", facts.feedback_id, exc.message)
            continue
        result.add(item_result)


def _lock_for(items: list[Facts]) -> None:
    """The one-by-one path's locks for a commit's items, in the waves' order: the items in id order, then every
    existing case they may join, reopen or raise (their customers' newest open and resolved cases on their
    topics, the cases they are linked to), in id order."""
    ids = sorted(f.feedback_id for f in items)
    list(Feedback.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
    wanted = {f.customer_id: f.top_topics for f in items if f.customer_id is not None and f.top_topics}
    found = newest_cases_on_topics(wanted, ACTIVE_STATUSES)
    found_resolved = newest_cases_on_topics({c: t for c, t in wanted.items() if c not in found}, [CaseStatus.RESOLVED])
    _lock_cases([*found.values(), *found_resolved.values()], ids)


def _lock_cases(case_ids: Iterable[int], linked_feedback_ids: Iterable[int]) -> None:
    """Lock these cases, and the cases these items are linked to (followed through merges), in id order: one
    lock order for every writer of cases, so no two transactions wait for each other's cases (the module doc)."""
    wanted = set(case_ids)
    hop = set(CaseFeedback.objects.filter(feedback_id__in=list(linked_feedback_ids)).values_list("case_id", flat=True))
    for _hop in range(10):  # as far as _case_for follows merges
        hop -= wanted
        if not hop:
            break
        wanted |= hop
        hop = set(
            Case.objects.filter(pk__in=hop, merged_into__isnull=False).values_list("merged_into_id", flat=True)
        )  # fmt: skip
    if wanted:
        # FOR NO KEY UPDATE, like lock_case: rows that point at these cases (events, links) can still be written.
        list(Case.objects.select_for_update(no_key=True).filter(pk__in=sorted(wanted)).order_by("pk").values_list("pk"))


def _fire(
    facts: Facts,
    rules: list[CompiledRule],
    routing: _Routing,
    result: RulesResult,
    now: datetime,
    *,
    historical: bool = False,
) -> None:
    with transaction.atomic():
        # The lock makes the firing check and the case it opens one step; a concurrent run waits, then sees
        # the firings and does nothing.
        Feedback.objects.select_for_update().filter(pk=facts.feedback_id).values_list("pk").first()
        already = set(RuleFiring.objects.filter(feedback_id=facts.feedback_id).values_list("rule_id", flat=True))
        hits = matching_rules(rules, facts, already)
        if not hits:
            return
        plan = Plan()
        for rule in hits:
            plan.add(rule.actions, rule.pk, rule.name)
        if plan.tags:
            rule_of_tag = {
                t: r.pk for r in reversed(hits) for a in r.actions if a["type"] == "add_tags" for t in a["tags"]
            }
            FeedbackTag.objects.bulk_create(
                [FeedbackTag(feedback_id=facts.feedback_id, tag=t, rule_id=rule_of_tag.get(t)) for t in plan.tags],
                ignore_conflicts=True,
            )
        if historical:
            # History is not news: its tags count in insights, but it opens no case and tells nobody. No firing is
            # recorded either, so a later re-analysis decides the same way (the batch keeps the importer's choice).
            result.historical += 1
            return
        case, outcome = _case_for(facts, plan, routing, result, now)
        if case is not None:
            for notification in plan.notifications:
                record_event(case, EventKind.NOTIFICATION, None, now, **notification, feedback_id=facts.feedback_id)
            if (
                plan.acknowledge
                and case.is_active
                # A case opened just now has not been acknowledged yet: spare the query.
                and (
                    outcome == Outcome.OPENED
                    or not CaseEvent.objects.filter(case=case, kind=EventKind.ACKNOWLEDGED).exists()
                )
            ):
                # Recorded now; the customer-facing message is sent by whoever handles the outbox event.
                record_event(case, EventKind.ACKNOWLEDGED, None, now, feedback_id=facts.feedback_id, automatic=True)
        RuleFiring.objects.bulk_create(
            [
                RuleFiring(rule_id=r.pk, feedback_id=facts.feedback_id, case=case, outcome=outcome, fired_at=now)
                for r in hits
            ]
        )
    result.matched += 1
    result.firings += len(hits)


def _case_for(
    facts: Facts, plan: Plan, routing: _Routing, result: RulesResult, now: datetime
) -> tuple[Case | None, str]:
    # No ORDER BY: an item has one or two links, and a sort invites a scan of the whole link table.
    links = list(CaseFeedback.objects.filter(feedback_id=facts.feedback_id).values_list("pk", "case_id"))
    if links:
        # At most one case per item, whatever its status: re-running rules never opens a second.
        case = Case.objects.get(pk=max(links)[1])
        for _hop in range(10):  # follow merges to the surviving case
            if not case.merged_into_id:
                break
            case = Case.objects.get(pk=case.merged_into_id)
        result.already_in_case += 1
        _raise_severity(case, plan.severity, now)
        return case, Outcome.ALREADY_IN_CASE
    if not plan.severity:
        return None, Outcome.NO_CASE
    target = _open_case_to_join(facts) if plan.merge_open else None
    if target is None and plan.merge_open:
        # A new complaint on the topic of a resolved (not closed) case: the resolution did not hold; reopen it.
        target = resolved_case_on_topic(facts.customer_id, facts.top_topics)
        if target is not None:
            target = reopen_case(target, None, reason="new_complaint", now=now)
    if target is not None:
        link_feedback(target, facts.feedback_id, None, now=now, automatic=True)
        _raise_severity(target, plan.severity, now)
        result.cases_linked.append(target.pk)
        return target, Outcome.LINKED
    case = open_case(
        [facts.feedback_id],
        plan.severity,
        team=routing.team_for(facts, plan.team),
        now=now,
        calendars=routing.calendars,
    )
    result.cases_opened.append(case.pk)
    assigned = assign_by_routing(case, facts, routing.context)
    if assigned is None:
        result.unassigned += 1
        return case, Outcome.OPENED
    result.assigned += 1
    return assigned, Outcome.OPENED


def _team(ref: int | str) -> Team | None:
    if isinstance(ref, int):
        team = Team.objects.filter(pk=ref).first()
    else:
        team = Team.objects.filter(name=ref).first() or Team.objects.filter(name_en=ref).first()
    if team is None:
        logger.warning("automation rule names team %r, which does not exist; routing rules decide", ref)
    return team


def _open_case_to_join(facts: Facts) -> Case | None:
    """An open case of the same customer about the same top-level topic, to add this item to."""
    tops = facts.top_topics
    if facts.customer_id is None or not tops:
        return None
    # Two small steps, each on its own index: the customer's open cases (case_customer_recent), then which of
    # them hold feedback on one of these topics.
    open_ids = list(
        Case.objects.filter(customer_id=facts.customer_id, status__in=ACTIVE_STATUSES, merged_into__isnull=True)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:100]
    )
    return newest_case_on_topics(open_ids, tops)


def _raise_severity(case: Case, severity: str, now: datetime) -> None:
    if severity and case.is_active and SEVERITY_RANK[severity] > SEVERITY_RANK[case.severity]:
        change_severity(case, severity, now=now)
        case.refresh_from_db()


def assign_by_routing(case: Case, facts: Facts, context: RoutingContext | None = None) -> Case | None:
    """Assign a freshly opened case inside its team through ``assign_case``; returns the updated case, or None
    when nobody is eligible (the case waits in the queue)."""
    context = context or RoutingContext()
    agent = pick_agent(case.team, language=facts.language, topics=facts.topics, context=context)
    if agent is None or case.team is None:
        return None
    try:
        assigned = assign_case(case, agent)
    except CaseError as exc:  # e.g. the agent left the team a moment ago: leave it in the queue
        logger.warning("case %s not assigned to %s: %s", case.pk, agent.pk, exc.message)
        return None
    context.assigned(case.team, agent, case.severity)
    return assigned
