"""apply_rules: run the enabled automation rules, in order, on analysed feedback and carry out what fired.

Guarantees: each rule fires at most once per feedback item (RuleFiring rows, checked under a row lock), so
re-running never repeats actions nor opens a second case; an item belongs to at most one case; conditions are
judged on a snapshot taken before any action, and actions never evaluate rules, so rules cannot loop.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from voxloop.accounts.models import Team
from voxloop.automation.models import AutomationRule, FeedbackTag, RuleFiring
from voxloop.automation.routing import RoutingContext, assign_by_routing, compiled_routing_rules
from voxloop.automation.rules import (
    SEVERITY_RANK,
    Facts,
    Plan,
    Predicate,
    RuleValidationError,
    compile_conditions,
    facts_for,
    facts_queryset,
    validate_actions,
)
from voxloop.cases.events import record_event
from voxloop.cases.followup import resolved_case_on_topic
from voxloop.cases.linking import link_feedback
from voxloop.cases.models import ACTIVE_STATUSES, Case, CaseEvent, CaseFeedback, EventKind
from voxloop.cases.queries import newest_case_on_topics
from voxloop.cases.services import CaseError, change_severity, open_case, reopen_case
from voxloop.cases.sla import CalendarCache
from voxloop.feedback.history import historical_feedback_ids
from voxloop.feedback.models import AnalysisStatus, Feedback

logger = logging.getLogger(__name__)

CHUNK = 500
COMMIT_EVERY = 50


class Outcome:
    OPENED = "opened"
    LINKED = "linked_to_open_case"
    ALREADY_IN_CASE = "already_in_case"
    NO_CASE = "no_case"


@dataclass
class RulesResult:
    evaluated: int = 0  # analysed items the rules looked at
    matched: int = 0  # items on which at least one rule fired this time
    firings: int = 0
    cases_opened: list[int] = field(default_factory=list)
    cases_linked: list[int] = field(default_factory=list)  # open cases an item was added to instead
    assigned: int = 0
    unassigned: int = 0  # opened cases left in the team queue
    already_in_case: int = 0
    not_analysed: list[int] = field(default_factory=list)  # skipped: analysis pending or failed
    not_found: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # feedback id -> why its actions failed (rolled back)
    rule_errors: dict[int, str] = field(default_factory=dict)  # rule id -> why it was skipped
    historical: int = 0  # matched imported history: tagged only, no case, no notice (voxloop.feedback.history)


@dataclass
class _Rule:
    pk: int
    name: str
    stop_processing: bool
    predicate: Predicate
    actions: list[dict]


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


def _compiled_rules(result: RulesResult) -> list[_Rule]:
    rules = []
    for rule in AutomationRule.objects.filter(enabled=True).order_by("order", "id"):
        try:
            predicate = compile_conditions(rule.conditions)
            actions = validate_actions(rule.actions)
        except RuleValidationError as exc:
            # Saved around the admin's validation (e.g. a raw SQL edit): skip it, say so, run the others.
            result.rule_errors[rule.pk] = str(exc)
            logger.error("automation rule %s (%s) skipped: %s", rule.pk, rule.name, exc)
            continue
        rules.append(_Rule(rule.pk, rule.name, rule.stop_processing, predicate, actions))
    return rules


def _matching(rules: list[_Rule], facts: Facts, fired: set[int]) -> list[_Rule]:
    hits = []
    for rule in rules:
        if rule.predicate(facts):
            if rule.pk not in fired:
                hits.append(rule)
            if rule.stop_processing:
                break
    return hits


def apply_rules(feedback_ids: Iterable[int], *, now: datetime | None = None) -> RulesResult:
    """Evaluate the enabled rules on these feedback items (call it right after analysis stored its results).
    Safe to repeat and to run concurrently on the same items."""
    now = now or timezone.now()
    ids = sorted({int(i) for i in feedback_ids})  # one lock order for every worker: no deadlocks
    result = RulesResult()
    rules = _compiled_rules(result)
    if not rules:
        return result
    routing = _Routing(compiled_routing_rules(), RoutingContext())
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        items = {f.pk: f for f in facts_queryset(chunk)}
        history = historical_feedback_ids(chunk)
        fired: dict[int, set[int]] = {}
        for rule_id, feedback_id in RuleFiring.objects.filter(feedback_id__in=chunk).values_list(
            "rule_id", "feedback_id"
        ):
            fired.setdefault(feedback_id, set()).add(rule_id)
        due: list[Facts] = []
        for feedback_id in chunk:
            item = items.get(feedback_id)
            if item is None:
                result.not_found.append(feedback_id)
                continue
            if item.analysis_status != AnalysisStatus.DONE:
                result.not_analysed.append(feedback_id)
                continue
            result.evaluated += 1
            facts = facts_for(item)
            if _matching(rules, facts, fired.get(feedback_id, set())):
                due.append(facts)
        for start_commit in range(0, len(due), COMMIT_EVERY):
            # A few items per commit (each in its own savepoint): one item's failure rolls back only that item.
            with transaction.atomic():
                for facts in due[start_commit : start_commit + COMMIT_EVERY]:
                    item_result = RulesResult()
                    try:
                        _fire(facts, rules, routing, item_result, now, historical=facts.feedback_id in history)
                    except CaseError as exc:
                        result.errors[facts.feedback_id] = exc.message
                        logger.warning("rules on feedback %s: %s", facts.feedback_id, exc.message)
                        continue
                    _add(result, item_result)
    return result


def apply_rules_after_analysis(feedback_ids: list[int]) -> None:
    """Subscribed to analysis (see apps.py): analysed feedback goes through the rules (open or join cases,
    route, assign), unless AUTOMATION_ON_ANALYSIS is off. Safe on re-analysis: a rule never fires twice."""
    if getattr(settings, "AUTOMATION_ON_ANALYSIS", True):
        apply_rules(feedback_ids)


def _add(total: RulesResult, part: RulesResult) -> None:
    for name in ("matched", "firings", "assigned", "unassigned", "already_in_case", "historical"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.cases_opened.extend(part.cases_opened)
    total.cases_linked.extend(part.cases_linked)


def _fire(
    facts: Facts, rules: list[_Rule], routing: _Routing, result: RulesResult, now: datetime, *, historical: bool = False
) -> None:
    with transaction.atomic():
        # The lock makes the firing check and the case it opens one step; a concurrent run waits, then sees
        # the firings and does nothing.
        Feedback.objects.select_for_update().filter(pk=facts.feedback_id).values_list("pk").first()
        already = set(RuleFiring.objects.filter(feedback_id=facts.feedback_id).values_list("rule_id", flat=True))
        hits = _matching(rules, facts, already)
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
