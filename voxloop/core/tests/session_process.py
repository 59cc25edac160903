"""Run a ``*_session`` module of these tests in a VoxLoop process of its own, configured by its environment.

The PgBouncer and read-replica tests point a real VoxLoop process at servers they started; the session module
prints one JSON object on its last line with what it saw, which the test judges.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def run_session(module: str, data_dir: Path, timeout: int, **settings: str) -> dict[str, Any]:
    """Run ``python -m module`` with these settings (environment variables) and return what it printed."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "PYTHONPATH": str(ROOT),
           "CELERY_BROKER_URL": "memory://", "ANALYZE_ON_INGEST": "0", "AUTOMATION_ON_ANALYSIS": "0",
           "LOG_LEVEL": "WARNING", "VOXLOOP_DATA_DIR": str(data_dir)}  # fmt: skip
    for name in ("DATABASE_REPLICA_URL", "DB_TRANSACTION_POOLING"):
        env.pop(name, None)  # only what the test sets
    env.update(settings)
    done = subprocess.run([sys.executable, "-m", module], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
