"""Routing and assignment: routing rules pick the team; inside the team the case goes to the available agent
who speaks the customer's language, preferring agents skilled in the case's topics, with the lightest load
(open cases weighted by severity). Nobody eligible: the case stays in the team's unassigned queue.

This module decides; the cases app carries the decision out (``cases.rule_actions.assign_by_routing``) and
tells it the agents' open cases through the counter it registers here, since automation sits below cases
(docs/architecture/layers.md, L3)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from voxloop.accounts.models import Team, User
from voxloop.automation.models import RoutingRule
from voxloop.automation.rules import (
    Facts,
    Predicate,
    RuleValidationError,
    Severity,
    compile_conditions,
    primary_language,
    topic_matches,
)

logger = logging.getLogger(__name__)

# An urgent case weighs as much as four normal ones when comparing agents' loads.
SEVERITY_WEIGHT: dict[str, int] = {Severity.NORMAL: 1, Severity.IMPORTANT: 2, Severity.URGENT: 4}


def compiled_routing_rules() -> list[tuple[int, Predicate]]:
    """Enabled routing rules as (team id, predicate), in order. A rule saved with broken JSON (bypassing the
    admin's validation) is logged and skipped rather than stopping all routing."""
    compiled = []
    for rule in RoutingRule.objects.filter(enabled=True).order_by("order", "id"):
        try:
            compiled.append((rule.team_id, compile_conditions(rule.conditions)))
        except RuleValidationError as exc:
            logger.error("routing rule %s (%s) skipped: %s", rule.pk, rule.name, exc)
    return compiled


def pick_team(facts: Facts, rules: list[tuple[int, Predicate]] | None = None) -> Team | None:
    for team_id, predicate in compiled_routing_rules() if rules is None else rules:
        if predicate(facts):
            return Team.objects.filter(pk=team_id).first()
    return None


# (agent ids) -> [(agent id, severity, open cases of that severity)]; registered by voxloop.cases.
OpenCaseCounter = Callable[[list[int]], Iterable[tuple[int, str, int]]]
_open_case_counters: list[OpenCaseCounter] = []


def register_open_case_counter(counter: OpenCaseCounter) -> None:
    _open_case_counters[:] = [counter]


def agent_loads(agent_ids: Iterable[int]) -> dict[int, int]:
    """Open cases per agent, weighted by severity (all 0 without a registered counter: no cases app)."""
    loads: dict[int, int] = {}
    counts = _open_case_counters[0](list(agent_ids)) if _open_case_counters else ()
    for agent_id, severity, n in counts:
        loads[agent_id] = loads.get(agent_id, 0) + n * SEVERITY_WEIGHT.get(severity, 1)
    return loads


def _speaks(agent: User, language: str) -> bool:
    spoken = agent.languages_spoken or []
    if not language or not spoken:
        return True  # unknown language, or an agent who listed none: no restriction
    return primary_language(language) in {primary_language(str(code)) for code in spoken}


def _skilled(agent: User, topics: Iterable[str]) -> bool:
    skills = [str(s).strip().lower() for s in agent.skills or [] if str(s).strip()]
    return any(topic_matches(code, skill) for code in topics for skill in skills)


def pick_agent(
    team: Team | None, *, language: str = "", topics: Iterable[str] = (), context: RoutingContext | None = None
) -> User | None:
    """The agent a new case of this team should go to, or None (unassigned queue)."""
    if team is None:
        return None
    context = context or RoutingContext()
    topics = list(topics)
    candidates = [agent for agent in context.members(team) if _speaks(agent, language)]
    if not candidates:
        return None
    skilled = [agent for agent in candidates if _skilled(agent, topics)]
    pool = skilled or candidates
    loads = context.loads(team)
    return min(pool, key=lambda agent: (loads.get(agent.pk, 0), agent.pk))


class RoutingContext:
    """Members and loads of teams, read once per batch and kept current as the batch assigns cases, so routing
    a batch costs no query per case. Cases other workers assign meanwhile are seen by the next batch."""

    def __init__(self) -> None:
        self._members: dict[int, list[User]] = {}
        self._loads: dict[int, dict[int, int]] = {}

    def members(self, team: Team) -> list[User]:
        if team.pk not in self._members:
            self._members[team.pk] = list(team.members.filter(is_active=True, is_away=False).order_by("pk"))
        return self._members[team.pk]

    def loads(self, team: Team) -> dict[int, int]:
        if team.pk not in self._loads:
            self._loads[team.pk] = agent_loads(agent.pk for agent in self.members(team))
        return self._loads[team.pk]

    def assigned(self, team: Team, agent: User, severity: str) -> None:
        loads = self.loads(team)
        loads[agent.pk] = loads.get(agent.pk, 0) + SEVERITY_WEIGHT.get(severity, 1)
