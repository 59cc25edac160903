"""apply_rules: run the enabled automation rules, in order, on analysed feedback and carry out what fired.

Guarantees: each rule fires at most once per feedback item (RuleFiring rows, checked under a row lock), so
re-running never repeats actions nor opens a second case; an item belongs to at most one case; conditions are
judged on a snapshot taken before any action, and actions never evaluate rules, so rules cannot loop.

Automation decides, cases write (docs/architecture/layers.md, L3): this module picks the items on which some
rule fires and hands them to the rule runner that voxloop.cases registers (``register_rule_runner``, in
CasesConfig.ready; ``voxloop/cases/rule_actions.py``), which re-checks the firings under a lock and carries
the plan out through the cases functions, in waves of up to WAVE items of distinct customers.

No item is forgotten: the analysis transaction marks its items due for the rules (``RulesDue``, through the
``analysis_replaced`` hook), and the transaction that applies an item's rules removes the mark. A rules run that
dies after the analysis committed (a database error, a lost worker) leaves the marks, and the beat task
``apply_pending_rules_task`` applies those items' rules a little later (``apply_pending_rules``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

from voxloop.analysis.models import FeedbackAnalysis
from voxloop.automation.models import AutomationRule, RuleFiring, RulesDue
from voxloop.automation.rules import (
    Facts,
    Plan,
    Predicate,
    RuleValidationError,
    compile_conditions,
    facts_for,
    facts_queryset,
    validate_actions,
)
from voxloop.feedback.history import historical_feedback_ids
from voxloop.feedback.models import AnalysisStatus, Sentiment

logger = logging.getLogger(__name__)

CHUNK = 500
COMMIT_EVERY = 50  # items per transaction on the one-by-one path
WAVE = 100  # items per transaction on the batch path
# The catch-up leaves alone the items analysed in the last CATCH_UP_AFTER (their own run is applying their rules)
# and takes at most CATCH_UP_BATCH items a run, so one run stays short however many are due.
CATCH_UP_AFTER = timedelta(minutes=2)
CATCH_UP_BATCH = 500


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

    def add(self, part: RulesResult) -> None:
        """Count in the outcome of one item or wave carried out on its own (errors are the caller's)."""
        for name in ("matched", "firings", "assigned", "unassigned", "already_in_case", "historical"):
            setattr(self, name, getattr(self, name) + getattr(part, name))
        self.cases_opened.extend(part.cases_opened)
        self.cases_linked.extend(part.cases_linked)


@dataclass
class CompiledRule:
    pk: int
    name: str
    stop_processing: bool
    predicate: Predicate
    actions: list[dict[str, Any]]


# Carries out the items due in one chunk: (items due, ids of imported history, batch?) -> None.
RuleRunner = Callable[[list[Facts], set[int], bool], None]
# (rules, the call's result, now) -> the runner for one apply_rules call; voxloop.cases registers it.
RuleRunnerFactory = Callable[[list["CompiledRule"], RulesResult, datetime], RuleRunner]
_runner_factories: list[RuleRunnerFactory] = []


def register_rule_runner(factory: RuleRunnerFactory) -> None:
    """Called in CasesConfig.ready: the cases app carries out what the rules decide (it writes every case)."""
    _runner_factories[:] = [factory]


def _runner() -> RuleRunnerFactory:
    if not _runner_factories:
        raise RuntimeError("no rule runner is registered: voxloop.cases must be installed to carry out rules")
    return _runner_factories[0]


def _compiled_rules(result: RulesResult) -> list[CompiledRule]:
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
        rules.append(CompiledRule(rule.pk, rule.name, rule.stop_processing, predicate, actions))
    return rules


def matching_rules(rules: list[CompiledRule], facts: Facts, fired: set[int]) -> list[CompiledRule]:
    hits = []
    for rule in rules:
        if rule.predicate(facts):
            if rule.pk not in fired:
                hits.append(rule)
            if rule.stop_processing:
                break
    return hits


def apply_rules(feedback_ids: Iterable[int], *, now: datetime | None = None, batch: bool = True) -> RulesResult:
    """Evaluate the enabled rules on these feedback items (call it right after analysis stored its results).
    Safe to repeat and to run concurrently on the same items. ``batch=False`` carries out every item one by
    one (the path the batch falls back to; benchmarks/rules.py --baseline measures it)."""
    now = now or timezone.now()
    ids = sorted({int(i) for i in feedback_ids})  # one lock order for every worker: no deadlocks
    result = RulesResult()
    rules = _compiled_rules(result)
    if not rules:
        rules_applied(ids)
        return result
    carry_out = _runner()(rules, result, now)
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
            if matching_rules(rules, facts, fired.get(feedback_id, set())):
                due.append(facts)
        # Settled now: nothing fires on them, or they are not (or no longer) analysed, in which case their next
        # analysis marks them again. The runner settles the due items in the transactions that carry them out.
        due_ids = {f.feedback_id for f in due}
        rules_applied([i for i in chunk if i not in due_ids])
        carry_out(due, history, batch)
    return result


def mark_rules_due(feedback_ids: list[int]) -> None:
    """Subscribed to ``analysis_replaced`` (see apps.py), so it runs inside the analysis transaction: these
    items are due for the rules until a committed rules run settles them (``rules_applied``)."""
    if not feedback_ids or not getattr(settings, "AUTOMATION_ON_ANALYSIS", True):
        return
    now = timezone.now()
    RulesDue.objects.bulk_create(
        [RulesDue(feedback_id=i, analysed_at=now) for i in feedback_ids], ignore_conflicts=True
    )


def rules_applied(feedback_ids: Iterable[int]) -> None:
    """These items' rules were applied: called in the transaction that applied them (the rule runner calls it
    for the items it carries out, under their row locks), so the mark goes only if that transaction commits."""
    ids = list(feedback_ids)
    if ids:
        RulesDue.objects.filter(feedback_id__in=ids).delete()


def apply_pending_rules(
    *, now: datetime | None = None, older_than: timedelta = CATCH_UP_AFTER, limit: int = CATCH_UP_BATCH
) -> RulesResult:
    """The catch-up (beat, ``apply_pending_rules_task``): apply the rules to up to ``limit`` items analysed more
    than ``older_than`` ago whose rules never ran to the end, oldest first. Items whose rules ran are never
    taken (their mark is gone), and a rule never fires twice anyway. Nothing while AUTOMATION_ON_ANALYSIS is off."""
    if not getattr(settings, "AUTOMATION_ON_ANALYSIS", True):
        return RulesResult()
    now = now or timezone.now()
    ids = list(
        RulesDue.objects.filter(analysed_at__lt=now - older_than)
        .order_by("analysed_at", "feedback_id")
        .values_list("feedback_id", flat=True)[:limit]
    )
    if not ids:
        return RulesResult()
    logger.warning("rules: applying the rules to %s analysed item(s) whose rules never ran", len(ids))
    try:
        return apply_rules(ids)
    except DatabaseError:
        # The waves that committed are settled; the rest go to the back, so items that keep failing do not hold
        # up the others, and are tried again on a later run.
        RulesDue.objects.filter(feedback_id__in=ids).update(analysed_at=timezone.now())
        logger.exception("rules: the catch-up of %s item(s) failed; they are tried again later", len(ids))
        return RulesResult()


def apply_rules_after_analysis(feedback_ids: list[int]) -> None:
    """Subscribed to analysis (see apps.py): analysed feedback goes through the rules (open or join cases,
    route, assign), unless AUTOMATION_ON_ANALYSIS is off. Safe on re-analysis: a rule never fires twice."""
    if getattr(settings, "AUTOMATION_ON_ANALYSIS", True):
        apply_rules(feedback_ids)


def apply_rules_after_refine(feedback_ids: list[int]) -> None:
    """Subscribed to the refine lane (see apps.py): items whose sentiment it changed go through the rules again,
    so a rule on the new label fires (a rule that already fired on an item never fires twice); then the cases the
    rules put an item in whose label is no longer negative are reviewed (``review_cases_after_refine``)."""
    if getattr(settings, "AUTOMATION_ON_ANALYSIS", True):
        apply_rules(feedback_ids)
        review_cases_after_refine(feedback_ids)


# --- a corrected label: the cases the rules opened on the old one ------------------------------------------------


@dataclass(frozen=True)
class LabelCorrection:
    """The refine lane turned an item's label from negative to ``new_label``, and no rule would put the item in a
    case now: the case a rule put it in (``case_id``) stands on a label that no longer holds. The cases app
    decides from the case's own history whether it can be withdrawn (nobody worked on it) or only noted."""

    case_id: int
    feedback_id: int
    old_label: str
    new_label: str
    model: str  # the refine model's version


# (corrections, now) -> anything (ignored); voxloop.cases registers it (the withdrawal is a case write, L3).
CorrectionHandler = Callable[[list[LabelCorrection], datetime], object]
_correction_handlers: list[CorrectionHandler] = []


def register_correction_handler(handler: CorrectionHandler) -> None:
    """Called in CasesConfig.ready: the cases app withdraws or notes the cases a corrected label leaves without
    a reason."""
    _correction_handlers[:] = [handler]


def _rule_opens_case(rule: CompiledRule) -> bool:
    plan = Plan()
    plan.add(rule.actions, rule.pk, rule.name)
    return bool(plan.severity)


def corrections_after_refine(feedback_ids: Iterable[int]) -> list[LabelCorrection]:
    """The cases to review after the refine lane changed these items' labels: items it turned from negative to
    positive or neutral (and that a person has not labelled negative since), that a rule put in a case, and on
    whose current facts no rule opens a case any more: neither an enabled rule (in order, as ``apply_rules``
    judges) nor any rule that fired on the item with a case, even if it was switched off since."""
    ids = sorted({int(i) for i in feedback_ids})
    refined = {
        fid: (old, model)
        for fid, old, model in FeedbackAnalysis.objects.filter(
            feedback_id__in=ids, refined_from=Sentiment.NEGATIVE
        ).values_list("feedback_id", "refined_from", "refine_version")
    }
    if not refined:
        return []
    firings: dict[int, list[tuple[int, int]]] = {}
    for fid, rule_id, case_id in (
        RuleFiring.objects.filter(feedback_id__in=list(refined), case__isnull=False)
        .order_by("id")
        .values_list("feedback_id", "rule_id", "case_id")
    ):
        firings.setdefault(fid, []).append((rule_id, case_id))
    if not firings:
        return []
    result = RulesResult()
    enabled = _compiled_rules(result)
    known = {rule.pk: rule for rule in enabled}
    fired_ids = {rule_id for pairs in firings.values() for rule_id, _case in pairs} - set(known)
    for rule in AutomationRule.objects.filter(pk__in=fired_ids):
        try:
            known[rule.pk] = CompiledRule(
                rule.pk, rule.name, rule.stop_processing, compile_conditions(rule.conditions),
                validate_actions(rule.actions),
            )  # fmt: skip
        except RuleValidationError:
            continue  # a rule that cannot be judged cannot be said to hold: it keeps its case
    corrections: list[LabelCorrection] = []
    for item in facts_queryset(list(firings)):
        facts = facts_for(item)
        if facts.sentiment in ("", Sentiment.NEGATIVE):
            continue  # a person labelled it negative (their correction wins), or it has no label
        if any(_rule_opens_case(rule) for rule in matching_rules(enabled, facts, set())):
            continue  # an enabled rule opens a case on the item as it is now: the case stands
        opened_by = {rule_id for rule_id, _case in firings[item.pk]}
        if any(rule_id not in known or (known[rule_id].predicate(facts) and _rule_opens_case(known[rule_id]))
               for rule_id in opened_by):  # fmt: skip
            continue
        old, model = refined[item.pk]
        for case_id in dict.fromkeys(case_id for _rule, case_id in firings[item.pk]):
            corrections.append(LabelCorrection(case_id, item.pk, old, facts.sentiment, model))
    return corrections


def review_cases_after_refine(feedback_ids: Iterable[int], *, now: datetime | None = None) -> list[LabelCorrection]:
    """Hand the cases a corrected label leaves without a reason to the cases app, which withdraws those nobody
    worked on and notes the correction on the others. Safe to repeat: the cases app does each once."""
    corrections = corrections_after_refine(feedback_ids)
    if corrections and _correction_handlers:
        _correction_handlers[0](corrections, now or timezone.now())
    return corrections
