"""Helpers shared by the benchmark scripts: fresh databases, child processes, percentiles."""

from __future__ import annotations

import json
import os
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
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_BASE}/{name}"


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
