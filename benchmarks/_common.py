"""Helpers shared by the benchmark scripts: fresh databases, child processes, percentiles."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("VOXLOOP_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(f"{PG_BASE}/postgres", connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001
        return False


def fresh_pg_database(name: str) -> str:
    return fresh_database_on(PG_BASE, name)


def child_env(data_dir: str, database_url: str = "") -> dict[str, str]:
    env = {**os.environ, "VOXLOOP_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "voxloop.settings",
           "CELERY_BROKER_URL": "memory://", "ANALYZE_ON_INGEST": "0", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "voxloop.cli", "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run([sys.executable, "-m", "voxloop.cli", "createcachetable"], env=env, check=True, cwd=ROOT)


def run_child(script: str, args: list[str], env: dict[str, str]) -> dict:
    """Run a benchmark child; its last stdout line is a JSON object of figures."""
    out = subprocess.run([sys.executable, script, *args], env=env, check=True, cwd=ROOT, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def temp_dir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ensure_pg_database(url: str) -> None:
    """Create the database named in a PostgreSQL URL if it does not exist yet (its contents are kept)."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], password=cfg["PASSWORD"] or None,
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


# A private PostgreSQL server configured as docs/imports.md advises for a server that takes large imports
# (the machine's own server keeps the stock 128 MB shared_buffers and 1 GB max_wal_size).
TUNED_PG_SETTINGS = {
    "shared_buffers": "2GB",
    "max_wal_size": "8GB",
    "wal_compression": "on",
    "checkpoint_timeout": "15min",
    "effective_cache_size": "8GB",
    "maintenance_work_mem": "512MB",
}
TUNED_PG_PORT = 55432


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@contextlib.contextmanager
def tuned_pg_server():
    """Yield the base URL of a throw-away PostgreSQL server with TUNED_PG_SETTINGS, or None where one cannot
    be started here (no server binaries, no `postgres` user to run it as). Stopped and removed afterwards."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        yield None
        return
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None:
            yield None
            return
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="vx-bench-pg-"))
    data = root / "data"
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    options = " ".join(f"-c {k}={v}" for k, v in TUNED_PG_SETTINGS.items())
    started = False
    try:
        subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale", "C.UTF-8"], check=True, capture_output=True)  # fmt: skip
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                        f"-p {TUNED_PG_PORT} -k {root} -h 127.0.0.1 {options}", "start"], check=True, capture_output=True)  # fmt: skip
        started = True
        yield f"postgres://postgres@127.0.0.1:{TUNED_PG_PORT}"
    except subprocess.CalledProcessError as exc:
        print(f"tuned PostgreSQL could not start: {exc.stderr.decode(errors='replace')[-300:]}")
        if not started:
            yield None
    finally:
        if started:
            subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                           capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_database_on(base: str, name: str) -> str:
    """A new, empty database `name` on the server at `base`; its URL."""
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"
