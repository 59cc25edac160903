"""The SLA sweep runs on time while the bulk queue is flooded (issue 17): real Redis, real `voxloop worker`
processes, the real routing table. Before queues by urgency, the sweep waited in one FIFO queue behind every bulk
task sent before it (13 minutes behind 28,100 kicks in the field)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest
from celery import Celery
from django.db import connection

from voxloop.cases.services import open_case
from voxloop.cases.tests.conftest import MONDAY_9
from voxloop.celery import app

REDIS_URL = os.environ.get("VOXLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
HOLD_S = 40  # each bulk task holds its worker longer than the whole test takes
FLOOD = 30

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis_db():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc}); set VOXLOOP_TEST_REDIS_URL")
    client.flushdb()
    yield client
    client.flushdb()


def worker_database_url(tmp_path) -> str:
    """The workers use this test's database: PostgreSQL's test database, or a file copy of SQLite's in-memory
    one (taken after the test's rows were committed)."""
    if connection.vendor == "sqlite":
        path = tmp_path / "flood.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
        return f"sqlite:///{path}"
    s = connection.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def producer(redis_db):
    """A client of the same broker with the application's own queues and routes (what beat and the web use)."""
    # Not the current app: tasks queued by later tests in this worker must still find their own registry.
    client = Celery("flood-test", backend=REDIS_URL, set_as_current=False)
    # The write URL: CELERY_BROKER_URL in the environment (the test settings' memory://) outranks broker_url.
    client.conf.broker_write_url = client.conf.broker_read_url = REDIS_URL
    client.conf.update(
        {
            key: app.conf[key]
            for key in (
                "task_queues",
                "task_routes",
                "task_default_queue",
                "task_default_exchange",
                "task_default_routing_key",
            )
        }  # fmt: skip
    )
    yield client
    client.close()


@pytest.fixture
def workers(tmp_path, redis_db):
    """`voxloop worker` with its default queues, one process (slot) per queue, started like in production."""
    started: list[subprocess.Popen] = []

    def start() -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.cases.tests.flood_settings",
               "CELERY_BROKER_URL": REDIS_URL, "CELERY_RESULT_BACKEND": REDIS_URL,
               "VOXLOOP_FLOOD_DATABASE_URL": worker_database_url(tmp_path)}  # fmt: skip
        log = (tmp_path / "worker.log").open("wb")
        started.append(
            subprocess.Popen(
                [sys.executable, "-m", "voxloop.cli", "worker", "--concurrency", "1", "--loglevel", "WARNING"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        )

    yield start
    for proc in started:
        tree = [proc, *psutil.Process(proc.pid).children(recursive=True)] if proc.poll() is None else []
        for p in tree:
            try:
                p.kill()  # the bulk consumers are mid-task: a warm shutdown would wait for them
            except psutil.NoSuchProcess:
                pass
        proc.wait(timeout=10)


def test_sla_sweep_runs_on_time_while_bulk_work_is_pending(make_feedback, producer, redis_db, workers, tmp_path):
    # A case whose first-response target passed long ago: the sweep has something to flip.
    open_case([make_feedback(customer_id="F-1")], now=MONDAY_9)
    workers()
    # Workers are up when the urgent consumer answers a ping (about 10 s; longer on a host busy with other work).
    # disable_sync_subtasks=False: an earlier test in this process may have left Celery's "inside a worker" flag set.
    ready = producer.send_task("voxloop.core.tasks.ping_task", args=["flood"])
    try:
        assert ready.get(timeout=120, disable_sync_subtasks=False) == "flood"
    except Exception as exc:
        log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
        raise AssertionError(f"the workers did not answer a ping ({exc!r}); their log:\n{log}") from exc

    for _ in range(FLOOD):
        producer.send_task("voxloop.tests.hold_worker", args=[HOLD_S], queue="bulk")
    deadline = time.monotonic() + 20
    while redis_db.llen("bulk") > FLOOD - 1 and time.monotonic() < deadline:
        time.sleep(0.1)  # until the bulk consumer is busy with the first one
    assert redis_db.llen("bulk") == FLOOD - 1, "the bulk consumer did not take a task"

    sent = time.monotonic()
    sweep = producer.send_task("voxloop.cases.tasks.sla_sweep_task", ignore_result=False)  # routed by the table
    result = sweep.get(timeout=15, disable_sync_subtasks=False)
    took = time.monotonic() - sent
    assert result["flipped"] == 1 and result["events"]
    assert took < 5, f"the sweep took {took:.1f} s to run behind the bulk flood"
    assert redis_db.llen("bulk") == FLOOD - 1  # the bulk work is all still waiting (one running)
