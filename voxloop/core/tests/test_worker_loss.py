"""A worker lost mid-task loses no task: another worker completes it (docs/operations.md, "Losing a worker").

Real Celery workers on Redis (database 14), started with the project's settings (acks_late, reject on worker
lost, the visibility timeout from BROKER_VISIBILITY_TIMEOUT, short here), running a task that leaves a file when
it starts and when it ends (voxloop/core/tests/worker_loss_app.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from voxloop.celery import app
from voxloop.core.tests.conftest import REDIS_TEST_URL

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.slow


class Workers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str) -> subprocess.Popen:
        env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "CELERY_BROKER_URL": REDIS_TEST_URL,
            "VOXLOOP_DATA_DIR": str(self.folder / f"data-{name}"), "BROKER_VISIBILITY_TIMEOUT": "10",
            "BROKER_RESTORE_INTERVAL": "1", "BROKER_RESTORE_THROTTLE": "1", "PYTHONPATH": str(ROOT),
        }  # fmt: skip
        env.pop("DATABASE_URL", None)
        command = [sys.executable, "-m", "celery", "-A", "voxloop.core.tests.worker_loss_app", "worker",
                   "--queues", "default", "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "WARNING",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def workers(tmp_path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    yield started
    started.stop()


def wait_for(folder: Path, prefix: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(p.name for p in folder.glob(f"{prefix}*"))
        if found:
            return found
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in folder.glob("*.log"))
    raise AssertionError(f"no {prefix}* file within {timeout:.0f} s\n{logs}")


def send(folder: Path, seconds: float) -> None:
    with app.connection_for_write(REDIS_TEST_URL) as conn:
        app.send_task("voxloop.tests.mark_slowly", args=[str(folder), seconds], queue="default", connection=conn)


def test_a_task_of_a_killed_worker_is_completed_by_another(workers, redis_broker, tmp_path):
    """The whole worker (consumer and pool process) is SIGKILLed mid-task, as when its machine dies; another worker
    started afterwards completes the task once the visibility timeout has passed. Nothing is left queued."""
    marks = tmp_path / "marks"
    marks.mkdir()
    first = workers.start("first")
    send(marks, 4)
    started = wait_for(marks, "start-first", 90)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert not list(marks.glob("done-*")), "the task must still have been running when its worker died"
    workers.start("second")
    done = wait_for(marks, "done-", 120)
    assert [name.split("-")[1] for name in done] == ["second"]
    assert len(started) == 1 and len(list(marks.glob("start-second-*"))) == 1
    deadline = time.monotonic() + 10
    while (redis_broker.llen("default") or redis_broker.zcard("unacked_index")) and time.monotonic() < deadline:
        time.sleep(0.2)  # the acknowledgement lands just after the task's last line
    assert redis_broker.llen("default") == 0 and redis_broker.zcard("unacked_index") == 0


def test_a_killed_pool_process_gives_its_task_back_at_once(workers, redis_broker, tmp_path):
    """Only the process running the task dies (the kernel's OOM killer, a crash): its worker notices and puts the
    task back without waiting for the visibility timeout; a second worker, idle until then, completes it."""
    marks = tmp_path / "marks"
    marks.mkdir()
    workers.start("first")
    send(marks, 8)
    started = wait_for(marks, "start-first", 90)
    child = int(started[0].rsplit("-", 1)[1])
    workers.start("second")
    time.sleep(3)  # let the second worker start listening
    os.kill(child, signal.SIGKILL)
    assert not list(marks.glob("done-*")), "the task must still have been running when its process died"
    done = wait_for(marks, "done-", 60)
    assert len(done) == 1
    assert len(list(marks.glob("start-*"))) == 2  # started twice: once in the killed process, once after
