"""The Celery application. Tasks live in each app's tasks.py and are thin wrappers over services.

Every task goes to one of three queues by urgency, by the table in voxloop.core.queues (docs/operations.md,
"Queues"); a task not in it goes to `default` and fails voxloop/core/tests/test_queues.py.
"""

import os
import time

from celery import Celery
from celery.signals import before_task_publish
from kombu import Exchange, Queue

from voxloop.core.queues import DEFAULT, LEGACY_QUEUE, QUEUES, TASK_QUEUES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")

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
