"""The actions pages as a user sees them, in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from voxloop.accounts.models import Department
from voxloop.actions import services
from voxloop.actions.models import ActionStatus, ImprovementAction
from voxloop.actions.tests.fixtures import implement, seed_feedback


@pytest.fixture
def department(db, manager):
    return Department.objects.create(name="物流部", name_en="Logistics", manager=manager)


def measured_action(manager, agent, department):
    today = timezone.localdate()
    implemented = today - timedelta(days=31)
    seed_feedback(
        implemented - timedelta(days=95),
        126,
        per_day=30,
        rate_before=0.25,
        rate_after=0.12,
        change_on=implemented,
        seed=5,
    )
    action = services.create_action(
        manager,
        title="换快递公司",
        department=department,
        owner=agent,
        due_date=today - timedelta(days=40),
        topics=["delivery"],
        plan="切换",
    )
    implement(manager, agent, action, implemented)
    services.measure_now(agent, action)
    return action


def test_detail_shows_the_verdict_with_its_numbers_in_both_languages(client, manager, agent, department):
    action = measured_action(manager, agent, department)
    client.force_login(manager)
    zh = client.get(f"/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "有效" in zh and "95%" in zh and 'data-insight-chart="effect"' in zh
    client.cookies.load({"django_language": "en"})
    en = client.get(f"/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Effective" in en and "Complaints fell by" in en and "Close as effective" in en
    assert "None" not in en.replace('"None"', "")


def test_list_puts_overdue_first_and_filters_by_tab(client, manager, agent, department):
    today = timezone.localdate()
    later = services.create_action(
        manager, title="later", department=department, owner=agent, due_date=today + timedelta(days=5)
    )
    late = services.create_action(
        manager, title="late", department=department, owner=agent, due_date=today - timedelta(days=2)
    )
    client.force_login(agent)
    page = client.get("/actions/?tab=mine").content.decode()
    assert page.index("late") < page.index("later") and "overdue" in page
    client.force_login(manager)
    assert "later" not in client.get("/actions/?tab=mine").content.decode()
    assert "later" in client.get("/actions/?tab=department").content.decode()
    assert later.pk and late.pk


def test_create_from_a_pareto_bar_prefills_the_scope_and_freezes_a_baseline(client, manager, agent, department):
    client.force_login(manager)
    form = client.get("/actions/new/?origin=pareto&topics=delivery&channels=webform&title=快递慢").content.decode()
    assert 'value="delivery"' in form and 'value="pareto"' in form
    response = client.post("/actions/new/", {
        "title": "快递慢", "action_type": "corrective", "department": department.pk, "owner": agent.pk,
        "due_date": "2030-01-01", "topics": "delivery", "channels": ["webform"], "origin": "pareto",
    })  # fmt: skip
    action = ImprovementAction.objects.get()
    assert response.status_code == 302 and action.origin == "pareto" and action.channels == ["webform"]
    assert action.baseline["first"]
    bad = client.post("/actions/new/", {"title": "", "department": department.pk})
    assert bad.status_code == 200 and ImprovementAction.objects.count() == 1


def test_status_buttons_change_the_action_and_refuse_clearly(client, manager, agent, department):
    action = services.create_action(
        manager, title="x", department=department, owner=agent, due_date=timezone.localdate()
    )
    client.force_login(agent)
    client.post(f"/actions/{action.pk}/status/", {"transition": "approve"})
    assert ImprovementAction.objects.get(pk=action.pk).status == ActionStatus.PROPOSED
    client.force_login(manager)
    client.post(f"/actions/{action.pk}/status/", {"transition": "approve"})
    client.force_login(agent)
    response = client.post(f"/actions/{action.pk}/status/", {"transition": "start"}, follow=True)
    assert "plan" in response.content.decode().lower() or "计划" in response.content.decode()
    client.post(f"/actions/{action.pk}/status/", {"transition": "start", "plan": "do it"})
    assert ImprovementAction.objects.get(pk=action.pk).status == ActionStatus.IN_PROGRESS
    client.post(f"/actions/{action.pk}/tasks/", {"title": "call the carrier"})
    client.post(f"/actions/{action.pk}/comments/", {"text": "started"})
    page = client.get(f"/actions/{action.pk}/").content.decode()
    assert "call the carrier" in page and "started" in page


def test_the_detail_page_shows_customer_outcomes_and_answers_linked_cases(client, manager, agent, department):
    from voxloop.cases.models import Case, CaseStatus
    from voxloop.cases.services import open_case
    from voxloop.feedback.ingest import FeedbackInput, ingest_feedback

    action = measured_action(manager, agent, department)
    stored = ingest_feedback([FeedbackInput(
        text="快递一周还没到", channel="email", received_at=timezone.now(), source="t", external_id="p-1",
        customer_id="C-9", email="c9@example.com",
    )])  # fmt: skip
    case = open_case(stored.created)
    services.link_cases(manager, action, [case])
    client.force_login(manager)
    page = client.get(f"/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="outcome-numbers"' in page and 'data-metric="repeat_rate"' in page
    assert "No orders are imported for these days" in page  # said, not hidden
    assert "1 linked case is still open." in page
    client.post(f"/actions/{action.pk}/public-note/", {"public_note": "我们换了快递公司。"})
    response = client.post(f"/actions/{action.pk}/answer-cases/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "linked cases were answered and resolved" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.RESOLVED
    zh = client.get(f"/actions/{action.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "受影响客户的结果指标" in zh and "我们换了快递公司。" in zh


def test_a_manager_sees_their_departments_open_overdue_and_outcomes(client, manager, agent, department):
    today = timezone.localdate()
    for i, due in enumerate((5, -2, -9)):
        services.create_action(manager, title=f"a{i}", department=department, owner=agent,
                               due_date=today + timedelta(days=due))  # fmt: skip
    done = services.create_action(manager, title="done", department=department, owner=agent, due_date=today)
    ImprovementAction.objects.filter(pk=done.pk).update(status=ActionStatus.CLOSED_EFFECTIVE)
    other = Department.objects.create(name="财务部")
    services.create_action(manager, title="not mine", department=other, owner=agent, due_date=today - timedelta(days=3))
    client.force_login(manager)
    page = client.get("/actions/?tab=department", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = page[page.index(f'data-department="{department.pk}"') :].split("</tr>")[0]
    cells = [c.split("<")[0] for c in row.split("<td>")[2:]]
    assert cells[0] == "3" and ">2</strong>" in row and cells[2:] == ["1", "0"]  # open, overdue, effective, not
    assert f'data-department="{other.pk}"' not in page  # a department I neither manage nor belong to
