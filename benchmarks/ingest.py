"""Ingestion benchmark (issue 2): file import into SQLite and PostgreSQL, the API batch endpoint, the inbox.

    python benchmarks/ingest.py            # full: 1,000,000-row CSV, 1,000,000-row inbox
    python benchmarks/ingest.py --quick    # scaled down, about a minute

Each section prints its figures; the last line is `RESULT key=value ...`.
Targets: import >= 20,000 rows/s on PostgreSQL, API >= 5,000 items/s, inbox p95 <= 150 ms.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECTIONS = ["benchmarks._import", "benchmarks._api", "benchmarks._inbox"]
KEYS = ["import_sqlite_rows_per_s", "import_pg_rows_per_s", "import_pg_tuned_rows_per_s", "import_peak_mb",
        "api_items_per_s", "inbox_p50_ms",
        "inbox_p95_ms"]  # fmt: skip


def main() -> None:
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    results: dict[str, float] = {}
    for name in SECTIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            print(f"{name}: not available, skipped")
            continue
        section_start = time.perf_counter()
        results.update(module.run(quick))
        print(f"{name}: {time.perf_counter() - section_start:.0f} s")
    print(f"total {time.perf_counter() - started:.0f} s ({'quick' if quick else 'full'} run)")
    ordered = [k for k in KEYS if k in results] + [k for k in results if k not in KEYS]
    print("RESULT " + " ".join(f"{k}={results[k]}" for k in ordered))


if __name__ == "__main__":
    main()
