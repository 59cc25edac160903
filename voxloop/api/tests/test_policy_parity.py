"""One permission policy: a page and the API give the same answer to the same user for the same action, and the
services refuse what the policy does not grant whoever calls them (issue 14.4, 15.10)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from voxloop.accounts.models import Role, Team, User
from voxloop.accounts.permissions import Capability, PolicyDenied, has
from voxloop.api.tests.test_cases_api import call, token_for
from voxloop.cases import compensation
from voxloop.cases import services as case_services
from voxloop.cases.models import Case, Compensation, CompensationStatus
from voxloop.cases.tests import conftest as case_fixtures

pytestmark = pytest.mark.django_db

# The case fixtures, shared as test_cases_api.py shares them.
english_messages = case_fixtures.english_messages
make_feedback = case_fixtures.make_feedback
sla_defaults = case_fixtures.sla_defaults
staffed_team = case_fixtures.staffed_team
team_agents = case_fixtures.team_agents

ALLOWED, DENIED = "allowed", "denied"


def page_answer(response) -> str:
    # A page that did the action redirects back to the case; a refusal by the policy is 403.
    assert response.status_code in {302, 403}, (response.status_code, response.content[:300])
    return ALLOWED if response.status_code == 302 else DENIED


def api_answer(response) -> str:
    assert response.status_code in {200, 403}, (response.status_code, response.content[:300])
    return ALLOWED if response.status_code == 200 else DENIED


@pytest.fixture
def people(staffed_team, team_agents) -> dict[str, User]:
    wang, zhang = team_agents
    analyst = User.objects.create_user("an-analyst", password="x", role=Role.ANALYST)
    viewer = User.objects.create_user("vi-viewer", password="x", role=Role.VIEWER)
    admin = User.objects.create_user("ad-admin", password="x", role=Role.ADMIN)
    return {
        "manager": User.objects.get(username="mei-manager"),
        "admin": admin,
        "agent": wang,
        "analyst": analyst,
        "viewer": viewer,
        "zhang": zhang,
    }


EXPECTED_CASE_MANAGEMENT = {"admin": ALLOWED, "manager": ALLOWED, "agent": DENIED, "analyst": DENIED, "viewer": DENIED}


@pytest.mark.parametrize("role", list(EXPECTED_CASE_MANAGEMENT))
def test_assigning_to_someone_else_gets_the_same_answer_on_the_page_and_in_the_api(
    client, make_feedback, staffed_team, people, role
):
    user, zhang = people[role], people["zhang"]
    by_page = case_services.open_case([make_feedback("页面分配")], team=staffed_team)
    by_api = case_services.open_case([make_feedback("接口分配")], team=staffed_team)
    client.force_login(user)
    page = client.post(reverse("cases:action", args=[by_page.pk, "assign"]), {"assign-assignee": zhang.pk})
    api = call(client, "patch", f"/api/cases/{by_api.pk}", token_for(user), {"assignee": zhang.username})
    assert page_answer(page) == api_answer(api) == EXPECTED_CASE_MANAGEMENT[role]
    if role == "agent":  # agents work on the case, so the refusal is the policy's, with its code
        assert api.json()["code"] == "not_allowed"
    assigned = set(Case.objects.filter(pk__in=[by_page.pk, by_api.pk]).values_list("assignee_id", flat=True))
    assert assigned == ({zhang.pk} if EXPECTED_CASE_MANAGEMENT[role] == ALLOWED else {None})


@pytest.mark.parametrize("role", list(EXPECTED_CASE_MANAGEMENT))
def test_moving_a_case_to_another_team_gets_the_same_answer_on_the_page_and_in_the_api(
    client, make_feedback, staffed_team, people, role
):
    user = people[role]
    target = Team.objects.create(name="售后二组", department=staffed_team.department)
    by_page = case_services.open_case([make_feedback("页面转组")], team=staffed_team)
    by_api = case_services.open_case([make_feedback("接口转组")], team=staffed_team)
    client.force_login(user)
    page = client.post(reverse("cases:action", args=[by_page.pk, "team"]), {"team-team": target.pk})
    api = call(client, "patch", f"/api/cases/{by_api.pk}", token_for(user), {"team": target.pk})
    assert page_answer(page) == api_answer(api) == EXPECTED_CASE_MANAGEMENT[role]


def test_a_team_outside_the_managers_department_is_refused_on_the_page_as_in_the_api(
    client, make_feedback, staffed_team, people
):
    manager = people["manager"]
    elsewhere = Team.objects.create(name="物流组")  # no department: not the manager's
    by_page = case_services.open_case([make_feedback("页面转组")], team=staffed_team)
    by_api = case_services.open_case([make_feedback("接口转组")], team=staffed_team)
    client.force_login(manager)
    page = client.post(reverse("cases:action", args=[by_page.pk, "team"]), {"team-team": elsewhere.pk})
    api = call(client, "patch", f"/api/cases/{by_api.pk}", token_for(manager), {"team": elsewhere.pk})
    assert (page.status_code, api.status_code) == (400, 400)
    assert api.json()["code"] == "unknown_team"
    assert set(Case.objects.filter(pk__in=[by_page.pk, by_api.pk]).values_list("team_id", flat=True)) == {
        staffed_team.pk
    }


@pytest.mark.parametrize("role", ["agent", "analyst", "viewer"])
def test_the_services_refuse_what_the_pages_refuse(make_feedback, staffed_team, people, role):
    """Called directly (a task, a script, an API router that forgot to check), a service applies the policy."""
    user = people[role]
    case = case_services.open_case([make_feedback("服务层")], team=staffed_team)
    target = Team.objects.create(name="售后三组", department=staffed_team.department)
    with pytest.raises(PolicyDenied):
        case_services.assign_case(case, people["zhang"], actor=user)
    with pytest.raises(PolicyDenied):
        case_services.change_team(case, target, actor=user)
    case.refresh_from_db()
    assert (case.assignee_id, case.team_id) == (None, staffed_team.pk)


@pytest.mark.parametrize("role", list(EXPECTED_CASE_MANAGEMENT))
def test_compensation_approval_gets_the_same_answer_on_the_page_and_in_the_service(
    client, make_feedback, staffed_team, people, role
):
    user = people[role]
    case = case_services.open_case([make_feedback("要求退款")], team=staffed_team)
    by_page = compensation.propose_compensation(case, people["zhang"], amount="800", reason="质量问题")
    by_service = compensation.propose_compensation(case, people["zhang"], amount="800", reason="质量问题")
    assert by_page.status == by_service.status == CompensationStatus.PENDING  # above an agent's 500
    client.force_login(user)
    page = client.post(reverse("cases:decide", args=[by_page.pk]), {"decision": "approve", "note": ""})
    try:
        compensation.decide_compensation(by_service, user, approve=True)
        service, code = ALLOWED, None
    except compensation.CompensationError as exc:
        service, code = DENIED, exc.code
    assert code in {None, compensation.CompensationErrorCode.NOT_ALLOWED}
    assert page_answer(page) == service == EXPECTED_CASE_MANAGEMENT[role]
    by_page.refresh_from_db()
    assert (by_page.status == CompensationStatus.APPROVED) == (service == ALLOWED)


EXPECTED_METRICS = {"admin": ALLOWED, "manager": ALLOWED, "agent": DENIED, "analyst": ALLOWED, "viewer": ALLOWED}


@pytest.mark.parametrize("role", list(EXPECTED_METRICS))
def test_metric_exports_get_the_same_answer_on_the_page_and_in_the_api(client, people, role):
    user = people[role]
    client.force_login(user)
    page = client.get(reverse("metrics:export", args=["csv"]), {"table": "kpis"})
    api = call(client, "get", "/api/metrics/tables/kpis", token_for(user, ["metrics:read"]))
    assert page.status_code in {200, 403} and api.status_code in {200, 403}
    answers = {ALLOWED if r.status_code == 200 else DENIED for r in (page, api)}
    assert answers == {EXPECTED_METRICS[role]}
    assert has(user, Capability.READ_METRICS) == (EXPECTED_METRICS[role] == ALLOWED)


def test_opening_a_case_for_feedback_in_another_teams_case_does_not_reveal_that_case(
    client, make_feedback, staffed_team, people
):
    """Issue 15.10: the agent gets 404 for the other team's case, so the refusal must not name it."""
    logistics = Team.objects.create(name="物流组")
    make_feedback("先来的反馈")
    item = make_feedback("物流太慢了")  # the feedback item's id, other than the case's
    theirs = case_services.open_case([item], team=logistics)
    token = token_for(people["agent"])
    assert call(client, "get", f"/api/cases/{theirs.pk}", token).status_code == 404
    response = call(client, "post", "/api/cases", token, {"feedback_ids": [item]})
    assert response.json()["code"] == "feedback_in_open_case"
    detail = response.json()["detail"]
    assert str(item) in detail
    assert item != theirs.pk and str(theirs.pk) not in detail.replace(str(item), "")
    # Someone who can open that case is told which one it is.
    admin_response = call(client, "post", "/api/cases", token_for(people["admin"]), {"feedback_ids": [item]})
    assert str(theirs.pk) in admin_response.json()["detail"].replace(str(item), "")


@pytest.mark.parametrize("role", list(EXPECTED_CASE_MANAGEMENT))
def test_compensation_approval_gets_the_same_answer_on_the_page_and_in_the_api(
    client, make_feedback, staffed_team, people, role
):
    user = people[role]
    case = case_services.open_case([make_feedback("要求退款")], team=staffed_team)
    by_page = compensation.propose_compensation(case, people["zhang"], amount="800", reason="质量问题")
    by_api = compensation.propose_compensation(case, people["zhang"], amount="800", reason="质量问题")
    client.force_login(user)
    page = client.post(reverse("cases:decide", args=[by_page.pk]), {"decision": "approve", "note": ""})
    api = call(
        client, "post", f"/api/cases/{case.pk}/compensations/{by_api.pk}/decision", token_for(user), {"approve": True}
    )
    assert page_answer(page) == api_answer(api) == EXPECTED_CASE_MANAGEMENT[role]
    if api.status_code == 403:
        assert api.json()["code"] == "not_allowed"
    else:
        assert api.json()["status"] == "approved" and api.json()["decided_by"] == user.get_username()
    statuses = set(
        Compensation.objects.filter(pk__in=[by_page.pk, by_api.pk]).values_list("status", flat=True)
    )
    assert statuses == {CompensationStatus.APPROVED if EXPECTED_CASE_MANAGEMENT[role] == ALLOWED else CompensationStatus.PENDING}
