"""The Celery app with one extra task, for test_worker_loss.py: the workers it starts load this module (-A)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from voxloop.celery import app

__all__ = ["app", "mark_slowly"]


@app.task(name="voxloop.tests.mark_slowly", bind=True)
def mark_slowly(self, folder: str, seconds: float) -> str:
    """Leaves a file when it starts and one when it ends, each named after the worker that ran it."""
    worker = self.request.hostname.split("@")[0]
    Path(folder, f"start-{worker}-{os.getpid()}").touch()
    time.sleep(seconds)
    Path(folder, f"done-{worker}-{os.getpid()}").touch()
    return worker
