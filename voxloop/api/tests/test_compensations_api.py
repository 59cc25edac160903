"""The compensation endpoints: the case page's rules (limits per role, nobody decides their own request, one
decision wins) through real tokens and the real service."""

from __future__ import annotations

import pytest

from voxloop.accounts.models import Role, Team, User
from voxloop.api.tests.test_cases_api import call, token_for
from voxloop.cases import services as case_services
from voxloop.cases.models import CaseEvent, Compensation, CompensationStatus, EventKind
from voxloop.cases.tests import conftest as case_fixtures

pytestmark = pytest.mark.django_db

english_messages = case_fixtures.english_messages
make_feedback = case_fixtures.make_feedback
sla_defaults = case_fixtures.sla_defaults
staffed_team = case_fixtures.staffed_team
team_agents = case_fixtures.team_agents


@pytest.fixture
def case(make_feedback, staffed_team):
    return case_services.open_case([make_feedback("收到的商品破损，要求退款")], team=staffed_team)


@pytest.fixture
def manager(staffed_team) -> User:
    return User.objects.get(username="mei-manager")


def url(case, comp=None) -> str:
    base = f"/api/cases/{case.pk}/compensations"
    return f"{base}/{comp}/decision" if comp else base


def test_an_agent_within_the_limit_is_approved_at_once_and_above_it_waits(client, case, team_agents):
    wang, _zhang = team_agents
    token = token_for(wang)
    small = call(client, "post", url(case), token, {"amount": "120.50", "kind": "voucher", "reason": "运费补偿"})
    assert small.status_code == 201, small.content
    assert small.json() | {"id": 0, "created_at": None, "decided_at": None} == {
        "id": 0, "case_id": case.pk, "kind": "voucher", "amount": "120.50", "currency": "CNY", "reason": "运费补偿",
        "status": "approved", "requested_by": wang.username, "decided_by": wang.username, "decided_at": None,
        "decision_note": "Within the proposer's own limit.", "created_at": None, "may_approve": False,
        "may_reject": False,
    }  # fmt: skip
    big = call(client, "post", url(case), token, {"amount": 800, "reason": "质量问题"})
    assert big.status_code == 201 and big.json()["status"] == "pending" and big.json()["kind"] == "refund"
    # Both are on the timeline, as when proposed on the page.
    assert CaseEvent.objects.filter(case=case, kind=EventKind.COMPENSATION).count() == 2
    listed = call(client, "get", url(case), token_for(wang, ["cases:read"]))
    assert [row["amount"] for row in listed.json()] == ["800.00", "120.50"]


def test_a_manager_approves_within_five_thousand_and_an_admin_above_it(client, case, team_agents, manager):
    wang, _zhang = team_agents
    request = call(client, "post", url(case), token_for(wang), {"amount": "6000", "reason": "整单退款"}).json()
    assert [row["may_approve"] for row in call(client, "get", url(case), token_for(manager)).json()] == [False]
    refused = call(client, "post", url(case, request["id"]), token_for(manager), {"approve": True})
    assert refused.status_code == 403 and refused.json()["code"] == "above_limit"
    assert "above your approval limit of 5000" in refused.json()["detail"]
    admin = User.objects.create_user("ad-admin", password="x", role=Role.ADMIN)
    approved = call(client, "post", url(case, request["id"]), token_for(admin), {"approve": True, "note": "同意"})
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved" and approved.json()["decided_by"] == "ad-admin"
    again = call(client, "post", url(case, request["id"]), token_for(manager), {"approve": False, "note": "晚了"})
    assert again.status_code == 409 and again.json()["code"] == "already_decided"


def test_refusals_name_their_reason(client, case, team_agents, manager):
    wang, _zhang = team_agents
    token = token_for(manager)
    own = call(client, "post", url(case), token, {"amount": "9000", "reason": "大额"}).json()
    assert call(client, "post", url(case, own["id"]), token, {"approve": False, "note": "x"}).json()["code"] == (
        "own_request"
    )
    theirs = call(client, "post", url(case), token_for(wang), {"amount": "700", "reason": "质量问题"}).json()
    no_note = call(client, "post", url(case, theirs["id"]), token, {"approve": False})
    assert no_note.status_code == 400 and no_note.json()["code"] == "reason_required"
    assert no_note.json()["field"] == "note"
    for body, field in [
        ({"amount": "0", "reason": "x"}, "amount"),
        ({"amount": "12.345", "reason": "x"}, "amount"),
        ({"amount": "abc", "reason": "x"}, "amount"),
        ({"amount": "10", "reason": ""}, "reason"),
        ({"amount": "10", "reason": "x", "kind": "cash"}, "kind"),
        ({"amount": "10", "reason": "x", "amont": "1"}, "amont"),
    ]:
        response = call(client, "post", url(case), token_for(wang), body)
        assert response.status_code == 422, (body, response.content)
        assert field in response.content.decode()
    assert Compensation.objects.filter(case=case).count() == 2


def test_roles_and_teams_that_may_not_act_are_refused(client, case, team_agents, make_feedback):
    wang, _zhang = team_agents
    analyst = User.objects.create_user("an-analyst", password="x", role=Role.ANALYST)
    response = call(client, "post", url(case), token_for(analyst), {"amount": "10", "reason": "x"})
    assert response.status_code == 403
    # Another team's agent cannot see the case: 404 for the list, the proposal and the decision alike.
    outsider = User.objects.create_user("liu-logistics", password="x", role=Role.AGENT)
    outsider.teams.add(Team.objects.create(name="物流组"))
    comp = call(client, "post", url(case), token_for(wang), {"amount": "900", "reason": "质量问题"}).json()
    assert call(client, "get", url(case), token_for(outsider)).status_code == 404
    assert call(client, "post", url(case), token_for(outsider), {"amount": "1", "reason": "x"}).status_code == 404
    assert call(client, "post", url(case, comp["id"]), token_for(outsider), {"approve": True}).status_code == 404
    # A compensation id under another case's path is not found either, even for someone who sees both.
    other = case_services.open_case([make_feedback("另一个投诉")], team=case.team)
    manager = User.objects.get(username="mei-manager")
    assert call(client, "post", url(other, comp["id"]), token_for(manager), {"approve": True}).status_code == 404
    assert Compensation.objects.get(pk=comp["id"]).status == CompensationStatus.PENDING


def test_a_retried_proposal_with_the_same_idempotency_key_is_made_once(client, case, team_agents):
    wang, _zhang = team_agents
    token = token_for(wang)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "comp-retry-1"}
    body = {"amount": "50", "reason": "重复提交"}
    first = client.post(url(case), data=body, content_type="application/json", headers=headers)
    second = client.post(url(case), data=body, content_type="application/json", headers=headers)
    assert first.status_code == second.status_code == 201 and first.json()["id"] == second.json()["id"]
    assert Compensation.objects.filter(case=case).count() == 1


def test_ids_beyond_the_database_range_are_not_found(client, case, team_agents, manager):
    # Schemathesis sent a case id of -1.5e23: on SQLite the related-id lookup raised OverflowError, a 500.
    wang, _zhang = team_agents
    comp = call(client, "post", url(case), token_for(wang), {"amount": "900", "reason": "质量问题"}).json()
    huge = -155373635029072567336960
    token = token_for(manager)
    assert call(client, "post", f"/api/cases/{huge}/compensations/{comp['id']}/decision", token,
                {"approve": False, "note": "x"}).status_code == 404  # fmt: skip
    assert call(client, "post", f"/api/cases/{case.pk}/compensations/{huge}/decision", token,
                {"approve": False, "note": "x"}).status_code == 404  # fmt: skip
    assert call(client, "get", f"/api/cases/{huge}/compensations", token).status_code == 404
    assert (
        call(client, "post", f"/api/cases/{huge}/compensations", token, {"amount": "1", "reason": "x"}).status_code
        == 404
    )
