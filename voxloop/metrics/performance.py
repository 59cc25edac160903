"""An agent's own numbers ("my performance", issue 18.9): their cases and their replies' CSAT against the
median of their team's members, over the last 7, 30 or 90 days. Read from the daily roll-ups cut by agent,
so the cost grows with the number of team members and days, not with the number of cases."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from voxloop.accounts.models import Role, User
from voxloop.metrics.models import Source
from voxloop.metrics.queries import (
    KPI_BY_KEY,
    Cut,
    KpiDef,
    KpiValue,
    Totals,
    kpi_value,
    load_days,
    make_period,
    total_of,
)

PERIODS = (7, 30, 90)
# Cases handled = cases assigned to the agent, counted on the day they were opened (as every case KPI is).
PERFORMANCE_KPIS = (
    "cases_opened",
    "frt_business_median",
    "resolution_business_median",
    "sla_compliance",
    "csat_mean",
    "csat_top2",
    "reopen_rate",
)
STAFF_ROLES = {Role.AGENT, Role.MANAGER, Role.ADMIN}


@dataclass(frozen=True)
class PerformanceRow:
    kpi: KpiDef
    mine: KpiValue
    team_median: float | None
    team_n: int  # team members with a value

    @property
    def better(self) -> bool | None:
        """Whether the agent's value is better than the team's median (None: nothing to compare)."""
        if self.mine.value is None or self.team_median is None or self.mine.value == self.team_median:
            return None
        above = self.mine.value > self.team_median
        return above if self.kpi.higher_is_better else not above


def team_members(user: User) -> list[User]:
    """Everyone in the user's teams (led teams included) who works cases, the user first."""
    members = (
        User.objects.filter(Q(teams__in=user.teams.all()) | Q(teams__lead=user) | Q(led_teams__members=user))
        .filter(is_active=True, role__in=STAFF_ROLES)
        .distinct()
    )
    others = sorted((m for m in members if m.pk != user.pk), key=lambda m: m.pk)
    return [user, *others]


def _totals_of(user_id: int, start: date, end: date) -> dict[str, Totals]:
    cut = Cut("agent", str(user_id))
    rows = load_days([Source.CASES, Source.RESPONSES], cut, start, end)
    period = make_period(start, end, end)
    return {source: total_of(rows[source], period) for source in rows}


def performance(user: User, days: int, today: date) -> list[PerformanceRow]:
    period = make_period(None, None, today, last_days=days)
    members = team_members(user)
    totals = {m.pk: _totals_of(m.pk, period.start, period.end) for m in members}
    rows = []
    for key in PERFORMANCE_KPIS:
        definition = KPI_BY_KEY[key]
        values = {pk: kpi_value(key, t[definition.source]) for pk, t in totals.items()}
        team_values = [v.value for v in values.values() if v.value is not None and (v.n or definition.unit == "count")]
        median = statistics.median(team_values) if len(members) > 1 and team_values else None
        rows.append(PerformanceRow(definition, values[user.pk], median, len(team_values)))
    return rows
