"""Personas and sample records used across the suite."""

from __future__ import annotations

import pytest

from voxloop.accounts.models import Department, Role, Team, User

PASSWORD = "pw-for-tests"


@pytest.fixture
def team(db) -> Team:
    department = Department.objects.create(name="客户服务部", name_en="Customer Service")
    return Team.objects.create(name="一线客服", name_en="Front line", department=department)


def _user(username: str, role: str, team: Team | None = None, **extra) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, role=role, **extra)
    if team:
        user.teams.add(team)
    return user


@pytest.fixture
def admin_user(db) -> User:
    return _user("alice-admin", Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def manager(db, team) -> User:
    return _user("mona-manager", Role.MANAGER, team)


@pytest.fixture
def agent(db, team) -> User:
    return _user("adam-agent", Role.AGENT, team)


@pytest.fixture
def analyst(db) -> User:
    return _user("anna-analyst", Role.ANALYST)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client
