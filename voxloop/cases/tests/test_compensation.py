"""Compensation within per-role authority: limit boundaries, bad amounts, the approval flow and its events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from voxloop.accounts.models import Role, User
from voxloop.cases.compensation import (
    CompensationError,
    CompensationErrorCode,
    decide_compensation,
    parse_amount,
    propose_compensation,
)
from voxloop.cases.models import CaseEvent, CompensationLimit, CompensationStatus, EventKind
from voxloop.cases.services import open_case, resolve_case, set_status


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def case(make_feedback, staffed_team):
    return open_case([make_feedback()], team=staffed_team)


@pytest.fixture
def agent_wang(team_agents) -> User:
    return team_agents[0]


@pytest.fixture
def boss(staffed_team) -> User:
    return staffed_team.department.manager


@pytest.fixture
def root(db) -> User:
    return User.objects.create_user("root-admin", password="x", role=Role.ADMIN)


def events(case) -> list[dict]:
    return list(CaseEvent.objects.filter(case=case, kind=EventKind.COMPENSATION).values_list("payload", flat=True))


@pytest.mark.parametrize(
    ("amount", "status"),
    [("500", "approved"), ("500.00", "approved"), ("0.01", "approved"), ("500.01", "pending"), ("12000", "pending")],
)
def test_agent_limit_boundary(case, agent_wang, amount, status):
    comp = propose_compensation(case, agent_wang, amount=amount, kind="refund", reason="快递延误")
    assert comp.status == status
    assert comp.amount == Decimal(amount)
    [payload] = events(case)
    assert payload["action"] == "proposed"
    assert payload["amount"] == str(Decimal(amount).quantize(Decimal("0.01")))
    assert payload["currency"] == "CNY"
    assert payload["status"] == status


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("-5", "greater than zero"),
        ("0", "greater than zero"),
        ("abc", "abc is not a number"),
        ("", "Enter an amount."),
        ("NaN", "is not a number"),
        ("1.234", "two decimal places"),
        ("1e20", "too large"),
    ],
)
def test_bad_amounts_are_refused_with_a_message(case, agent_wang, amount, message):
    with pytest.raises(CompensationError) as exc:
        propose_compensation(case, agent_wang, amount=amount, kind="refund", reason="x")
    assert exc.value.code == CompensationErrorCode.BAD_AMOUNT
    assert message in exc.value.message
    assert events(case) == []


def test_amounts_with_thousands_separators_are_read():
    assert parse_amount("1,200.50") == Decimal("1200.50")


def test_reason_and_kind_are_required(case, agent_wang):
    with pytest.raises(CompensationError) as exc:
        propose_compensation(case, agent_wang, amount="10", kind="refund", reason="  ")
    assert exc.value.code == CompensationErrorCode.REASON_REQUIRED
    with pytest.raises(CompensationError) as exc:
        propose_compensation(case, agent_wang, amount="10", kind="bitcoin", reason="x")
    assert exc.value.code == CompensationErrorCode.BAD_KIND


def test_analysts_cannot_offer_compensation(case, analyst):
    with pytest.raises(CompensationError) as exc:
        propose_compensation(case, analyst, amount="10", reason="x")
    assert exc.value.code == CompensationErrorCode.NOT_ALLOWED


def test_limits_come_from_the_table_when_set(case, agent_wang):
    CompensationLimit.objects.update_or_create(role=Role.AGENT, defaults={"max_amount": Decimal("100")})
    assert propose_compensation(case, agent_wang, amount="100", reason="x").status == "approved"
    assert propose_compensation(case, agent_wang, amount="100.01", reason="x").status == "pending"


def test_manager_approves_within_limit_but_not_above(case, agent_wang, boss, root):
    small = propose_compensation(case, agent_wang, amount="800", reason="商品损坏")
    big = propose_compensation(case, agent_wang, amount="5000.01", reason="严重损失")
    decided = decide_compensation(small, boss, approve=True, note="同意")
    assert (decided.status, decided.decided_by, decided.decision_note) == ("approved", boss, "同意")
    with pytest.raises(CompensationError) as exc:
        decide_compensation(big, boss, approve=True)
    assert exc.value.code == CompensationErrorCode.ABOVE_LIMIT
    assert "administrator must approve" in exc.value.message
    big.refresh_from_db()
    assert big.status == CompensationStatus.PENDING
    assert decide_compensation(big, root, approve=True).status == "approved"
    assert [(e["action"], e["status"]) for e in events(case)] == [
        ("proposed", "pending"),
        ("proposed", "pending"),
        ("approved", "approved"),
        ("approved", "approved"),
    ]


def test_reject_needs_a_reason_and_a_decision_happens_once(case, agent_wang, boss, root):
    comp = propose_compensation(case, agent_wang, amount="900", reason="x")
    with pytest.raises(CompensationError) as exc:
        decide_compensation(comp, boss, approve=False, note="")
    assert exc.value.code == CompensationErrorCode.REASON_REQUIRED
    assert decide_compensation(comp, boss, approve=False, note="已补发商品").status == "rejected"
    with pytest.raises(CompensationError) as exc:
        decide_compensation(comp, root, approve=True)
    assert exc.value.code == CompensationErrorCode.ALREADY_DECIDED
    assert events(case)[-1] == {
        "action": "rejected",
        "amount": "900.00",
        "currency": "CNY",
        "status": "rejected",
        "compensation_kind": "refund",
        "compensation_id": comp.pk,
        "note": "已补发商品",
    }


def test_agents_cannot_decide_and_nobody_decides_their_own_request(case, agent_wang, boss):
    comp = propose_compensation(case, agent_wang, amount="900", reason="x")
    with pytest.raises(CompensationError) as exc:
        decide_compensation(comp, agent_wang, approve=True)
    assert exc.value.code == CompensationErrorCode.NOT_ALLOWED
    own = propose_compensation(case, boss, amount="6000", reason="x")
    assert own.status == "pending"
    with pytest.raises(CompensationError) as exc:
        decide_compensation(own, boss, approve=False, note="no")
    assert exc.value.code == CompensationErrorCode.OWN_REQUEST


def test_compensation_on_a_resolved_case_is_allowed_but_not_on_a_closed_one(case, agent_wang):
    resolve_case(case, agent_wang, root_cause="logistics", resolution="ok")
    assert propose_compensation(case, agent_wang, amount="50", reason="x").status == "approved"
    set_status(case, "closed", agent_wang)
    with pytest.raises(CompensationError) as exc:
        propose_compensation(case, agent_wang, amount="50", reason="x")
    assert exc.value.code == CompensationErrorCode.CASE_CLOSED


# --- through the pages ----------------------------------------------------------------------------------------


def test_approval_flow_through_the_pages(client, case, agent_wang, boss, root):
    client.force_login(agent_wang)
    url = reverse("cases:action", args=[case.pk, "compensation"])
    response = client.post(
        url, {"compensation-amount": "-3", "compensation-kind": "refund", "compensation-reason": "x"}
    )
    assert response.status_code == 400
    assert "The amount must be greater than zero." in response.content.decode()
    response = client.post(
        url, {"compensation-amount": "500", "compensation-kind": "voucher", "compensation-reason": "延误"}, follow=True
    )
    assert "Compensation of 500.00 CNY approved." in response.content.decode()
    response = client.post(
        url, {"compensation-amount": "6000", "compensation-kind": "refund", "compensation-reason": "损坏"}, follow=True
    )
    assert "above your limit" in response.content.decode()
    assert client.get(reverse("cases:approvals")).status_code == 403

    client.force_login(boss)
    page = client.get(reverse("cases:approvals"))
    [pending] = page.context["pending"]
    assert pending.amount == Decimal("6000")
    html = page.content.decode()
    assert "above your limit: an administrator approves" in html
    response = client.post(reverse("cases:decide", args=[pending.pk]), {"decision": "approve"}, follow=True)
    assert "above your approval limit of 5000" in response.content.decode()

    client.force_login(root)
    response = client.post(
        reverse("cases:decide", args=[pending.pk]), {"decision": "approve", "note": "特批"}, follow=True
    )
    assert "Compensation approved." in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == "approved"
    html = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "Compensation of 6000.00 CNY approved." in html


def test_approvals_page_lists_only_visible_cases(client, case, agent_wang, make_feedback):
    from voxloop.accounts.models import Department, Team

    other_team = Team.objects.create(name="别的组", department=Department.objects.create(name="别的部门"))
    other_manager = User.objects.create_user("other-mgr", password="x", role=Role.MANAGER)
    assert other_team.department is not None
    other_team.department.manager = other_manager
    other_team.department.save()
    propose_compensation(case, agent_wang, amount="900", reason="x")
    client.force_login(other_manager)
    assert client.get(reverse("cases:approvals")).context["pending"] == []
