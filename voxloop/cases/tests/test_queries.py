"""Who sees which case: the one scope the case pages and the API share."""

from __future__ import annotations

import pytest

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.cases.models import Case
from voxloop.cases.queries import may_work_on, visible_cases


@pytest.fixture
def org(db):
    dept_a = Department.objects.create(name="After-sales")
    dept_b = Department.objects.create(name="Logistics")
    team_a = Team.objects.create(name="Repairs", department=dept_a)
    team_b = Team.objects.create(name="Delivery", department=dept_b)
    mk = lambda name, role: User.objects.create_user(name, password="x", role=role)  # noqa: E731
    people = {
        "agent_a": mk("agent_a", Role.AGENT),
        "agent_b": mk("agent_b", Role.AGENT),
        "manager_a": mk("manager_a", Role.MANAGER),
        "analyst": mk("analyst", Role.ANALYST),
        "admin": mk("admin", Role.ADMIN),
    }
    people["agent_a"].teams.add(team_a)
    people["agent_b"].teams.add(team_b)
    dept_a.manager = people["manager_a"]
    dept_a.save()
    cases = {
        "a": Case.objects.create(number="A", team=team_a),
        "b": Case.objects.create(number="B", team=team_b),
        "queue": Case.objects.create(number="Q"),
        "b_assigned_to_a": Case.objects.create(number="BA", team=team_b, assignee=people["agent_a"]),
    }
    return people, cases


def numbers(user) -> set[str]:
    return set(visible_cases(user).values_list("number", flat=True))


def test_agents_see_their_teams_the_shared_queue_and_their_own_cases(org):
    people, _cases = org
    assert numbers(people["agent_a"]) == {"A", "Q", "BA"}
    assert numbers(people["agent_b"]) == {"B", "Q", "BA"}


def test_managers_see_their_departments_cases(org):
    people, _cases = org
    assert numbers(people["manager_a"]) == {"A", "Q"}


def test_admins_and_analysts_see_all_but_analysts_cannot_work(org):
    people, cases = org
    assert numbers(people["admin"]) == {"A", "B", "Q", "BA"}
    assert numbers(people["analyst"]) == {"A", "B", "Q", "BA"}
    assert may_work_on(people["admin"], cases["b"])
    assert not may_work_on(people["analyst"], cases["a"])
    assert not may_work_on(people["agent_a"], cases["b"])
    assert may_work_on(people["agent_a"], cases["a"])


def test_inactive_users_see_nothing(org):
    people, _cases = org
    people["agent_a"].is_active = False
    people["agent_a"].save()
    assert numbers(people["agent_a"]) == set()
