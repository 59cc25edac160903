"""The agent's case pages through the test client: inbox tabs and filters, permissions, the case page and
every action on it, with the errors a person sees when something is not allowed."""

from __future__ import annotations

import base64
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from voxloop.accounts.models import Team, User
from voxloop.analysis.models import Topic
from voxloop.cases import queries
from voxloop.cases.cursors import decode_cursor, encode_cursor
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind, Severity
from voxloop.cases.services import open_case, take_case
from voxloop.feedback.models import Customer


@pytest.fixture
def client():
    """Pages in English, as the assertions are (the Chinese page has its own test)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def zhang(team_agents) -> User:
    return team_agents[1]


def act(client, case: Case, action: str, **data):
    return client.post(reverse("cases:action", args=[case.pk, action]), data)


def kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


# --- inbox ------------------------------------------------------------------------------------------------


def inbox_numbers(client, **params) -> list[str]:
    response = client.get(reverse("cases:inbox"), params)
    assert response.status_code == 200
    return [c.number for c in response.context["rows"]]


def test_inbox_tabs_follow_the_case_from_queue_to_mine(client, wang, team_case):
    client.force_login(wang)
    assert inbox_numbers(client, tab="unassigned") == [team_case.number]
    assert inbox_numbers(client, tab="team") == [team_case.number]
    assert inbox_numbers(client, tab="mine") == []
    take_case(team_case, wang)
    assert inbox_numbers(client, tab="mine") == [team_case.number]
    assert inbox_numbers(client, tab="unassigned") == []
    assert inbox_numbers(client, tab="waiting") == []
    act(client, team_case, "status", **{"status-status": CaseStatus.PENDING_CUSTOMER})
    assert inbox_numbers(client, tab="waiting") == [team_case.number]


def test_inbox_of_another_team_does_not_list_the_case(client, outsider, team_case):
    client.force_login(outsider)
    assert inbox_numbers(client, tab="all") == []
    assert inbox_numbers(client, tab="unassigned") == []


def test_inbox_rows_show_masked_customer_for_analysts_and_a_countdown(client, wang, analyst, team_case):
    Customer.objects.filter(pk=team_case.customer_id).update(name="王小明先生的公司")
    client.force_login(wang)
    html = client.get(reverse("cases:inbox"), {"tab": "team"}).content.decode()
    assert "王小明先生的公司" in html
    assert 'class="countdown' in html and "data-due=" in html
    assert "left" in html
    client.force_login(analyst)
    html = client.get(reverse("cases:inbox"), {"tab": "all"}).content.decode()
    assert team_case.number in html
    assert "王小明先生的公司" not in html
    assert "王**" in html  # a name keeps its first character only (voxloop.accounts.privacy.mask_name)


def test_overdue_cases_are_breached_not_about_to_breach(client, wang, make_feedback, staffed_team):
    """Issue 18.1: "about to breach" holds only cases not yet breached; the overdue ones have their own list
    (this test asserted the old mixed list before)."""
    now = timezone.now()
    overdue = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=now - timedelta(days=10))
    relaxed = open_case([make_feedback()], Severity.NORMAL, team=staffed_team, now=now)
    client.force_login(wang)
    numbers = inbox_numbers(client, tab="breaching")
    assert overdue.number not in numbers
    assert overdue.number in inbox_numbers(client, tab="breached")
    assert relaxed.first_response_due_at is not None
    if relaxed.first_response_due_at > now + timedelta(hours=queries.breaching_soon_hours()):
        assert relaxed.number not in numbers
    html = client.get(reverse("cases:inbox"), {"tab": "breached"}).content.decode()
    assert "countdown overdue" in html
    assert "overdue by" in html


def test_inbox_filters_and_a_bad_filter_is_reported(client, wang, make_feedback, staffed_team):
    urgent = open_case([make_feedback()], Severity.URGENT, team=staffed_team)
    normal = open_case([make_feedback()], Severity.NORMAL, team=staffed_team)
    client.force_login(wang)
    assert inbox_numbers(client, tab="team", severity="urgent") == [urgent.number]
    assert set(inbox_numbers(client, tab="team", assignee="none")) == {urgent.number, normal.number}
    response = client.get(reverse("cases:inbox"), {"tab": "nonsense", "status": "bogus"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unknown tab nonsense" in html
    assert "Unknown status bogus was ignored." in html


def test_inbox_pages_with_a_keyset_cursor(client, wang, make_feedback, staffed_team, monkeypatch):
    monkeypatch.setattr(queries, "INBOX_PAGE_SIZE", 2)
    opened = [open_case([make_feedback()], team=staffed_team).number for _ in range(5)]
    client.force_login(wang)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        response = client.get(reverse("cases:inbox"), {"tab": "all", "after": cursor} if cursor else {"tab": "all"})
        seen += [c.number for c in response.context["rows"]]
        cursor = response.context["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(opened)
    assert len(seen) == len(set(seen))
    # the due-ordered tabs page the same way
    seen, cursor = [], ""
    for _ in range(5):
        response = client.get(reverse("cases:inbox"), {"tab": "team", "after": cursor} if cursor else {"tab": "team"})
        seen += [c.number for c in response.context["rows"]]
        cursor = response.context["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(opened)


def test_inbox_needs_login(client):
    response = client.get(reverse("cases:inbox"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- permissions ------------------------------------------------------------------------------------------


def test_agent_of_another_team_gets_404_for_page_and_actions(client, outsider, team_case):
    client.force_login(outsider)
    assert client.get(reverse("cases:detail", args=[team_case.pk])).status_code == 404
    assert act(client, team_case, "reply", **{"reply-text": "hello"}).status_code == 404
    assert act(client, team_case, "take").status_code == 404
    assert kinds(team_case) == [EventKind.CREATED]


def test_analyst_sees_masked_contact_and_cannot_act(client, analyst, team_case):
    client.force_login(analyst)
    response = client.get(reverse("cases:detail", args=[team_case.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "wang.xiaoming@example.com" not in html
    assert "w***@example.com" in html
    assert "13812345678" not in html
    assert "138****78" in html
    assert 'name="reply-text"' not in html
    assert act(client, team_case, "reply", **{"reply-text": "hi"}).status_code == 403
    assert kinds(team_case) == [EventKind.CREATED]


def test_agent_sees_full_contact_and_the_view_is_audited(client, wang, team_case):
    from voxloop.accounts.models import AuditLog

    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "wang.xiaoming@example.com" in html
    assert AuditLog.objects.filter(user=wang, object_id=str(team_case.pk), customer_id=team_case.customer_id).exists()


def test_only_managers_reassign(client, wang, zhang, team_case, staffed_team):
    client.force_login(wang)
    assert act(client, team_case, "assign", **{"assign-assignee": zhang.pk}).status_code == 403
    manager = staffed_team.department.manager
    client.force_login(manager)
    response = act(client, team_case, "assign", **{"assign-assignee": zhang.pk})
    assert response.status_code == 302
    team_case.refresh_from_db()
    assert team_case.assignee == zhang


def test_assign_choices_are_the_case_team_members(client, team_agents, team_case, staffed_team, outsider):
    manager = staffed_team.department.manager
    client.force_login(manager)
    form = client.get(reverse("cases:detail", args=[team_case.pk])).context["forms"]["assign"]
    names = {u.username for u in form.fields["assignee"].queryset}
    assert names == {"li-lead", "wang-agent", "zhang-agent"}
    response = act(client, team_case, "assign", **{"assign-assignee": outsider.pk})
    assert response.status_code == 400
    assert "Choose a member of the case&#x27;s team." in response.content.decode()


def test_a_manager_moves_a_case_to_another_team_and_its_assignee_lets_go(client, wang, team_case, staffed_team):
    take_case(team_case, wang)
    other = Team.objects.create(name="售后二组", department=staffed_team.department)
    client.force_login(wang)
    assert act(client, team_case, "team", **{"team-team": other.pk}).status_code == 403  # agents cannot
    client.force_login(staffed_team.department.manager)
    assert act(client, team_case, "team", **{"team-team": other.pk}).status_code == 302
    team_case.refresh_from_db()
    assert (team_case.team, team_case.assignee) == (other, None)  # waits in the new team's queue
    page = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert f"Moved from team {staffed_team.name} to team 售后二组." in page


# --- the case page and its actions -------------------------------------------------------------------------


def test_case_page_shows_header_clocks_feedback_and_timeline(client, wang, team_case):
    client.force_login(wang)
    response = client.get(reverse("cases:detail", args=[team_case.pk]))
    html = response.content.decode()
    assert team_case.number in html
    assert "Important" in html
    assert "First response" in html and "Resolution" in html
    feedback_id = team_case.feedback_items.get().pk
    assert reverse("feedback:detail", args=[feedback_id]) in html
    assert "Case opened with severity Important." in html


def test_public_reply_from_the_page_reaches_the_timeline_and_stops_first_response(client, wang, team_case):
    client.force_login(wang)
    response = act(client, team_case, "reply", **{"reply-text": "您好，我们已经联系快递公司。"})
    assert response.status_code == 302
    team_case.refresh_from_db()
    assert team_case.first_responded_at is not None
    event = CaseEvent.objects.get(case=team_case, kind=EventKind.PUBLIC_REPLY)
    assert event.payload["text"] == "您好，我们已经联系快递公司。"
    assert event.actor == wang
    page = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "您好，我们已经联系快递公司。" in page
    assert "Reply sent to the customer." in page
    assert "answered" in page


def test_empty_reply_and_note_show_a_clear_error(client, wang, team_case):
    client.force_login(wang)
    response = act(client, team_case, "reply", **{"reply-text": "   "})
    assert response.status_code == 400
    assert "A reply needs some text." in response.content.decode()
    response = act(client, team_case, "note", **{"note-text": ""})
    assert "A note needs some text." in response.content.decode()
    assert kinds(team_case) == [EventKind.CREATED]


def test_internal_note_is_on_the_timeline_not_public(client, wang, team_case):
    client.force_login(wang)
    act(client, team_case, "note", **{"note-text": "客户很着急"})
    team_case.refresh_from_db()
    assert team_case.first_responded_at is None
    assert CaseEvent.objects.get(case=team_case, kind=EventKind.INTERNAL_NOTE).payload["text"] == "客户很着急"


def test_second_agent_taking_the_same_case_sees_already_taken(client, wang, zhang, team_case):
    client.force_login(wang)
    assert act(client, team_case, "take").status_code == 302
    client.force_login(zhang)
    response = act(client, team_case, "take")
    assert response.status_code == 409
    assert "already taken by wang-agent" in response.content.decode()
    team_case.refresh_from_db()
    assert team_case.assignee == wang


def test_resolve_without_root_cause_or_resolution_shows_the_error(client, wang, team_case):
    client.force_login(wang)
    response = act(client, team_case, "resolve", **{"resolve-root_cause": "", "resolve-resolution": "退款已完成"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose a root cause before resolving the case." in html
    response = act(client, team_case, "resolve", **{"resolve-root_cause": "logistics", "resolve-resolution": ""})
    assert "Describe the resolution before resolving the case." in response.content.decode()
    response = act(client, team_case, "resolve", **{"resolve-root_cause": "no-such-topic", "resolve-resolution": "x"})
    assert "Choose a root cause from the taxonomy." in response.content.decode()
    team_case.refresh_from_db()
    assert team_case.status == CaseStatus.NEW


def test_resolve_with_a_taxonomy_topic_then_reopen(client, wang, team_case):
    topic = Topic.objects.filter(is_active=True).first()
    assert topic is not None, "the default taxonomy ships with topics"
    client.force_login(wang)
    response = act(
        client, team_case, "resolve", **{"resolve-root_cause": topic.code, "resolve-resolution": "补发了商品"}
    )
    assert response.status_code == 302
    team_case.refresh_from_db()
    assert (team_case.status, team_case.root_cause, team_case.resolution) == ("resolved", topic.code, "补发了商品")
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert topic.display_name("en") in html
    assert 'name="reply-text"' not in html  # no public reply on a resolved case; reopen first
    assert 'name="status-status"' in html  # resolved -> closed by hand
    assert act(client, team_case, "status", **{"status-status": "closed"}).status_code == 302
    team_case.refresh_from_db()
    assert team_case.status == CaseStatus.CLOSED
    assert act(client, team_case, "reopen", **{"reopen-reason": "客户说还没收到"}).status_code == 302
    team_case.refresh_from_db()
    assert team_case.status == CaseStatus.REOPENED


def test_service_errors_show_as_messages_not_500(client, wang, team_case):
    client.force_login(wang)
    # Reopening an open case is not allowed: the service's message, status 400.
    response = act(client, team_case, "reopen")
    assert response.status_code == 400
    assert "Only a resolved or closed case can be reopened" in response.content.decode()
    response = act(client, team_case, "status", **{"status-status": "resolved"})
    assert response.status_code == 400
    response = client.post(reverse("cases:action", args=[team_case.pk, "no-such-action"]))
    assert response.status_code == 404


def test_waiting_on_customer_shows_paused_clocks(client, wang, team_case):
    client.force_login(wang)
    act(client, team_case, "status", **{"status-status": CaseStatus.PENDING_CUSTOMER})
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "paused (waiting on customer)" in html
    assert "Waiting on customer" in html


def test_change_severity_and_escalate_on_demand(client, wang, team_case):
    client.force_login(wang)
    assert act(client, team_case, "severity", **{"severity-severity": "urgent"}).status_code == 302
    team_case.refresh_from_db()
    assert team_case.severity == Severity.URGENT
    response = act(client, team_case, "escalate", **{"escalate-reason": ""})
    assert response.status_code == 400
    assert "Say why the case needs a higher level." in response.content.decode()
    assert act(client, team_case, "escalate", **{"escalate-reason": "需要主管批准退款"}).status_code == 302
    team_case.refresh_from_db()
    assert team_case.escalation_level == 1
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "Escalated on demand to level 1 (li-lead)." in html
    assert "需要主管批准退款" in html


def test_merge_into_another_case_by_number(client, wang, team_case, make_feedback, staffed_team):
    target = open_case([make_feedback(customer_id="C-1")], team=staffed_team)
    client.force_login(wang)
    response = act(client, team_case, "merge", **{"merge-number": "C9999999"})
    assert response.status_code == 400
    assert "There is no case C9999999 that you can see." in response.content.decode()
    response = act(client, team_case, "merge", **{"merge-number": target.number.lower()})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[target.pk])
    team_case.refresh_from_db()
    assert team_case.merged_into == target
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "This case was merged into" in html
    # replying on the merged case: the service's message, not a 500
    response = act(client, team_case, "note", **{"note-text": "x"})
    assert response.status_code == 400
    assert "was merged into case" in response.content.decode()


def test_link_another_feedback_item(client, wang, team_case, make_feedback):
    extra = make_feedback(text="又来投诉了")
    client.force_login(wang)
    response = act(client, team_case, "link", **{"link-feedback_id": "abc"})
    assert "A feedback number is a whole number." in response.content.decode()
    response = act(client, team_case, "link", **{"link-feedback_id": "999999"})
    assert "Feedback 999999 does not exist." in response.content.decode()
    assert act(client, team_case, "link", **{"link-feedback_id": str(extra)}).status_code == 302
    assert set(team_case.feedback_items.values_list("pk", flat=True)) >= {extra}
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert f"Feedback #{extra} linked." in html
    response = act(client, team_case, "link", **{"link-feedback_id": str(extra)})
    assert "already linked to this case" in response.content.decode()


def test_timeline_renders_every_event_kind_readably(wang, team_case):
    names = {wang.pk: "wang-agent"}
    for kind in EventKind.values:
        event = CaseEvent(case=team_case, kind=kind, payload={}, created_at=timezone.now())
        entry = queries.describe_event(event, names, {})
        assert entry.summary, kind
        assert "{" not in entry.summary and "%(" not in entry.summary, (kind, entry.summary)


def test_case_page_in_chinese(client, wang, team_case):
    from django.utils import translation

    client.force_login(wang)
    with translation.override("zh-hans"):
        response = client.get(reverse("cases:detail", args=[team_case.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    html = response.content.decode()
    assert "首次响应" in html or "首次回复" in html
    assert "时间线" in html


@pytest.mark.django_db(transaction=True)
def test_two_agents_taking_at_the_same_moment_one_wins_the_other_is_told(on_postgres, team_agents, team_case):
    """Real concurrency (two connections) through the view: exactly one take wins; the other gets 409 and the
    winner's name, and the timeline records one assignment."""
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, str]] = {}
    url = reverse("cases:action", args=[team_case.pk, "take"])

    def take(user: User) -> None:
        browser = Client(HTTP_ACCEPT_LANGUAGE="en")
        browser.force_login(user)
        barrier.wait()
        response = browser.post(url)
        results[user.username] = (response.status_code, response.content.decode())
        connection.close()

    threads = [threading.Thread(target=take, args=(user,)) for user in team_agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    team_case.refresh_from_db()
    winner = team_case.assignee.username
    loser = next(name for name in results if name != winner)
    assert results[winner][0] == 302
    assert results[loser][0] == 409
    assert f"already taken by {winner}" in results[loser][1]
    assert CaseEvent.objects.filter(case=team_case, kind=EventKind.ASSIGNED).count() == 1


def test_timeline_reads_the_loop_events(client, wang, analyst, team_case):
    now = timezone.now()
    payloads = [
        (EventKind.FOLLOW_UP, {"action": "scheduled", "due_at": now.isoformat()}, "Follow-up scheduled for"),
        (EventKind.FOLLOW_UP, {"action": "outcome", "outcome": "dissatisfied"}, "Follow-up answer: dissatisfied."),
        (EventKind.NOTIFICATION, {"delivery": "failed", "to": "wang.xiaoming@example.com", "reason": "550"}, ""),
        (
            EventKind.COMPENSATION,
            {"action": "proposed", "amount": "600.00", "currency": "CNY", "status": "pending"},
            "",
        ),
    ]
    for kind, payload, _text in payloads:
        CaseEvent.objects.create(case=team_case, kind=kind, payload=payload, created_at=now)
    client.force_login(wang)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "Follow-up scheduled for" in html
    assert "Follow-up answer: dissatisfied." in html
    assert "A message to wang.xiaoming@example.com could not be delivered." in html
    assert "Compensation of 600.00 CNY proposed: Waiting for approval." in html
    client.force_login(analyst)
    html = client.get(reverse("cases:detail", args=[team_case.pk])).content.decode()
    assert "A message to w***@example.com could not be delivered." in html
    assert "wang.xiaoming@example.com" not in html


def test_follow_ups_due_are_listed_in_the_agents_inbox(client, wang, team_case):
    from voxloop.cases.models import FollowUp, FollowUpStatus

    FollowUp.objects.create(case=team_case, due_at=timezone.now(), status=FollowUpStatus.DUE, assignee=wang)
    client.force_login(wang)
    html = client.get(reverse("cases:inbox")).content.decode()
    assert "Follow-ups due" in html
    assert team_case.number in html


def test_team_tab_query_can_use_the_inbox_index(wang, team_case):
    """The migration's expression index must match queries._next_due_expression() exactly, or the "my team's"
    page falls back to sorting every active case of the team (see benchmarks/cases.py)."""
    from django.db.models import F

    if connection.vendor != "postgresql":
        pytest.skip("the inbox index exists on PostgreSQL only (VOXLOOP_TEST_DATABASE_URL)")

    filters = queries.CaseInboxFilters(tab="team")
    query = (
        queries.inbox_queryset(wang, filters, timezone.now())
        .annotate(next_due=queries._next_due_expression())
        .order_by(F("next_due").asc(nulls_last=True), "id")
        .values_list("pk", "next_due")[:31]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = query.explain()
    assert "case_inbox_team_next_due" in plan, plan


@pytest.mark.parametrize(
    "cursor",
    [
        "2025-01-01T00:00:00+20:00_1",  # the inbox's old format, with an offset PostgreSQL cannot store
        base64.urlsafe_b64encode(b"2025-01-01T00:00:00+20:00|1").decode(),
        base64.urlsafe_b64encode(b"null|x").decode(),
        "!!",
    ],
)
def test_a_hand_made_inbox_cursor_shows_the_first_page(client, wang, make_feedback, staffed_team, cursor):
    opened = open_case([make_feedback()], team=staffed_team)
    client.force_login(wang)
    response = client.get(reverse("cases:inbox"), {"tab": "all", "after": cursor})
    assert response.status_code == 200
    assert [c.number for c in response.context["rows"]] == [opened.number]


def test_the_inbox_cursor_round_trips_an_empty_due_time():
    assert decode_cursor(encode_cursor(None, 7)) == (None, 7)


@pytest.mark.parametrize(("language", "shown", "hidden"), [("en", "After-sales team", "售后组"), ("zh-hans", "售后组", "After-sales team")])
def test_team_and_department_names_follow_the_interface_language(client, wang, team_case, language, shown, hidden):
    """A team's English name is what an English reader sees on the case page and in the inbox rows."""
    Team.objects.filter(pk=team_case.team_id).update(name_en="After-sales team")
    client.force_login(wang)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for url, params in ((reverse("cases:detail", args=[team_case.pk]), {}), (reverse("cases:inbox"), {"tab": "team"})):
        html = client.get(url, params).content.decode()
        assert shown in html and hidden not in html, url
