"""A stand-in for a long bulk task (an import of a large file): it holds its worker for the given seconds.
Loaded only by the workers that test_queue_flood.py starts."""

import time

from celery import shared_task


@shared_task(name="voxloop.tests.hold_worker")
def hold_worker(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
