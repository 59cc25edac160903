"""Bulk actions on the case list and the feedback list: every row is checked and changed on its own, and the
summary says what was done and what was refused, and why, in the reader's language."""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from voxloop.accounts.models import Department, Role, Team, User
from voxloop.automation.models import FeedbackTag
from voxloop.cases.bulk import BulkError, BulkParams, run_case_action, run_feedback_action
from voxloop.cases.models import Case, CaseFeedback, CaseStatus, Severity
from voxloop.cases.services import open_case, resolve_case, set_status


@pytest.fixture
def cases(make_feedback, staffed_team) -> list[Case]:
    """Two cases of the staffed team, one of another team."""
    other = Team.objects.create(name="物流组", department=Department.objects.create(name="物流部"))
    now = timezone.now()
    return [
        open_case([make_feedback("快递没到")], Severity.NORMAL, team=staffed_team, now=now),
        open_case([make_feedback("包装破损", customer_id="C-2")], Severity.NORMAL, team=staffed_team, now=now),
        open_case([make_feedback("发票错误", customer_id="C-3")], Severity.NORMAL, team=other, now=now),
    ]


@pytest.fixture
def manager(db, staffed_team) -> User:
    user = User.objects.create_user("bulk-manager", password="x", role=Role.MANAGER)
    user.teams.add(staffed_team)
    return user


def ids(*cases: Case) -> list[str]:
    return [str(c.pk) for c in cases]


def test_an_agent_changes_the_severity_of_the_cases_of_their_team_only(cases, wang):
    result = run_case_action(wang, ids(*cases), "severity", BulkParams(severity=Severity.URGENT))
    assert result.done == [cases[0].number, cases[1].number]
    assert result.refused == [(f"#{cases[2].pk}", "No such case, or you cannot see it.")]
    assert {c.severity for c in Case.objects.filter(pk__in=[cases[0].pk, cases[1].pk])} == {Severity.URGENT}
    assert Case.objects.get(pk=cases[2].pk).severity == Severity.NORMAL


def test_an_agent_may_take_cases_but_not_assign_them_to_others(cases, wang, team_agents):
    other_agent = team_agents[1]
    refused = run_case_action(wang, ids(cases[0]), "assign", BulkParams(assignee_id=other_agent.pk))
    assert refused.done == []
    assert refused.refused == [(cases[0].number, "Only managers and administrators assign cases to other people.")]
    taken = run_case_action(wang, ids(cases[0], cases[1]), "assign", BulkParams(assignee_id=wang.pk))
    assert taken.done == [cases[0].number, cases[1].number]
    assert set(Case.objects.filter(assignee=wang).values_list("pk", flat=True)) == {cases[0].pk, cases[1].pk}


def test_a_manager_assigns_and_a_refused_row_does_not_stop_the_others(cases, manager, team_agents):
    agent = team_agents[1]
    set_status(cases[1], CaseStatus.PENDING_CUSTOMER, manager)
    result = run_case_action(manager, ids(cases[0], cases[1]), "status", BulkParams(status=CaseStatus.PENDING_CUSTOMER))
    assert result.done == [cases[0].number]
    assert result.refused[0][0] == cases[1].number
    assert result.refused[0][1] == (
        "A case cannot go from Waiting on customer to Waiting on customer here (resolve and reopen have their own actions)."
    )
    assigned = run_case_action(manager, ids(cases[0], cases[1]), "assign", BulkParams(assignee_id=agent.pk))
    assert assigned.done == [cases[0].number, cases[1].number]


def test_the_reasons_are_in_the_readers_language(cases, wang, team_agents):
    with translation.override("zh-hans"):
        result = run_case_action(wang, ids(cases[0], cases[2]), "assign", BulkParams(assignee_id=team_agents[1].pk))
        assert result.action == "分派"
    assert result.refused == [
        (cases[0].number, "只有经理和管理员可以把工单分配给其他人。"),
        (f"#{cases[2].pk}", "没有这个工单，或者您看不到它。"),
    ]


def test_readers_are_refused_row_by_row(cases, analyst):
    result = run_case_action(analyst, ids(cases[0]), "severity", BulkParams(severity=Severity.URGENT))
    assert result.done == []
    assert result.refused == [(cases[0].number, "Your role may read cases but not change them.")]


def test_tagging_cases_tags_their_feedback(cases, wang):
    result = run_case_action(wang, ids(cases[0], cases[1]), "tag", BulkParams(tag="  回访 优先 "))
    assert result.done == [cases[0].number, cases[1].number]
    tagged = set(FeedbackTag.objects.filter(tag="回访 优先").values_list("feedback_id", flat=True))
    assert tagged == set(CaseFeedback.objects.filter(case__in=cases[:2]).values_list("feedback_id", flat=True))
    again = run_case_action(wang, ids(cases[0]), "tag", BulkParams(tag="回访 优先"))
    assert again.done == [cases[0].number]
    assert FeedbackTag.objects.filter(tag="回访 优先").count() == 2  # no second copy


def test_merging_into_a_case_named_by_number(cases, wang, make_feedback, staffed_team):
    target = cases[0]
    duplicate = open_case([make_feedback("快递还是没到")], team=staffed_team, now=timezone.now())  # customer C-1
    chosen = ids(target, duplicate, cases[1])
    result = run_case_action(wang, chosen, "merge", BulkParams(case_number=target.number.lower()))
    assert result.done == [duplicate.number]
    assert result.refused == [
        (target.number, "This is the case the others are merged into."),
        (cases[1].number, f"Case {cases[1].pk} belongs to another customer and cannot be merged."),
    ]
    assert Case.objects.get(pk=duplicate.pk).merged_into_id == target.pk
    assert Case.objects.get(pk=cases[1].pk).merged_into_id is None


@pytest.mark.parametrize(
    ("action", "params", "message"),
    [
        ("severity", BulkParams(severity="huge"), "Choose the new severity."),
        ("status", BulkParams(status=CaseStatus.RESOLVED), "Choose the new status."),
        ("tag", BulkParams(tag="   "), "Write the tag to add."),
        ("tag", BulkParams(tag="x" * 51), "A tag has at most 50 characters."),
        ("merge", BulkParams(case_number="C9999999"), "There is no case C9999999 that you can see."),
        ("explode", BulkParams(), "Unknown action explode."),
    ],
)
def test_a_request_that_makes_no_sense_changes_nothing(cases, wang, action, params, message):
    with pytest.raises(BulkError) as caught:
        run_case_action(wang, ids(cases[0]), action, params)
    assert caught.value.message == message
    assert Case.objects.get(pk=cases[0].pk).severity == Severity.NORMAL


def test_no_selection_is_an_error(wang, db):
    with pytest.raises(BulkError, match="Select at least one row first."):
        run_case_action(wang, [], "severity", BulkParams(severity=Severity.URGENT))


def test_feedback_is_linked_to_a_case_unless_another_open_case_holds_it(cases, wang, make_feedback):
    free = make_feedback("还有一个问题", customer_id="C-9")
    held = CaseFeedback.objects.get(case=cases[1]).feedback_id
    result = run_feedback_action(
        wang, [str(free), str(held), "999999"], "link", BulkParams(case_number=cases[0].number)
    )
    assert result.done == [f"#{free}"]
    refused = dict(result.refused)
    assert f"already belongs to open case {cases[1].number}" in refused[f"#{held}"]
    assert refused["#999999"] == "No such feedback."
    assert CaseFeedback.objects.filter(case=cases[0], feedback_id=free).exists()


def test_feedback_is_tagged_and_viewers_are_refused(cases, wang, make_feedback, db):
    item = make_feedback("建议增加夜间配送", customer_id="C-8")
    assert run_feedback_action(wang, [str(item)], "tag", BulkParams(tag="建议")).done == [f"#{item}"]
    assert FeedbackTag.objects.filter(feedback_id=item, tag="建议", rule__isnull=True).exists()
    viewer = User.objects.create_user("viewer-1", password="x", role=Role.VIEWER)
    refused = run_feedback_action(viewer, [str(item)], "tag", BulkParams(tag="别的"))
    assert refused.refused == [(f"#{item}", "Your role may not tag feedback.")]


def test_the_list_page_shows_the_summary_after_the_bulk_post(client, cases, wang):
    client.force_login(wang)
    response = client.post(
        "/cases/bulk/",
        {"ids": ids(cases[0], cases[2]), "action": "severity", "severity": "urgent", "next": "/cases/?tab=team"},
    )
    assert (response.status_code, response["Location"]) == (302, "/cases/?tab=team")
    page = client.get("/cases/?tab=team").content.decode()
    # The agent's language is Chinese (the site default): the summary and its reasons are too.
    assert "修改严重程度：处理结果" in page
    assert "已完成 1 行" in page and cases[0].number in page
    assert "1 行被拒绝" in page and "没有这个工单，或者您看不到它。" in page
    assert "处理结果" not in client.get("/cases/?tab=team").content.decode()  # shown once


def test_a_bulk_post_to_another_site_goes_back_to_the_list(client, cases, wang):
    client.force_login(wang)
    response = client.post(
        "/cases/bulk/", {"ids": ids(cases[0]), "action": "tag", "tag": "x", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/cases/"


def test_the_feedback_list_shows_the_bulk_bar_and_the_summary(client, cases, wang, make_feedback):
    item = make_feedback("建议增加夜间配送", customer_id="C-8")
    client.force_login(wang)
    page = client.get("/feedback/").content.decode()
    assert 'id="bulk-form"' in page and f'value="{item}" form="bulk-form"' in page
    client.post("/cases/bulk/feedback/", {"ids": [str(item)], "action": "tag", "tag": "夜间", "next": "/feedback/"})
    page = client.get("/feedback/").content.decode()
    assert "添加标签：处理结果" in page and f"#{item}" in page


def test_resolved_cases_can_be_closed_in_bulk(cases, manager):
    resolve_case(cases[0], manager, root_cause="logistics", resolution="补发")
    result = run_case_action(manager, ids(cases[0]), "status", BulkParams(status=CaseStatus.CLOSED))
    assert result.done == [cases[0].number]
    assert Case.objects.get(pk=cases[0].pk).status == CaseStatus.CLOSED
