"""Every task has a queue by urgency, and the worker commands start one consumer per queue (issue 17, item 1)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from voxloop.celery import app
from voxloop.core.queues import BULK, DEFAULT, LEGACY_QUEUE, QUEUES, REFINE, TASK_QUEUES, URGENT
from voxloop.core.workers import consumers, parse_queues


def registered_tasks() -> set[str]:
    app.loader.import_default_modules()
    return {
        name
        for name, task in app.tasks.items()
        if not name.startswith("celery.") and ".tests." not in (getattr(task, "__module__", "") or "")
    }


def test_every_task_has_a_queue_and_no_route_is_stale():
    tasks = registered_tasks()
    assert tasks, "no task found: autodiscovery broke"
    missing = sorted(tasks - set(TASK_QUEUES))
    assert not missing, f"add these tasks to voxloop.celery.TASK_QUEUES (urgent, default or bulk): {missing}"
    assert not sorted(set(TASK_QUEUES) - tasks), "routes name tasks that no longer exist"
    assert set(TASK_QUEUES.values()) <= set(QUEUES)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("voxloop.cases.tasks.sla_sweep_task", URGENT),
        ("voxloop.cases.tasks.process_case_events_task", URGENT),
        ("voxloop.webhooks.tasks.deliver_webhooks_task", URGENT),
        ("voxloop.analysis.tasks.analyze_feedback_task", DEFAULT),
        ("voxloop.channels.fileimport.tasks.run_import_task", BULK),
        ("voxloop.analysis.tasks.run_job_task", BULK),
    ],
)
def test_tasks_are_routed_by_urgency(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_beat_entries_are_all_routed():
    from django.conf import settings

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in TASK_QUEUES


def test_parse_queues_orders_by_urgency_and_refuses_unknown_names():
    assert parse_queues("bulk, urgent") == [URGENT, BULK]
    with pytest.raises(ValueError, match="unknown queue.*urgnet.*choose from urgent, default, bulk"):
        parse_queues("urgnet")


def test_worker_command_refuses_an_unknown_queue():
    with pytest.raises(CommandError, match="unknown queue"):
        call_command("worker", "--queues", "fast")


def test_one_consumer_per_queue_with_beat_on_the_urgent_one():
    commands = consumers(QUEUES, beat=True, concurrency=None)
    assert [c[c.index("--queues") + 1] for c in commands] == [URGENT, f"{DEFAULT},{LEGACY_QUEUE}", BULK, REFINE]
    assert ["--beat" in c for c in commands] == [True, False, False, False]
    assert len({c[c.index("--hostname") + 1] for c in commands}) == 4  # distinct node names on one machine
    assert commands[3][commands[3].index("--concurrency") + 1] == "1"  # one encoder in memory, not one per core
    embedded = consumers(QUEUES, beat=True, concurrency=1, solo=True)
    assert all(c[c.index("--pool") + 1] == "solo" for c in embedded)
