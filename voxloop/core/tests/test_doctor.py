"""`voxloop doctor`: what it reports, and the exit status monitoring relies on."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from voxloop import doctor
from voxloop.cases.tasks import sla_sweep_task
from voxloop.celery import app, periodic_run_key
from voxloop.core import timing
from voxloop.core.tests.conftest import REDIS_TEST_URL
from voxloop.feedback.models import Feedback
from voxloop.metrics.models import DirtyDay


@pytest.fixture
def fs_broker(settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str]:
    code = doctor.main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.django_db
def test_a_quiet_deployment_is_healthy(fs_broker, capsys):
    code, out = run(capsys)
    assert code == 0, out
    assert "urgent: 0 waiting" in out and "bulk: 0 waiting" in out
    assert "closest limit of" in out
    assert out.strip().endswith("healthy")


@pytest.mark.django_db
def test_an_urgent_task_waiting_too_long_fails(fs_broker, capsys):
    stale = fs_broker / "1234_abcd.urgent.msg"
    stale.write_bytes(b"{}")
    old = time.time() - 600
    os.utime(stale, (old, old))
    (fs_broker / "1235_efgh.bulk.msg").write_bytes(b"{}")  # a fresh bulk task is fine
    code, out = run(capsys)
    assert code == 1
    assert "urgent: 1 waiting, oldest 10 min" in out and "consumer is missing or too small" in out
    assert "bulk: 1 waiting" in out
    assert "unhealthy: 1 problem(s)" in out


@pytest.mark.django_db
def test_redis_queue_depth_and_oldest_task_age(settings, capsys, monkeypatch, redis_broker):
    settings.CELERY_BROKER_URL = REDIS_TEST_URL
    with app.connection_for_write(REDIS_TEST_URL) as conn:
        for _ in range(3):
            app.send_task("voxloop.analysis.tasks.analyze_pending_task", queue="default", connection=conn)
    assert dict(doctor.queue_state())["default"][0] == 3
    code, out = run(capsys)
    assert code == 0, out
    assert "default: 3 waiting, oldest 0 s" in out or "default: 3 waiting, oldest 1 s" in out
    later = time.time() + 400  # the same queue six minutes on, nobody consuming it
    monkeypatch.setattr(doctor.time, "time", lambda: later)
    code, out = run(capsys, "--json")
    report = json.loads(out)
    assert code == 1 and report["healthy"] is False
    default = next(c for c in report["checks"] if c["section"] == "queues" and c["name"] == "default")
    assert default["status"] == "fail" and default["data"]["depth"] == 3 and default["data"]["oldest_s"] >= 399


@pytest.mark.django_db
def test_rollup_lag_and_analysis_backlog_fail(fs_broker, settings, capsys):
    settings.ANALYZE_ON_INGEST = True
    DirtyDay.objects.create(source="feedback", day=timezone.localdate())
    DirtyDay.objects.update(marked_at=timezone.now() - timedelta(minutes=40))
    item = Feedback.objects.create(channel="email", source="t", external_id="1", received_at=timezone.now(), text="x")
    Feedback.objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    code, out = run(capsys)
    assert code == 1
    assert "days waiting: 1, oldest marked 40 min ago" in out and "is the metrics refresh task running?" in out
    assert "backlog: 1 pending, oldest 30 min" in out and "add default workers" in out


@pytest.mark.django_db
def test_the_closest_tier_limit_is_named(fs_broker, capsys, monkeypatch):
    for i in range(3):
        Feedback.objects.create(channel="email", source="t", external_id=str(i), received_at=timezone.now(), text="x")
    limits = {name: {**values, "feedback_rows": (2, "feedback items")} for name, values in doctor.TIER_LIMITS.items()}
    monkeypatch.setattr(doctor, "TIER_LIMITS", limits)
    code, out = run(capsys)
    assert code == 1
    # The row count is estimated by the highest key (an upper bound that costs nothing at any size).
    assert re.search(r"closest limit of .*: feedback_rows [\d,]+ of 2 \(\d+%\)", out)
    assert "feedback items: " in out


@pytest.mark.django_db
def test_table_sizes_list_the_feedback_table():
    for i in range(20):
        Feedback.objects.create(channel="email", source="t", external_id=str(i), received_at=timezone.now(), text="x")
    sizes = doctor.table_sizes(limit=200)
    if not sizes:
        pytest.skip("this SQLite has no dbstat table")
    assert "feedback_feedback" in [name for name, *_rest in sizes]


@pytest.mark.django_db
def test_slowest_pages_come_from_the_request_timings(client, fs_broker, capsys, monkeypatch):
    monkeypatch.setattr(timing, "FLUSH_SECONDS", 0)
    monkeypatch.setattr(timing, "_buffer", timing.RingBuffer())
    client.get(reverse("login"))
    assert timing._buffer.flusher is not None
    timing._buffer.flusher.join(10)  # the summary is written by a thread of its own
    code, out = run(capsys)
    assert "GET /accounts/login/" in out and "1 requests, 0 errors" in out
    assert code == 0


def test_ring_buffer_summary_keeps_the_last_hour():
    buffer = timing.RingBuffer()
    now = time.time()
    buffer.samples.append((now - 4000, "GET /old/", 900.0, 200))
    for ms in range(1, 101):
        buffer.samples.append((now - 10, "GET /inbox/", float(ms), 500 if ms == 100 else 200))
    summary = buffer.summary(now)
    assert "GET /old/" not in summary
    assert summary["GET /inbox/"] == {"count": 100, "p50": 51.0, "p95": 96.0, "max": 100.0, "errors": 1}


@pytest.mark.django_db
def test_a_missing_sla_sweep_fails(fs_broker, capsys):
    """The sweep records its start (voxloop.celery.note_periodic_start); one that stopped running is named."""
    sla_sweep_task.delay()
    code, out = run(capsys)
    assert code == 0, out
    assert "SLA sweep: last started 0 s ago" in out
    key = periodic_run_key("voxloop.cases.tasks.sla_sweep_task")
    cache.set(key, {"sent_at": time.time() - 700, "started_at": time.time() - 600}, None)
    code, out = run(capsys)
    assert code == 1
    assert "SLA sweep: last started 10 min ago, after 100 s in its queue" in out and "no sweep for 10 min" in out
