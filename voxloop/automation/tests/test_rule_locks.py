"""Row locks between rule waves and the case-event outbox on PostgreSQL (issue 17): under load, waves that join
items to the same customers' open cases in different orders, and outbox runs that write rows pointing at those
cases, used to deadlock; the losing transaction's items were left without their case. One lock order
(docs/architecture/cases.md, "Row locks") lets them run side by side."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connections

from voxloop.automation.models import AutomationRule
from voxloop.automation.services import RulesResult, apply_rules
from voxloop.automation.tests.conftest import NOW
from voxloop.cases.models import Case, CaseFeedback, CaseStatus
from voxloop.cases.outbox import process_case_events
from voxloop.feedback.models import Feedback

CUSTOMERS = 20


def rule(name: str, conditions, actions) -> AutomationRule:
    obj = AutomationRule(name=name, conditions=conditions, actions=actions)
    obj.full_clean()
    obj.save()
    return obj


def in_threads(*calls) -> list[object]:
    """Run the calls at the same moment, each on its own connection; returns each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = calls[n]()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            results[n] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def in_threads_with_outbox(*calls) -> list[object]:
    """``in_threads`` with an outbox worker beside the calls: it drains case events in its own transactions,
    as ``process_case_events_task`` does, until they are all done."""
    left = [len(calls)]
    lock = threading.Lock()
    running = threading.Event()
    running.set()

    def until_done(call):
        def run() -> object:
            try:
                return call()
            finally:
                with lock:
                    left[0] -= 1
                    if not left[0]:
                        running.clear()

        return run

    def outbox() -> int:
        done = 0
        while running.is_set():
            done += process_case_events()
        return done + process_case_events()

    return in_threads(*[until_done(call) for call in calls], outbox)


# Decided at collection, so on SQLite the transactional database is never set up for nothing.
@pytest.mark.postgres
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="row locking between connections is tested on PostgreSQL (VOXLOOP_TEST_DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_waves_joining_the_same_open_cases_and_the_outbox_never_deadlock(no_rules, make_item):
    rule(
        "complaints open a case",
        [],
        [
            {"type": "open_case", "severity": "normal", "merge_open": True},
            {"type": "notify", "message": "投诉"},
            {"type": "auto_acknowledge"},
        ],
    )
    customers = [f"L{n:02d}" for n in range(CUSTOMERS)]
    first = [make_item(customer=c, topics=["logistics.delay"]).pk for c in customers]
    apply_rules(first, now=NOW)  # one open case per customer
    cases = dict(Case.objects.values_list("customer__external_id", "pk"))
    assert len(cases) == CUSTOMERS
    # Two workers' batches of follow-up complaints: ids in opposite customer orders, so item by item they
    # would take the same cases' locks in opposite orders.
    rounds = [
        (
            [make_item(customer=c, topics=["logistics.delay"]).pk for c in customers],
            [make_item(customer=c, topics=["logistics.delay"]).pk for c in reversed(customers)],
        )
        for _round in range(2)
    ]

    for forward, backward in rounds:
        waves = [lambda ids=ids: apply_rules(ids, now=NOW) for ids in (forward, backward)]
        results = in_threads_with_outbox(*waves)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert not any(r.errors for r in results[:2] if isinstance(r, RulesResult)), results

    # Every complaint joined its customer's one open case: none was left out, none opened a second.
    assert Case.objects.count() == CUSTOMERS
    assert set(Case.objects.values_list("status", flat=True)) <= {CaseStatus.NEW, CaseStatus.OPEN}
    linked = dict(CaseFeedback.objects.values_list("feedback_id", "case__customer__external_id"))
    assert len(linked) == CUSTOMERS * 5
    assert linked == dict(Feedback.objects.values_list("pk", "customer__external_id"))
