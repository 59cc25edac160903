"""The Celery application. Tasks live in each app's tasks.py and are thin wrappers over services.

Every task goes to one of three queues by urgency, by the table in voxloop.core.queues (docs/operations.md,
"Queues"); a task not in it goes to `default` and fails voxloop/core/tests/test_queues.py.
"""

import logging
import os
import time

from celery import Celery
from celery.signals import before_task_publish, task_prerun
from django.conf import settings
from django.core.cache import cache
from kombu import Exchange, Queue

from voxloop.core.queues import DEFAULT, LEGACY_QUEUE, QUEUES, TASK_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")

logger = logging.getLogger(__name__)

app = Celery("voxloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (*QUEUES, LEGACY_QUEUE)
]
app.conf.task_default_queue = DEFAULT
app.conf.task_default_routing_key = DEFAULT
app.conf.task_default_exchange = DEFAULT
app.conf.task_routes = {name: {"queue": queue} for name, queue in TASK_QUEUES.items()}
app.autodiscover_tasks()


@before_task_publish.connect
def stamp_sent_at(headers: dict | None = None, **_kwargs: object) -> None:
    """When the task was queued: `voxloop doctor` reports the age of each queue's oldest task from it."""
    if headers is not None:
        headers.setdefault("voxloop_sent_at", time.time())


def periodic_run_key(task_name: str) -> str:
    return f"voxloop:periodic-run:{task_name}"


@task_prerun.connect
def note_periodic_start(task: object = None, **_kwargs: object) -> None:
    """When a scheduled task last started and how long it waited in its queue: `voxloop doctor` and
    benchmarks/load.py read it to tell whether the SLA sweep runs on time. One cache write per scheduled run."""
    name = getattr(task, "name", "")
    if name not in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}:
        return
    request = getattr(task, "request", None)
    sent = getattr(request, "voxloop_sent_at", None) or (getattr(request, "headers", None) or {}).get("voxloop_sent_at")
    try:
        cache.set(periodic_run_key(name), {"sent_at": sent, "started_at": time.time()}, None)
    except Exception:  # noqa: BLE001 - the record is for monitoring; the task itself must run
        logger.warning("could not record the start of %s in the cache", name)
