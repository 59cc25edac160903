"""Read models for case pages and the API. ``visible_cases`` is the one permission scope for both."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from voxloop.accounts.models import Role, Team, User
from voxloop.cases.models import Case


def visible_team_ids(user: User) -> list[int] | None:
    """The teams whose cases ``user`` may see; None means every team (admins, analysts, viewers)."""
    if user.is_superuser or user.role in {Role.ADMIN, Role.ANALYST, Role.VIEWER}:
        return None
    teams = Team.objects.filter(Q(members=user) | Q(lead=user))
    if user.role == Role.MANAGER:
        teams = Team.objects.filter(Q(members=user) | Q(lead=user) | Q(department__manager=user))
    return sorted(set(teams.values_list("pk", flat=True)))


def visible_cases(user: User) -> QuerySet[Case]:
    """Cases ``user`` may open: agents their teams' cases, managers their departments', admins all.

    Cases assigned to the user stay visible after a move to another team, and cases no routing rule placed
    in a team (``team`` empty) form a shared queue that every agent sees, so nothing waits unseen.
    Analysts and viewers read every case; the pages mask personal data for them."""
    if not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    team_ids = visible_team_ids(user)
    if team_ids is None:
        return Case.objects.all()
    return Case.objects.filter(Q(team_id__in=team_ids) | Q(team__isnull=True) | Q(assignee=user))


def may_work_on(user: User, case: Case) -> bool:
    """Whether ``user`` may change ``case`` (reply, assign, resolve...); analysts and viewers only read."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.role in {Role.ANALYST, Role.VIEWER} and not user.is_superuser:
        return False
    return visible_cases(user).filter(pk=case.pk).exists()
