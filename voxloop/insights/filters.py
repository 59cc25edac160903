"""The insight pages' shared filter bar: a period and at most one cut (channel, product, team, topic, segment
or language). Daily roll-ups are kept per dimension, so one cut at a time is what every page can answer from
them exactly; two at once would need the raw rows.

The responsible department (``department=``) is not a cut: it keeps the topics that department is responsible
for (voxloop.core.annotations, "responsibility"). Every roll-up row counts each topic under its own key, so the
pages that read topic keys (root causes, the trends' topic charts) apply it to any cut's rows exactly, with no
roll-up of its own and no extra query on the feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from voxloop.core.annotations import Responsibility, responsibilities
from voxloop.metrics.queries import Cut, Period, PeriodError, make_period, parse_date_param

PERIOD_CHOICES: tuple[tuple[str, Any], ...] = (
    ("7", gettext_lazy("Last 7 days")),
    ("30", gettext_lazy("Last 30 days")),
    ("90", gettext_lazy("Last 90 days")),
    ("180", gettext_lazy("Last 180 days")),
    ("365", gettext_lazy("Last 365 days")),
    ("730", gettext_lazy("Last 2 years")),
    ("custom", gettext_lazy("Custom")),
)
# The filter bar's cuts, in the order shown; each is a MetricDaily dimension.
FILTER_DIMENSIONS = ("channel", "product", "team", "topic", "segment", "language")


@dataclass(frozen=True)
class InsightFilters:
    period: Period
    cut: Cut
    period_choice: str
    department: Responsibility | None = None  # keep only the topics this department is responsible for

    def covers(self, code: str) -> bool:
        """Whether a topic or root-cause code stays under the department filter (always, without one)."""
        return self.department is None or self.department.covers(code)

    def params(self) -> dict[str, str]:
        """The query parameters that reproduce these filters (kept in links, exports and drill-downs)."""
        params = {"period": self.period_choice}
        if self.period_choice == "custom":
            params.update(start=self.period.start.isoformat(), end=self.period.end.isoformat())
        if self.cut.dimension:
            params[self.cut.dimension] = self.cut.value
        if self.department is not None:
            params["department"] = str(self.department.department_id)
        return params


def parse_filters(params: Any, today: date, default_period: str = "90") -> InsightFilters:
    """period=7|30|90|180|365|730|custom (custom: start and end, YYYY-MM-DD) and at most one of
    channel=, product= (id), team= (id), topic= (top-level code), segment=, language=; and department= (id)
    beside any of them.
    Raises PeriodError with a message naming the bad parameter."""
    choice = (params.get("period") or default_period).strip()
    if choice not in dict(PERIOD_CHOICES):
        raise PeriodError(
            _("Unknown period %(period)r; use one of: %(choices)s.")
            % {"period": choice, "choices": ", ".join(c for c, _label in PERIOD_CHOICES)}
        )
    if choice == "custom":
        period = make_period(parse_date_param(params, "start"), parse_date_param(params, "end"), today)
    else:
        period = make_period(None, None, today, last_days=int(choice))
    chosen = [(d, (params.get(d) or "").strip()) for d in FILTER_DIMENSIONS if (params.get(d) or "").strip()]
    if len(chosen) > 1:
        raise PeriodError(
            _("Filter by one of %(names)s at a time: the daily roll-ups are kept per dimension.")
            % {"names": ", ".join(d for d, _v in chosen)}
        )
    cut = Cut(*chosen[0]).validate() if chosen else Cut()
    return InsightFilters(period, cut, choice, _department((params.get("department") or "").strip()))


def _department(value: str) -> Responsibility | None:
    if not value:
        return None
    for responsibility in responsibilities():
        if str(responsibility.department_id) == value:
            return responsibility
    raise PeriodError(
        _("Unknown responsible department %(department)r: a department is responsible for the topics of its "
          "improvement actions.") % {"department": value}
    )  # fmt: skip
