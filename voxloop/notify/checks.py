"""Start-up check: escalation levels that name nobody for some team (their escalations go to the admins)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Warning
from django.db import DatabaseError

from voxloop.cases.models import EscalationLevel
from voxloop.cases.sla import chain_gaps


def check_escalation_chain(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        gaps = chain_gaps()
    except (DatabaseError, RuntimeError):
        # No tables yet (before the first migrate), or a harness that forbids database access here (pytest-django
        # runs Celery's start-up checks without it): nothing configured to check. Not tagged "database" on purpose:
        # Django runs those only for migrate/--database, and the point is to warn when the server or a worker starts.
        return []
    # Cases without a team reach the managers (cases.sla.unteamed_recipients): a gap there means no manager.
    reported = gaps
    if not reported:
        return []
    lines = [
        f"level {g.level} ({g.target}) names nobody for "
        + (
            f"team {g.team.name!r}"
            if g.team is not None
            else "any case"
            if g.target == EscalationLevel.Target.NAMED_USER
            else "cases without a team (no active manager or department manager)"
        )
        for g in reported[:10]
    ]
    more = f" (and {len(reported) - 10} more)" if len(reported) > 10 else ""
    return [
        Warning(
            "Escalation chain: " + "; ".join(lines) + more + ". These escalations go to the administrators.",
            hint="Set the team lead, the department manager or the level's named person on the SLA page.",
            id="notify.W001",
        )
    ]
