"""Case events reach the outbox in batches: a transaction queues one kick however many events it records, and a
run of the outbox queues at most one follow-up, never one task per event (issue 17, item 2). Counted on the
real broker transport (kombu's in-memory one), with Celery not eager, as a deployment would queue them."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone

from voxloop.cases import outbox
from voxloop.cases.events import OUTBOX_KICK, record_event
from voxloop.cases.models import CaseEvent, EventKind
from voxloop.cases.services import open_case
from voxloop.cases.tasks import process_case_events_task
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.celery import QUEUES, app
from voxloop.core.kicks import kick_taken

KICK = "voxloop.cases.tasks.process_case_events_task"


@pytest.fixture
def broker():
    """Publish to the in-memory broker instead of running tasks inline; returns a reader of what was queued."""
    app.conf.task_always_eager = False

    def queued() -> Counter:
        """Take every waiting message: Counter of (queue, task name)."""
        seen: Counter = Counter()
        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in QUEUES:
                channel.queue_declare(queue=queue)
                while (message := channel.basic_get(queue, no_ack=True)) is not None:
                    seen[(queue, message.headers["task"])] += 1
        return seen

    queued()  # start empty
    kick_taken(OUTBOX_KICK)
    try:
        yield queued
    finally:
        app.conf.task_always_eager = True
        queued()
        kick_taken(OUTBOX_KICK)


@pytest.fixture
def case(make_feedback):
    return open_case([make_feedback(customer_id="K-1")], now=MONDAY_9)


def test_a_transaction_recording_many_events_queues_one_kick(case, broker, django_capture_on_commit_callbacks):
    broker()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for n in range(50):
            record_event(case, EventKind.INTERNAL_NOTE, None, timezone.now(), text=f"note {n}")
    assert broker()[("urgent", KICK)] == 1


def test_many_transactions_queue_one_kick_until_it_runs(case, broker, django_capture_on_commit_callbacks):
    """Rules commit every 50 items: the kick of each commit finds the first one still waiting and adds nothing."""
    for n in range(10):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            record_event(case, EventKind.INTERNAL_NOTE, None, timezone.now(), text=f"commit {n}")
    assert broker()[("urgent", KICK)] == 1
    process_case_events_task()  # the queued run starts: what commits from now on needs a new one
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        record_event(case, EventKind.INTERNAL_NOTE, None, timezone.now(), text="later")
    assert broker()[("urgent", KICK)] == 1


def test_a_kick_from_a_rolled_back_savepoint_is_not_counted(case, broker, django_capture_on_commit_callbacks):
    """The kick of a savepoint that rolled back is dropped; the outer write that survives still gets one."""
    broker()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                record_event(case, EventKind.INTERNAL_NOTE, None, timezone.now(), text="undone")
                raise RuntimeError("roll this savepoint back")
        except RuntimeError:
            pass
        record_event(case, EventKind.INTERNAL_NOTE, None, timezone.now(), text="kept")
    assert broker()[("urgent", KICK)] == 1


def test_processing_a_batch_queues_at_most_one_follow_up(
    make_feedback, agent, broker, django_capture_on_commit_callbacks
):
    """Handling events records more events (a timeline note for each reply that cannot reach a customer without
    an address): one follow-up kick for the whole batch, not one per note."""
    from voxloop.feedback.models import Customer

    cases = [open_case([make_feedback(customer_id=f"K-{n}")], now=MONDAY_9) for n in range(20)]
    Customer.objects.filter(pk__in=[c.customer_id for c in cases]).update(email="", phone="")
    CaseEvent.objects.update(processed=True)
    for c in cases:
        record_event(c, EventKind.PUBLIC_REPLY, agent, timezone.now(), text="您好")
    broker()
    with django_capture_on_commit_callbacks(execute=True):
        assert process_case_events_task() == 20
    notes = CaseEvent.objects.filter(kind=EventKind.NOTIFICATION, processed=False).count()
    assert notes == 20  # the handler did record a note per reply...
    assert broker()[("urgent", KICK)] == 1  # ...and they are announced by one kick


def test_a_long_backlog_is_drained_in_batches_with_one_follow_up(case, broker, django_capture_on_commit_callbacks):
    """A run that stops at its time budget leaves the rest to exactly one follow-up run."""
    seen: list[int] = []

    def handler(event: CaseEvent) -> None:
        seen.append(event.pk)

    CaseEvent.objects.update(processed=True)
    CaseEvent.objects.bulk_create(
        [CaseEvent(case=case, kind=EventKind.INTERNAL_NOTE, payload={}, created_at=timezone.now()) for _ in range(25)]
    )
    outbox.register_event_handler(handler)
    try:
        broker()
        assert outbox.drain_case_events(batch=10, budget_s=0) == (10, True)
        assert outbox.drain_case_events(batch=10, budget_s=60) == (15, False)
        assert len(seen) == len(set(seen)) == 25
    finally:
        outbox.unregister_event_handler(handler)
