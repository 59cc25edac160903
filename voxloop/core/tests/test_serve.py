"""`voxloop serve` really serves pages and runs background tasks with nothing else installed."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_web_and_embedded_worker_and_stops_cleanly(tmp_path):
    env = {**os.environ, "VOXLOOP_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "voxloop.settings",
           "SECRET_KEY": "serve-test-" + "k" * 50}  # fmt: skip
    for name in ("CELERY_BROKER_URL", "DATABASE_URL", "VOXLOOP_TEST_DATABASE_URL", "DEBUG", "VOXLOOP_DEMO"):
        env.pop(name, None)
    voxloop = [sys.executable, "-m", "voxloop.cli"]
    subprocess.run([*voxloop, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([*voxloop, "createcachetable"], env=env, check=True)
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*voxloop, "serve", "--port", str(port), "--workers", "1"], env=env,
                              stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        body = b""
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.3)
        assert b'"ok"' in body
        # A tracking link (a bearer token) is not written to the access log.
        token = "SecretTrackingToken123"
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/t/{token}/", timeout=5)  # noqa: S310
        assert caught.value.code == 404
        # A task queued by another process is run by the worker that `serve` started.
        code = (
            "import time;from voxloop.core.tasks import ping_task;from django.core.cache import cache;"
            "ping_task.delay('serve-test');t=time.time()\n"
            "while time.time()-t<60 and not cache.get('voxloop:ping:serve-test'): time.sleep(0.3)\n"
            "print(cache.get('voxloop:ping:serve-test'))"
        )
        out = subprocess.run([*voxloop, "shell", "-c", code], env=env, capture_output=True, text=True, timeout=90)
        assert "pong" in out.stdout
        children = psutil.Process(server.pid).children(recursive=True)
        assert len(children) >= 3  # gunicorn master + worker, celery
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    log.close()
    written = (tmp_path / "serve.log").read_text(errors="replace")
    assert '"GET /t/***/ HTTP/1.1" 404' in written
    assert token not in written
