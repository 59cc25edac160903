"""API batch-ingest throughput through the production server.

Starts gunicorn (2 workers, voxloop.wsgi) on a free localhost port against a fresh database in a temp
dir, creates a token with `voxloop create_api_token`, then POSTs batches of 1,000 feedback items from
a few client threads at once and reports items stored per second (wall clock, first request to last
response). SQLite by default; set API_BENCH_DATABASE_URL=postgres://... to measure PostgreSQL.

    python benchmarks/_api.py [--quick]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 1000
CLIENTS = 4
CUSTOMERS = 500

PHRASES = [
    "快递太慢了，等了一个星期才到，包装还破了", "质量很好，客服态度也不错，下次还会再买",
    "退款申请三天了还没有处理，电话也打不通",
    "安装师傅很专业，准时上门，好评", "价格比别家贵，但是做工确实好", "收到的颜色和图片不一样，希望能换货",
    "The delivery was late and nobody answered my emails", "Great product, works exactly as described",
    "維修後還是有異響，希望盡快處理", "建议增加夜间模式，晚上用太亮了",
]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_postgres(url: str) -> str:
    """Drop and re-create the named PostgreSQL database, so every run starts empty."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def _cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by gunicorn's master and workers; 0 where /proc is missing."""
    pids = [master_pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()]
        total = 0
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _items(start: int, count: int, run_id: str) -> list[dict]:
    rng = random.Random(start)
    base = datetime(2026, 6, 1, tzinfo=UTC)
    return [
        {
            "external_id": f"{run_id}-{n}",
            "text": f"{rng.choice(PHRASES)}（订单 {n}）",
            "received_at": (base + timedelta(minutes=n)).isoformat(),
            "rating": rng.randint(1, 5),
            "customer_id": f"C{rng.randrange(CUSTOMERS):05d}",
            "product": f"P{rng.randrange(50):03d}",
            "channel": rng.choice(["api", "review", "chat"]),
            "order_ref": f"O{n}",
        }
        for n in range(start, start + count)
    ]


def _post(port: int, token: str, body: bytes) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/feedback/batch",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:500]!r}")
        return json.loads(data)
    finally:
        conn.close()


def run(quick: bool) -> dict[str, float]:
    batches = 12 if quick else 60
    with tempfile.TemporaryDirectory(prefix="voxloop-apibench-") as tmp:
        env = {
            **os.environ,
            "VOXLOOP_DATA_DIR": tmp,
            "DJANGO_SETTINGS_MODULE": "voxloop.settings",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            # A throwaway key: the server refuses to start with the public default one.
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        }
        env.pop("DATABASE_URL", None)
        if os.environ.get("API_BENCH_DATABASE_URL"):
            env["DATABASE_URL"] = _fresh_postgres(os.environ["API_BENCH_DATABASE_URL"])
        voxloop = [sys.executable, "-m", "voxloop.cli"]
        subprocess.run([*voxloop, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True)
        # The API counts each token's requests in the cache (the database cache on the embedded default).
        subprocess.run([*voxloop, "createcachetable"], env=env, cwd=ROOT, check=True)
        token = subprocess.run(
            [*voxloop, "create_api_token", "--name", "bench", "--scopes", "feedback:write", "--quiet"],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]  # fmt: skip
        port = _free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "voxloop.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--log-level", "warning"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.2)
            run_id = f"r{int(time.time())}"
            # Warm-up (not timed): both workers loaded, customers and products known.
            warm = [
                {"external_id": f"warm-{n}", "text": "预热", "customer_id": f"C{n:05d}", "product": f"P{n % 50:03d}"}
                for n in range(CUSTOMERS)
            ]
            for _ in range(2):
                _post(port, token, json.dumps({"items": warm}).encode())
            bodies = [
                json.dumps({"items": _items(b * BATCH, BATCH, run_id)}, ensure_ascii=False).encode()
                for b in range(batches)
            ]
            queue = list(range(batches))
            lock = threading.Lock()
            created = 0
            latencies: list[float] = []
            errors: list[str] = []

            def client() -> None:
                nonlocal created
                while True:
                    with lock:
                        if not queue:
                            return
                        index = queue.pop()
                    started = time.perf_counter()
                    try:
                        result = _post(port, token, bodies[index])
                    except Exception as exc:  # noqa: BLE001 - reported below
                        errors.append(str(exc))
                        return
                    with lock:
                        created += result["created"]
                        latencies.append(time.perf_counter() - started)

            threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
            cpu_before = _cpu_seconds(server.pid)
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - started
            server_cpu = _cpu_seconds(server.pid) - cpu_before
            if errors:
                raise RuntimeError(f"{len(errors)} batch(es) failed: {errors[0]}")
            if created != batches * BATCH:
                raise RuntimeError(f"expected {batches * BATCH} items created, got {created}")
            latencies.sort()
            return {
                "api_items_per_s": round(created / elapsed, 1),
                "api_batch_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
                "api_batch_max_ms": round(latencies[-1] * 1000, 1),
                # Server CPU per 1,000-item batch: what the figure would be on idle cores, whatever else runs.
                "api_server_cpu_ms_per_batch": round(server_cpu * 1000 / batches, 1),
            }
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    figures = run(args.quick)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in figures.items()))
