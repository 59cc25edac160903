"""Case lifecycle: opening with SLA clocks, replies, pausing, resolving, reopening, escalating, merging."""

from __future__ import annotations

from datetime import timedelta

import pytest

from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent, CaseStatus, EventKind, Severity, SLAPolicy
from voxloop.cases.services import (
    CaseError,
    CaseErrorCode,
    add_reply,
    assign_case,
    escalate_case,
    merge_cases,
    open_case,
    reopen_case,
    resolve_case,
    set_status,
    take_case,
)
from voxloop.cases.sla import sweep_sla
from voxloop.cases.tests.conftest import MONDAY_9, sh


def kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))


def test_open_case_stores_due_times_in_business_hours(make_feedback, agent):
    # Urgent: first response 1 business hour, resolution 8. Friday 17:30 -> first response due Monday 09:30.
    fb = make_feedback()
    case = open_case([fb], Severity.URGENT, actor=agent, now=sh(2026, 11, 27, 17, 30))
    case.refresh_from_db()
    assert case.status == CaseStatus.NEW
    assert case.first_response_due_at == sh(2026, 11, 30, 9, 30)
    assert case.first_response_warn_at == sh(2026, 11, 30, 9, 18)  # 80% of 60 minutes
    assert case.resolution_due_at == sh(2026, 11, 30, 17, 30)  # 0.5h Friday + 3h + 4.5h Monday (lunch skipped)
    assert case.sla_next_check_at == case.first_response_warn_at
    assert case.customer is not None and case.customer.external_id == "C-1"
    assert list(case.feedback_items.values_list("pk", flat=True)) == [fb]
    assert case.number == f"C{case.pk:07d}"
    created = CaseEvent.objects.get(case=case)
    assert created.kind == EventKind.CREATED
    assert created.actor == agent
    assert created.payload["feedback_ids"] == [fb]


def test_tracking_tokens_are_long_and_distinct(make_feedback):
    a = open_case([make_feedback()], now=MONDAY_9)
    b = open_case([make_feedback()], now=MONDAY_9)
    assert len(a.tracking_token) >= 32
    assert a.tracking_token != b.tracking_token


def test_open_case_rejects_bad_input_with_specific_errors(make_feedback):
    fb = make_feedback()
    with pytest.raises(CaseError) as exc:
        open_case([fb, 999_999], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.FEEDBACK_NOT_FOUND
    assert "999999" in exc.value.message
    with pytest.raises(CaseError) as exc:
        open_case([], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.NO_FEEDBACK
    with pytest.raises(CaseError) as exc:
        open_case([fb], "critical", now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.BAD_SEVERITY
    assert "'critical'" in exc.value.message
    first = open_case([fb], now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        open_case([fb], now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.FEEDBACK_IN_OPEN_CASE
    assert str(first.pk) in exc.value.message
    SLAPolicy.objects.filter(severity=Severity.IMPORTANT).update(is_active=False)
    with pytest.raises(CaseError) as exc:
        open_case([make_feedback()], Severity.IMPORTANT, now=MONDAY_9)
    assert exc.value.code == CaseErrorCode.NO_SLA_POLICY
    assert Case.objects.count() == 1  # nothing half-created


def test_most_specific_policy_wins(make_feedback, staffed_team):
    general = SLAPolicy.objects.get(severity=Severity.NORMAL)
    vip = SLAPolicy.objects.create(
        name="VIP", severity=Severity.NORMAL, customer_segment="vip", calendar=general.calendar,
        first_response_minutes=30, resolution_minutes=240,
    )  # fmt: skip
    team_vip = SLAPolicy.objects.create(
        name="售后 VIP", severity=Severity.NORMAL, customer_segment="vip", team=staffed_team,
        calendar=general.calendar, first_response_minutes=15, resolution_minutes=120,
    )  # fmt: skip
    assert open_case([make_feedback(customer_id="A")], now=MONDAY_9).sla_policy == general
    assert open_case([make_feedback(customer_id="B", segment="vip")], now=MONDAY_9).sla_policy == vip
    case = open_case([make_feedback(customer_id="C", segment="vip")], team=staffed_team, now=MONDAY_9)
    assert case.sla_policy == team_vip
    assert case.first_response_due_at == sh(2026, 11, 23, 9, 15)


def test_first_public_reply_is_stored_and_stops_the_first_response_clock(make_feedback, agent):
    case = open_case([make_feedback()], Severity.URGENT, now=MONDAY_9)
    add_reply(case, agent, "内部：先查物流", public=False, now=sh(2026, 11, 23, 9, 10))
    case.refresh_from_db()
    assert case.first_responded_at is None
    add_reply(case, agent, "您好，我们已联系快递公司。", now=sh(2026, 11, 23, 9, 40))
    add_reply(case, agent, "补充：预计明天送达。", now=sh(2026, 11, 23, 9, 50))
    case.refresh_from_db()
    assert case.first_responded_at == sh(2026, 11, 23, 9, 40)
    assert case.status == CaseStatus.OPEN
    sweep_sla(now=sh(2026, 11, 23, 11, 0))  # past the first-response due time (10:00)
    case.refresh_from_db()
    assert not case.first_response_breached
    assert kinds(case) == ["created", "internal_note", "public_reply", "public_reply"]
    with pytest.raises(CaseError) as exc:
        add_reply(case, agent, "   ")
    assert exc.value.code == CaseErrorCode.EMPTY_REPLY


def test_waiting_on_customer_pauses_and_shifts_due_times(make_feedback, agent):
    case = open_case([make_feedback()], Severity.URGENT, now=MONDAY_9)  # resolution due Mon 18:00
    add_reply(case, agent, "请提供订单号", now=sh(2026, 11, 23, 9, 30))
    set_status(case, CaseStatus.PENDING_CUSTOMER, agent, now=sh(2026, 11, 23, 10, 0))
    case.refresh_from_db()
    assert case.sla_next_check_at is None  # paused clocks are never swept
    result = sweep_sla(now=sh(2026, 11, 23, 19, 0))
    assert result.flipped == 0
    # Customer answers Tuesday 10:00: 8 business hours passed while waiting (Mon 10-12, 13-18, Tue 9-10).
    set_status(case, CaseStatus.OPEN, agent, now=sh(2026, 11, 24, 10, 0))
    case.refresh_from_db()
    assert case.paused_since is None
    assert case.paused_business_seconds == 8 * 3600
    assert case.resolution_due_at == sh(2026, 11, 24, 18, 0)
    event = CaseEvent.objects.filter(case=case, kind=EventKind.STATUS_CHANGED).last()
    assert event is not None
    assert event.payload == {"from": "pending_customer", "to": "open", "paused_business_seconds": 8 * 3600}
    sweep_sla(now=sh(2026, 11, 24, 17, 0))
    case.refresh_from_db()
    assert case.resolution_warned
    assert not case.resolution_breached


def test_status_rules(make_feedback, agent):
    case = open_case([make_feedback()], now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        set_status(case, CaseStatus.RESOLVED, agent)
    assert exc.value.code == CaseErrorCode.BAD_TRANSITION
    with pytest.raises(CaseError) as exc:
        set_status(case, CaseStatus.CLOSED, agent)
    assert exc.value.code == CaseErrorCode.BAD_TRANSITION


def test_resolving_needs_root_cause_and_resolution(make_feedback, agent):
    case = open_case([make_feedback()], now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        resolve_case(case, agent, root_cause="", resolution="已补发")
    assert exc.value.code == CaseErrorCode.ROOT_CAUSE_REQUIRED
    with pytest.raises(CaseError) as exc:
        resolve_case(case, agent, root_cause="logistics", resolution=" ")
    assert exc.value.code == CaseErrorCode.RESOLUTION_REQUIRED
    resolve_case(case, agent, root_cause="logistics", resolution="已补发并致歉", now=sh(2026, 11, 23, 15, 0))
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED
    assert case.resolved_at == sh(2026, 11, 23, 15, 0)
    assert case.sla_next_check_at is None
    with pytest.raises(CaseError) as exc:
        add_reply(case, agent, "还有问题吗？")
    assert exc.value.code == CaseErrorCode.NOT_ACTIVE
    set_status(case, CaseStatus.CLOSED, agent)
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.closed_at is not None


def test_reopen_starts_a_fresh_resolution_clock(make_feedback, agent):
    case = open_case([make_feedback()], Severity.URGENT, now=MONDAY_9)
    with pytest.raises(CaseError):
        reopen_case(case, agent)
    resolve_case(case, agent, root_cause="logistics", resolution="已补发", now=sh(2026, 11, 23, 11, 0))
    reopen_case(case, None, reason="客户说仍未收到", now=sh(2026, 11, 25, 14, 0))
    case.refresh_from_db()
    assert case.status == CaseStatus.REOPENED
    assert case.reopen_count == 1
    assert case.resolved_at is None
    assert case.resolution_due_at == sh(2026, 11, 26, 14, 0)
    assert kinds(case)[-3:] == ["resolved", "follow_up", "reopened"]  # resolving schedules the follow-up


def test_assign_and_take(make_feedback, staffed_team, team_agents, agent):
    wang, zhang = team_agents
    mei = User.objects.get(username="mei-manager")  # assigning to someone else is a manager's decision
    case = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        assign_case(case, agent, actor=mei)  # agent fixture is in another team
    assert exc.value.code == CaseErrorCode.NOT_IN_TEAM
    with pytest.raises(CaseError) as exc:
        take_case(case, agent)  # only members of the case's team take from its queue
    assert exc.value.code == CaseErrorCode.NOT_IN_TEAM
    take_case(case, wang)
    with pytest.raises(CaseError) as exc:
        take_case(case, zhang)
    assert exc.value.code == CaseErrorCode.ALREADY_TAKEN
    assert "wang-agent" in exc.value.message
    assign_case(case, zhang, actor=mei)
    case.refresh_from_db()
    unassigned_but_resolved = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    resolve_case(unassigned_but_resolved, wang, root_cause="logistics", resolution="已处理")
    with pytest.raises(CaseError) as exc:
        take_case(unassigned_but_resolved, zhang)
    assert exc.value.code == CaseErrorCode.NOT_ACTIVE
    assert case.assignee == zhang
    assert case.status == CaseStatus.OPEN
    assigned = CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).order_by("id")
    assert [(e.payload["from_user_id"], e.payload["to_user_id"]) for e in assigned] == [
        (None, wang.pk),
        (wang.pk, zhang.pk),
    ]


def test_escalation_on_demand_climbs_to_the_named_executive(make_feedback, staffed_team, team_agents):
    wang, _ = team_agents
    case = open_case([make_feedback()], team=staffed_team, now=MONDAY_9)
    targets = []
    for _level in range(3):
        escalate_case(case, wang, reason="超出我的权限")
        event = CaseEvent.objects.filter(case=case, kind=EventKind.ESCALATED).last()
        assert event is not None
        targets.append(event.payload["to_user_id"])
    lead, manager = staffed_team.lead, staffed_team.department.manager
    assert [t for t in targets] == [lead.pk, manager.pk, targets[2]]
    assert targets[2] is not None
    assert targets[2] not in (lead.pk, manager.pk)
    with pytest.raises(CaseError) as exc:
        escalate_case(case, wang)
    assert exc.value.code == CaseErrorCode.MAX_ESCALATION


def test_merge_moves_feedback_and_blocks_replies_on_the_merged_case(make_feedback, agent):
    f1, f2, f3 = make_feedback(), make_feedback("又来投诉：还没到"), make_feedback("第三次")
    target = open_case([f1], now=MONDAY_9)
    dup = open_case([f2, f3], now=MONDAY_9 + timedelta(minutes=5))
    merge_cases(target, [dup], agent, now=MONDAY_9 + timedelta(minutes=10))
    dup.refresh_from_db()
    assert dup.status == CaseStatus.CLOSED
    assert dup.merged_into == target
    assert dup.sla_next_check_at is None
    assert sorted(target.feedback_items.values_list("pk", flat=True)) == [f1, f2, f3]
    with pytest.raises(CaseError) as exc:
        add_reply(dup, agent, "您好")
    assert exc.value.code == CaseErrorCode.MERGED
    assert f"merged into case {target.pk}" in exc.value.message
    other_customer = open_case([make_feedback(customer_id="C-2")], now=MONDAY_9)
    with pytest.raises(CaseError) as exc:
        merge_cases(target, [other_customer], agent)
    assert exc.value.code == CaseErrorCode.MERGE_INVALID
    with pytest.raises(CaseError):
        merge_cases(target, [target], agent)


def test_events_are_append_only(make_feedback):
    case = open_case([make_feedback()], now=MONDAY_9)
    event = CaseEvent.objects.get(case=case)
    event.payload = {"rewritten": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
