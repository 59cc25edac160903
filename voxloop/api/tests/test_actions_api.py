"""/api/actions: list with cursors, read, create, status changes, and clear errors."""

from __future__ import annotations

import pytest

from voxloop.accounts.models import Department
from voxloop.actions.models import ActionStatus, ImprovementAction
from voxloop.api.tests.test_cases_api import call, token_for

RW = ["actions:read", "actions:write"]


@pytest.fixture
def department(db, manager):
    return Department.objects.create(name="物流部", name_en="Logistics", manager=manager)


def body(department, agent, **kw):
    return {"title": "换快递", "department": department.pk, "owner": agent.username, "due_date": "2030-01-01",
            "topics": ["delivery"], **kw}  # fmt: skip


def test_create_read_and_move_an_action(client, manager, agent, department):
    token = token_for(manager, RW)
    created = call(client, "post", "/api/actions", token, body(department, agent))
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["status"] == "proposed" and data["baseline"]["first"] and data["effect"] is None
    moved = call(client, "post", f"/api/actions/{data['id']}/status", token, {"transition": "approve"})
    assert moved.status_code == 200 and moved.json()["status"] == "approved"
    again = call(client, "post", f"/api/actions/{data['id']}/status", token, {"transition": "approve"})
    assert again.status_code == 409 and again.json()["code"] == "wrong_status"
    agent_token = token_for(agent, RW)
    no_plan = call(client, "post", f"/api/actions/{data['id']}/status", agent_token, {"transition": "start"})
    assert no_plan.status_code == 400 and no_plan.json()["code"] == "plan_required"
    assert call(client, "get", f"/api/actions/{data['id']}", agent_token).json()["title"] == "换快递"


def test_list_pages_with_a_cursor(client, manager, agent, department):
    token = token_for(manager, RW)
    for i in range(5):
        call(client, "post", "/api/actions", token, body(department, agent, title=f"a{i}"))
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = call(client, "get", "/api/actions", token, **params).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ImprovementAction.objects.values_list("pk", flat=True)) and len(seen) == 5
    assert call(client, "get", "/api/actions", token, cursor="bad!").status_code == 400


def test_errors_are_specific(client, manager, agent, department, db):
    token = token_for(manager, RW)
    assert (
        call(client, "post", "/api/actions", token, body(department, agent, owner="nobody")).json()["field"] == "owner"
    )
    assert call(client, "post", "/api/actions", token, body(department, agent, channels=["pigeon"])).status_code == 400
    assert call(client, "get", "/api/actions/999999", token).status_code == 404
    read_only = token_for(manager, ["actions:read"])
    assert call(client, "post", "/api/actions", read_only, body(department, agent)).status_code == 403
    assert not ImprovementAction.objects.filter(status=ActionStatus.APPROVED).exists()
