"""The SLA sweep: warnings at 80%, breaches at 100%, multi-level escalation, and safety when sweeps run
twice at once or die half-way."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from voxloop.cases.models import Case, CaseEvent, EventKind, Severity
from voxloop.cases.services import CaseError, CaseErrorCode, add_reply, merge_cases, open_case, take_case
from voxloop.cases.sla import sweep_sla
from voxloop.cases.tasks import sla_sweep_task
from voxloop.cases.tests.conftest import MONDAY_9, sh


def timeline(case: Case) -> list[tuple[str, str | int | None]]:
    out = []
    for e in CaseEvent.objects.filter(case=case).exclude(kind=EventKind.CREATED).order_by("id"):
        out.append((e.kind, e.payload.get("clock") or e.payload.get("level")))
    return out


def test_warn_breach_and_three_level_escalation(make_feedback, staffed_team):
    # Urgent, opened Monday 09:00: first response warn 09:48, due 10:00; resolution warn 16:24, due 18:00.
    case = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    assert sweep_sla(now=sh(2026, 11, 23, 9, 47)).flipped == 0
    sweep_sla(now=sh(2026, 11, 23, 9, 48))
    assert timeline(case) == [("sla_warning", "first_response")]
    sweep_sla(now=sh(2026, 11, 23, 10, 0))
    sweep_sla(now=sh(2026, 11, 23, 10, 0))  # a second run at the same moment changes nothing
    assert timeline(case)[1:] == [("sla_breach", "first_response"), ("escalated", 1)]
    case.refresh_from_db()
    assert case.first_response_breached
    assert case.escalation_level == 1
    # Level 2 four business hours after the breach: 10:00-12:00 + 13:00-15:00.
    assert case.next_escalation_at == sh(2026, 11, 23, 15, 0)
    sweep_sla(now=sh(2026, 11, 23, 15, 0))
    sweep_sla(now=sh(2026, 11, 23, 16, 24))
    sweep_sla(now=sh(2026, 11, 23, 18, 0))
    sweep_sla(now=sh(2026, 11, 24, 10, 0))  # level 3 eight business hours after the breach
    assert timeline(case)[3:] == [
        ("escalated", 2),
        ("sla_warning", "resolution"),
        ("sla_breach", "resolution"),
        ("escalated", 3),
    ]
    targets = [e.payload["to_user_id"] for e in CaseEvent.objects.filter(case=case, kind=EventKind.ESCALATED)]
    assert targets[:2] == [staffed_team.lead_id, staffed_team.department.manager_id]
    assert targets[2] is not None
    case.refresh_from_db()
    assert case.sla_next_check_at is None
    assert case.next_escalation_at is None
    assert all(not e.processed for e in CaseEvent.objects.filter(case=case))  # waiting in the outbox


def test_a_sweep_that_was_down_catches_up_once(make_feedback, staffed_team):
    case = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    result = sweep_sla(now=sh(2026, 11, 25, 9, 0))
    assert Counter(kind for kind, _ in timeline(case)) == {"sla_warning": 2, "sla_breach": 2, "escalated": 3}
    assert result.events == {"sla_warning": 2, "sla_breach": 2, "escalated": 3}
    assert sweep_sla(now=sh(2026, 11, 26, 9, 0)).flipped == 0


def test_breach_is_not_reported_for_a_case_resolved_in_time(make_feedback, agent):
    case = open_case([make_feedback()], Severity.URGENT, now=MONDAY_9)
    add_reply(case, agent, "已处理", now=sh(2026, 11, 23, 9, 30))
    from voxloop.cases.services import resolve_case

    resolve_case(case, agent, root_cause="logistics", resolution="已补发", now=sh(2026, 11, 23, 9, 40))
    sweep_sla(now=sh(2026, 11, 30, 9, 0))
    assert timeline(case) == [("public_reply", None), ("resolved", None), ("follow_up", None)]  # no SLA events


def test_killed_sweep_skips_nothing_and_flips_nothing_twice(make_feedback, monkeypatch):
    cases = [open_case([make_feedback()], Severity.URGENT, now=MONDAY_9) for _ in range(5)]
    real_bulk_create = CaseEvent.objects.bulk_create
    calls = {"n": 0}

    def dies_on_second_batch(objs, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(CaseEvent.objects, "bulk_create", dies_on_second_batch)
    with pytest.raises(SystemExit):
        sweep_sla(now=sh(2026, 11, 23, 9, 50), batch_size=2)
    warned = CaseEvent.objects.filter(kind=EventKind.SLA_WARNING).count()
    assert warned == 2  # the first batch committed, the second rolled back as a whole
    monkeypatch.setattr(CaseEvent.objects, "bulk_create", real_bulk_create)
    sweep_sla(now=sh(2026, 11, 23, 9, 50), batch_size=2)
    per_case = Counter(CaseEvent.objects.filter(kind=EventKind.SLA_WARNING).values_list("case_id", flat=True))
    assert per_case == {c.pk: 1 for c in cases}


def test_sweep_task_runs_through_celery(make_feedback):
    open_case([make_feedback()], Severity.URGENT, now=timezone_now_minus(hours=30))
    result = sla_sweep_task.delay().get()
    assert result["flipped"] == 1
    assert result["events"]["sla_breach"] == 2


def timezone_now_minus(**delta):
    from django.utils import timezone

    return timezone.now() - timedelta(**delta) - timedelta(days=10)


# --- concurrency on PostgreSQL: real connections, real row locks ----------------------------------


def _in_threads(*targets):
    """Run each target in its own thread (own database connection), all starting together."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_flip_each_case_once(on_postgres, make_feedback, staffed_team):
    ids = [open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9).pk for _ in range(60)]
    now = sh(2026, 11, 23, 10, 30)
    results = _in_threads(lambda: sweep_sla(now=now, batch_size=7), lambda: sweep_sla(now=now, batch_size=11))
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r.flipped for r in results) == 60
    events = Counter(CaseEvent.objects.filter(case_id__in=ids).values_list("case_id", "kind"))
    for pk in ids:
        assert events[(pk, "sla_warning")] == 1
        assert events[(pk, "sla_breach")] == 1
        assert events[(pk, "escalated")] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_take_the_same_case_exactly_one_wins(on_postgres, make_feedback, team_agents):
    wang, zhang = team_agents
    for _round in range(5):
        case = open_case([make_feedback()], now=MONDAY_9)
        results = _in_threads(lambda c=case: take_case(c.pk, wang), lambda c=case: take_case(c.pk, zhang))
        winners = [r for r in results if isinstance(r, Case)]
        losers = [r for r in results if isinstance(r, CaseError)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert losers[0].code == CaseErrorCode.ALREADY_TAKEN
        case.refresh_from_db()
        assert case.assignee == winners[0].assignee
        assert CaseEvent.objects.filter(case=case, kind=EventKind.ASSIGNED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reply_while_the_case_is_being_merged_waits_and_is_refused(on_postgres, make_feedback, agent):
    target = open_case([make_feedback()], now=MONDAY_9)
    source = open_case([make_feedback("重复投诉")], now=MONDAY_9)
    merged = threading.Event()

    def slow_merge():
        with transaction.atomic():
            merge_cases(target.pk, [source.pk], agent)
            merged.set()
            time.sleep(0.5)  # the reply arrives while the merge has not committed yet
        return "merged"

    def reply():
        merged.wait(5)
        return add_reply(source.pk, agent, "您好，我们正在处理")

    results = _in_threads(slow_merge, reply)
    assert results[0] == "merged"
    assert isinstance(results[1], CaseError)
    assert results[1].code == CaseErrorCode.MERGED
    assert not CaseEvent.objects.filter(case=source, kind=EventKind.PUBLIC_REPLY).exists()


@pytest.mark.postgres
def test_sweep_query_uses_the_partial_index(on_postgres, make_feedback):
    open_case([make_feedback()], now=MONDAY_9)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # tiny test table: ask the planner what it can use
        plan = Case.objects.filter(sla_next_check_at__lte=MONDAY_9).order_by("sla_next_check_at").values("pk")[:500]
        text = plan.explain()
        cursor.execute("SET enable_seqscan = on")
    assert "case_sla_next_check" in text


def test_a_broken_calendar_does_not_stop_other_clocks(make_feedback):
    from voxloop.cases.models import BusinessCalendar, SLAPolicy

    good = open_case([make_feedback()], Severity.URGENT, now=MONDAY_9)
    broken_calendar = BusinessCalendar.objects.create(name="broken", working_hours={"mon": [["09:00", "18:00"]]})
    broken_policy = SLAPolicy.objects.create(
        name="broken", severity=Severity.NORMAL, calendar=broken_calendar, first_response_minutes=60,
        resolution_minutes=120, team=None, customer_segment="broken",
    )  # fmt: skip
    bad = open_case([make_feedback(customer_id="X", segment="broken")], now=MONDAY_9)
    assert bad.sla_policy == broken_policy
    # An admin empties its working hours behind the validation's back (e.g. a raw SQL edit).
    BusinessCalendar.objects.filter(pk=broken_calendar.pk).update(working_hours={})
    result = sweep_sla(now=sh(2026, 11, 23, 10, 30))
    assert result.errors == 1
    assert ("sla_breach", "first_response") in timeline(good)
    bad.refresh_from_db()
    assert bad.sla_next_check_at is not None  # still due: the next sweep retries once the calendar is fixed


def test_automatic_chain_continues_after_a_manual_escalation(make_feedback, staffed_team, team_agents):
    from voxloop.cases.services import escalate_case

    case = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    escalate_case(case, team_agents[0], reason="客户要求找领导", now=sh(2026, 11, 23, 9, 5))
    sweep_sla(now=sh(2026, 11, 23, 10, 0))  # first response breaches: already at level 1, level 2 is scheduled
    case.refresh_from_db()
    assert case.escalation_level == 1
    assert case.next_escalation_at == sh(2026, 11, 23, 15, 0)
    sweep_sla(now=sh(2026, 11, 23, 15, 0))
    case.refresh_from_db()
    assert case.escalation_level == 2
    levels = [e.payload["level"] for e in CaseEvent.objects.filter(case=case, kind=EventKind.ESCALATED)]
    assert levels == [1, 2]


def test_escalation_delays_are_configurable(make_feedback, staffed_team):
    from voxloop.cases.models import EscalationLevel

    EscalationLevel.objects.filter(level=1).update(after_breach_minutes=30)
    EscalationLevel.objects.filter(level=3).delete()  # a two-level chain
    case = open_case([make_feedback()], Severity.URGENT, team=staffed_team, now=MONDAY_9)
    sweep_sla(now=sh(2026, 11, 23, 10, 0))
    assert timeline(case) == [("sla_warning", "first_response"), ("sla_breach", "first_response")]
    sweep_sla(now=sh(2026, 11, 23, 10, 30))
    sweep_sla(now=sh(2026, 11, 24, 18, 0))
    assert [k for k in timeline(case) if k[0] == "escalated"] == [("escalated", 1), ("escalated", 2)]
    case.refresh_from_db()
    assert case.next_escalation_at is None  # no level 3 configured
