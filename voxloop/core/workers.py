"""Background worker processes: one Celery consumer per queue, so urgent work never waits behind bulk work.

A single Celery worker that listens on several queues takes whatever message comes next into any free slot:
once its slots hold long imports, the SLA sweep waits for one of them to finish. A consumer per queue keeps a
slot for each kind of work. `voxloop worker` and `voxloop serve` both start their consumers through here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings

from voxloop.core.queues import BULK, DEFAULT, LEGACY_QUEUE, QUEUES, REFINE, URGENT


class QueueNameError(ValueError):
    pass


def parse_queues(text: str) -> list[str]:
    """ "urgent,bulk" -> ["urgent", "bulk"], in urgency order; an unknown name is an error that names the known."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in QUEUES]
    if unknown or not names:
        raise QueueNameError(f"unknown queue(s) {', '.join(unknown) or '(none)'}: choose from {', '.join(QUEUES)}")
    return [q for q in QUEUES if q in names]


def default_concurrency(queue: str, cpus: int | None = None) -> int:
    """Processes for one queue's consumer when --concurrency is not given (docs/operations.md, "Queues")."""
    cpus = cpus or os.cpu_count() or 2
    # Urgent tasks are short and must start at once: two slots, so one slow webhook does not hold the sweep.
    # The refine lane: one process (each holds the ~100 MB encoder; the lane drains a bounded batch at a time).
    return {URGENT: 2, DEFAULT: cpus, BULK: max(1, cpus // 2), REFINE: 1}[queue]


def celery_worker_args(
    *,
    queue: str,
    beat: bool,
    concurrency: int,
    loglevel: str = "INFO",
    solo: bool = False,
) -> list[str]:
    """The command line of one queue's consumer. ``solo`` runs tasks in the consumer process itself (one at a
    time, no child processes): the embedded default's small footprint."""
    queues = [queue, LEGACY_QUEUE] if queue == DEFAULT else [queue]  # tasks queued by a version without queues
    args = [sys.executable, "-m", "celery", "-A", "voxloop", "worker", "--loglevel", loglevel,
            "--queues", ",".join(queues), "--hostname", f"{queue}@%h",
            "--without-gossip", "--without-mingle"]  # fmt: skip
    args += ["--pool", "solo"] if solo else ["--concurrency", str(concurrency)]
    if beat:
        args += ["--beat", "--schedule", str(settings.DATA_DIR / "celerybeat-schedule")]
    return args


def consumers(
    queues: Sequence[str], *, beat: bool, concurrency: int | None, loglevel: str = "INFO", solo: bool = False
) -> list[list[str]]:
    """One command line per queue; the scheduler (beat) rides with the most urgent one, whose clock never waits."""
    return [
        celery_worker_args(
            queue=queue,
            beat=beat and i == 0,
            concurrency=concurrency or default_concurrency(queue),
            loglevel=loglevel,
            solo=solo,
        )
        for i, queue in enumerate(queues)
    ]


def supervise(children: list[subprocess.Popen[Any]], *, on_stop: Callable[[], None] | None = None) -> list[str]:
    """Wait until SIGTERM/SIGINT or until one child exits, then stop them all (15 s grace, then kill). Returns
    the command lines of children that stopped on their own with an error (empty after a requested stop)."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        if on_stop:
            on_stop()
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 15
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    if stopping:
        return []
    return [_command_line(c) for c in children if c.returncode not in (0, -signal.SIGTERM, None)]


def _command_line(child: subprocess.Popen[Any]) -> str:
    """The first words of a child's command (started from a list of arguments, as consumers() gives them)."""
    args = child.args
    words = list(args) if isinstance(args, list | tuple) else [args]
    return " ".join(map(str, words[:8]))
