"""A read replica under write load (tier (d), docs/operations.md): how far behind it runs, and the reporting
page served from it against the same page from the primary.

    .venv/bin/python benchmarks/replica.py --quick     # 10,000 feedback rows
    .venv/bin/python benchmarks/replica.py             # 50,000

Starts its own PostgreSQL primary and streaming replica (voxloop/core/tests/pgpair.py, stock server settings),
the primary loaded with a copy of a migrated database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/vx_bench_replica, migrated first). Feedback is then written to the primary
through the import's bulk path in chunks of 1,000 rows, as fast as it goes, while a second connection watches the
replica replay: for each chunk, the time from its commit on the primary until the replica has replayed it
("visible"). Then the metrics drill-down of the last 30 days (/metrics/feedback/) is loaded 20 times from the
replica (a browser that has not written) and 20 times from the primary (a browser pinned after a write): the
baseline, in the same run. Stopped and removed afterwards. Last line: RESULT replica_visible_p95_ms=... load_avg=...
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import child_env, ensure_pg_database, migrate, percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_replica"
CHUNK = 1_000
PAGE_LOADS = 20


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 rows")
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    rows = 10_000 if args.quick else args.rows

    import dj_database_url
    import psycopg

    from voxloop.core.tests import pgpair

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_pg_database(url)
    data_dir = tempfile.mkdtemp(prefix="voxloop-bench-")
    migrate(child_env(data_dir, url))
    load_before = os.getloadavg()[0]
    with pgpair.streaming_pair(dj_database_url.parse(url), settings={}) as pair:
        os.environ.update({"DATABASE_URL": pair.primary_url, "DATABASE_REPLICA_URL": pair.replica_url,
                           "DJANGO_SETTINGS_MODULE": "voxloop.settings", "ALLOWED_HOSTS": "testserver",
                           "LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": "memory://", "ANALYZE_ON_INGEST": "0",
                           "AUTOMATION_ON_ANALYSIS": "0", "VOXLOOP_DATA_DIR": data_dir})  # fmt: skip
        os.environ.pop("DB_TRANSACTION_POOLING", None)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.utils import timezone

        from voxloop.accounts.models import User
        from voxloop.core import dbrouter
        from voxloop.feedback import bulk

        call_command("createcachetable", verbosity=0)

        # --- writes, and when each chunk became visible on the replica
        pending: list[tuple[int, float]] = []
        visible_ms: list[float] = []
        lock, done = threading.Lock(), threading.Event()

        def watch() -> None:
            with psycopg.connect(pair.replica_url, autocommit=True) as replica:
                while not (done.is_set() and not pending):
                    row = replica.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
                    replayed = _lsn(row[0]) if row else 0
                    now = time.perf_counter()
                    with lock:
                        while pending and pending[0][0] <= replayed:
                            visible_ms.append((now - pending.pop(0)[1]) * 1000)
                    time.sleep(0.005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        now = timezone.now()
        texts = ["快递太慢了，包装也破了", "客服态度很好，问题很快解决了", "价格有点贵，但质量不错", "退款一直没到账"]
        started = time.perf_counter()
        for first in range(0, rows, CHUNK):
            chunk = [{"source": "bench-replica", "external_id": str(i), "channel": "webform",
                      "text": f"{texts[i % 4]} {i}", "received_at": now - timedelta(minutes=i % (29 * 24 * 60))}
                     for i in range(first, min(rows, first + CHUNK))]  # fmt: skip
            bulk.insert_feedback(chunk)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()::text")
                lsn = _lsn(cursor.fetchone()[0])
            with lock:
                pending.append((lsn, time.perf_counter()))
        write_s = time.perf_counter() - started
        done.set()
        watcher.join(timeout=60)

        # --- the reporting page from the replica and, pinned after a write, from the primary
        user = User.objects.create_superuser("bench-replica", "bench@example.com", "pw-bench-replica-1")
        client = Client()
        client.force_login(user)
        page_ms: dict[str, list[float]] = {"replica": [], "primary": []}
        for i in range(2 * PAGE_LOADS + 2):
            where = "replica" if i % 2 == 0 else "primary"
            if where == "replica":
                client.cookies.pop(dbrouter.PIN_COOKIE, None)
            else:
                client.cookies[dbrouter.PIN_COOKIE] = f"{time.time() + 60:.0f}"
            started = time.perf_counter()
            response = client.get("/metrics/feedback/")
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            if i >= 2:  # the first load of each warms the connection and caches
                page_ms[where].append(elapsed)
    load_after = os.getloadavg()[0]

    figures = {
        "replica_visible_p50_ms": percentile(visible_ms, 50),
        "replica_visible_p95_ms": percentile(visible_ms, 95),
        "replica_visible_max_ms": max(visible_ms),
        "write_rows_per_s": rows / write_s,
        "page_replica_p95_ms": percentile(page_ms["replica"], 95),
        "page_primary_p95_ms": percentile(page_ms["primary"], 95),
        "page_replica_p50_ms": percentile(page_ms["replica"], 50),
        "page_primary_p50_ms": percentile(page_ms["primary"], 50),
    }
    print(f"wrote {rows} rows in {len(visible_ms)} chunks at {figures['write_rows_per_s']:,.0f} rows/s; "
          f"visible on the replica after p50 {figures['replica_visible_p50_ms']:.0f} ms, "
          f"p95 {figures['replica_visible_p95_ms']:.0f} ms, max {figures['replica_visible_max_ms']:.0f} ms")  # fmt: skip
    print(f"/metrics/feedback/ ({PAGE_LOADS} loads each): replica p50 {figures['page_replica_p50_ms']:.0f} ms "
          f"p95 {figures['page_replica_p95_ms']:.0f} ms; primary (baseline) p50 {figures['page_primary_p50_ms']:.0f} "
          f"ms p95 {figures['page_primary_p95_ms']:.0f} ms")  # fmt: skip
    print("RESULT " + " ".join(f"{k}={v:.0f}" for k, v in figures.items())
          + f" rows={rows} load_avg={load_before:.1f}/{load_after:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
