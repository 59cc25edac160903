"""The inbox's queues: what each list holds and in which order, the counts on the tabs (and their refresh
without a reload), and a user's own saved views."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from voxloop.accounts.models import Role, User
from voxloop.cases import queries, saved_views
from voxloop.cases.models import Case, CaseStatus, SavedView, Severity
from voxloop.cases.services import escalate_case, open_case, set_status, take_case
from voxloop.cases.tracking import add_customer_message


@pytest.fixture
def client():
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def new_case(make_feedback, team, due_in: timedelta | None = None, customer_id: str = "C-1") -> Case:
    """An open case of the team whose running clock (resolution; first response already sent) is due in
    ``due_in`` from now (negative: already past)."""
    case = open_case([make_feedback(customer_id=customer_id)], Severity.NORMAL, team=team, now=timezone.now())
    if due_in is not None:
        now = timezone.now()
        Case.objects.filter(pk=case.pk).update(
            first_responded_at=now - timedelta(days=200), resolution_due_at=now + due_in, resolution_warned=False
        )
    return Case.objects.get(pk=case.pk)


def numbers(client, **params) -> list[str]:
    response = client.get(reverse("cases:inbox"), params)
    assert response.status_code == 200
    return [c.number for c in response.context["rows"]]


def tab_counts(client, **params) -> dict[str, int]:
    response = client.get(reverse("cases:inbox"), params)
    return {key: count for key, _label, _qs, count in response.context["tabs"]}


def test_about_to_breach_lists_only_cases_not_yet_breached_soonest_first(client, wang, make_feedback, staffed_team):
    long_ago = new_case(make_feedback, staffed_team, -timedelta(days=167))
    an_hour_ago = new_case(make_feedback, staffed_team, -timedelta(hours=1))
    in_3h = new_case(make_feedback, staffed_team, timedelta(hours=3))
    in_30m = new_case(make_feedback, staffed_team, timedelta(minutes=30))
    in_3d = new_case(make_feedback, staffed_team, timedelta(days=3))
    client.force_login(wang)
    assert numbers(client, tab="breaching") == [in_30m.number, in_3h.number]
    assert numbers(client, tab="breached") == [long_ago.number, an_hour_ago.number]
    counts = tab_counts(client, tab="breaching")
    assert counts["breaching"] == 2 and counts["breached"] == 2
    assert counts["team"] == 5 and counts["unassigned"] == 5 and counts["mine"] == 0
    assert in_3d.number not in numbers(client, tab="breaching") + numbers(client, tab="breached")
    html = client.get(reverse("cases:inbox"), {"tab": "breached"}).content.decode()
    assert "the most overdue first" in html


def test_a_warned_case_due_beyond_the_horizon_is_about_to_breach(client, wang, make_feedback, staffed_team):
    warned = new_case(make_feedback, staffed_team, timedelta(days=2))
    Case.objects.filter(pk=warned.pk).update(resolution_warned=True)
    client.force_login(wang)
    assert numbers(client, tab="breaching") == [warned.number]


def test_waiting_on_customer_longest_waiting_first(client, wang, make_feedback, staffed_team):
    first = new_case(make_feedback, staffed_team)
    second = new_case(make_feedback, staffed_team)
    now = timezone.now()
    set_status(second, CaseStatus.PENDING_CUSTOMER, wang, now=now - timedelta(days=3))
    set_status(first, CaseStatus.PENDING_CUSTOMER, wang, now=now - timedelta(hours=2))
    client.force_login(wang)
    assert numbers(client, tab="waiting") == [second.number, first.number]


def test_escalated_reaches_the_team_and_the_person_escalated_to(client, wang, outsider, make_feedback, staffed_team):
    calm = new_case(make_feedback, staffed_team)
    hot = new_case(make_feedback, staffed_team)
    escalated = escalate_case(hot, wang, reason="beyond my authority")
    client.force_login(wang)
    assert numbers(client, tab="escalated") == [hot.number]
    assert calm.number not in numbers(client, tab="escalated")
    assert tab_counts(client)["escalated"] == 1
    # the person the level named sees it too, although not a member of the team
    event = escalated.events.filter(kind="escalated").last()
    assert event is not None
    target = event.payload.get("to_user_id")
    if target:
        client.force_login(User.objects.get(pk=target))
        assert hot.number in numbers(client, tab="escalated")
    client.force_login(outsider)
    assert numbers(client, tab="escalated") == []


def test_customer_replied_lists_the_latest_customer_message_first(client, wang, make_feedback, staffed_team):
    older = new_case(make_feedback, staffed_team)
    newer = new_case(make_feedback, staffed_team)
    quiet = new_case(make_feedback, staffed_team)
    now = timezone.now()
    add_customer_message(older, "还没有收到退款", now=now - timedelta(hours=5))
    add_customer_message(newer, "请尽快回复", now=now - timedelta(minutes=10))
    add_customer_message(quiet, "上个月的消息", now=now - timedelta(days=30))
    client.force_login(wang)
    assert numbers(client, tab="customer") == [newer.number, older.number]
    assert tab_counts(client)["customer"] == 2


def test_counts_refresh_without_a_reload(client, wang, make_feedback, staffed_team):
    case = new_case(make_feedback, staffed_team)
    client.force_login(wang)
    page = client.get(reverse("cases:inbox")).content.decode()
    assert 'hx-get="/cases/counts/' in page and 'hx-trigger="every 30s, focus from:window"' in page
    fragment = client.get(reverse("cases:counts"), {"tab": "mine"}).content.decode()
    assert 'data-tab="mine"' in fragment and 'data-count="0"' in fragment
    take_case(case, wang)
    response = client.get(reverse("cases:counts"), {"tab": "mine"})
    counts = {key: count for key, _l, _q, count in response.context["tabs"]}
    assert counts["mine"] == 1 and counts["unassigned"] == 0
    assert "<html" not in response.content.decode()


def test_counts_follow_the_filters(client, wang, make_feedback, staffed_team):
    open_case([make_feedback()], Severity.URGENT, team=staffed_team)
    open_case([make_feedback()], Severity.NORMAL, team=staffed_team)
    client.force_login(wang)
    assert tab_counts(client, tab="team")["team"] == 2
    assert tab_counts(client, tab="team", severity="urgent")["team"] == 1


def test_a_manager_sees_any_team_they_oversee(client, make_feedback, staffed_team):
    manager = staffed_team.department.manager
    case = new_case(make_feedback, staffed_team)
    client.force_login(manager)
    assert numbers(client, tab="team") == []  # not a member of any team
    assert numbers(client, tab="team", team=staffed_team.pk) == [case.number]
    assert tab_counts(client, tab="team", team=staffed_team.pk)["team"] == 1


def test_an_agent_cannot_look_into_another_teams_queue(client, outsider, make_feedback, staffed_team):
    new_case(make_feedback, staffed_team)
    client.force_login(outsider)
    assert numbers(client, tab="team", team=staffed_team.pk) == []


def test_save_use_and_delete_a_view(client, wang, make_feedback, staffed_team):
    urgent = open_case([make_feedback()], Severity.URGENT, team=staffed_team)
    open_case([make_feedback()], Severity.NORMAL, team=staffed_team)
    client.force_login(wang)
    response = client.post(
        reverse("cases:save_view"), {"name": "  紧急  未分配 ", "tab": "unassigned", "severity": "urgent"}
    )
    view = SavedView.objects.get(user=wang)
    assert view.name == "紧急 未分配"
    assert response.status_code == 302 and response["Location"].endswith(f"?{view.query}")
    page = client.get(response["Location"])
    assert [c.number for c in page.context["rows"]] == [urgent.number]
    assert [(v.name, count) for v, count in page.context["saved_views"]] == [("紧急 未分配", 1)]
    assert "紧急 未分配" in page.content.decode()
    # saving under the same name replaces the filter, not a second view
    client.post(reverse("cases:save_view"), {"name": "紧急 未分配", "tab": "team"})
    assert SavedView.objects.filter(user=wang).count() == 1
    # another user's view is nobody else's to delete
    other = User.objects.create_user("other-agent", password="x", role=Role.AGENT)
    client.force_login(other)
    assert client.post(reverse("cases:delete_view", args=[view.pk])).status_code == 404
    assert client.get(reverse("cases:inbox")).context["saved_views"] == []
    client.force_login(wang)
    client.post(reverse("cases:delete_view", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_a_view_without_a_name_or_with_a_bad_filter_is_refused(client, wang, staffed_team):
    client.force_login(wang)
    response = client.post(reverse("cases:save_view"), {"name": " ", "tab": "team"}, follow=True)
    assert "Give the view a name." in response.content.decode()
    response = client.post(reverse("cases:save_view"), {"name": "x", "tab": "team", "severity": "huge"}, follow=True)
    assert "Correct the filter before saving it" in response.content.decode()
    assert not SavedView.objects.exists()


def test_saved_views_are_limited_per_user(wang):
    filters = queries.CaseInboxFilters(tab="team")
    for n in range(saved_views.MAX_VIEWS_PER_USER):
        saved_views.save_view(wang, f"view {n}", filters)
    with pytest.raises(saved_views.SavedViewError):
        saved_views.save_view(wang, "one more", filters)


def test_queues_in_chinese(wang, make_feedback, staffed_team):
    new_case(make_feedback, staffed_team, -timedelta(days=1))
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(wang)
    html = client.get(reverse("cases:inbox"), {"tab": "breached"}).content.decode()
    for label in ("即将超时", "已超时", "升级给我/我的团队", "客户新回复", "保存为视图"):
        assert label in html, label
    assert "最超时的在前" in html


def test_queues_in_a_browser_show_counts_and_refresh_them(login_page, live_server, wang, make_feedback, staffed_team):
    overdue = new_case(make_feedback, staffed_team, -timedelta(days=167))
    soon = new_case(make_feedback, staffed_team, timedelta(minutes=40))
    later = new_case(make_feedback, staffed_team, timedelta(hours=3))
    wang.set_password("pw-for-tests")
    wang.save()
    page = login_page(wang)
    page.goto(f"{live_server.url}/cases/?tab=breaching")
    rows = page.locator("tr.case-row td.case-number a").all_inner_texts()
    assert rows == [soon.number, later.number]
    assert page.locator('[data-tab="breached"] .tab-count').inner_text() == "1"
    assert page.locator('[data-tab="mine"] .tab-count').inner_text() == "0"
    # somebody (here: the agent elsewhere) takes a case; the tab's count follows without a reload
    take_case(overdue, wang)
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(page.locator('[data-tab="mine"] .tab-count')).to_have_text("1")
    # save the list as a view and come back to it
    page.fill("form.save-view input[name=name]", "快超时")
    page.click("form.save-view button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator(".saved-views a", has_text="快超时").count() == 1
    page.goto(f"{live_server.url}/cases/?tab=all")
    page.click(".saved-views a:has-text('快超时')")
    page.wait_for_load_state("networkidle")
    assert page.locator("tr.case-row td.case-number a").all_inner_texts() == [soon.number, later.number]
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.locator('[data-tab="breached"]').is_visible()


@pytest.mark.parametrize("tab", ["breached", "customer", "waiting"])
def test_every_list_pages_with_its_own_order(client, wang, make_feedback, staffed_team, monkeypatch, tab):
    monkeypatch.setattr(queries, "INBOX_PAGE_SIZE", 2)
    now = timezone.now()
    expected = []
    for i in range(5):
        case = new_case(make_feedback, staffed_team, -timedelta(hours=10 - i))
        if tab == "customer":
            add_customer_message(case, f"第{i}条消息", now=now - timedelta(hours=10 - i))
        if tab == "waiting":
            set_status(case, CaseStatus.PENDING_CUSTOMER, wang, now=now - timedelta(hours=10 - i))
        expected.append(case.number)
    if tab == "customer":
        expected.reverse()  # the latest message first
    client.force_login(wang)
    seen, cursor = [], ""
    for _ in range(5):
        params = {"tab": tab, "after": cursor} if cursor else {"tab": tab}
        response = client.get(reverse("cases:inbox"), params, HTTP_HX_REQUEST="true" if cursor else "")
        seen += [c.number for c in response.context["rows"]]
        cursor = response.context["next_cursor"]
        if not cursor:
            break
    assert seen == expected
