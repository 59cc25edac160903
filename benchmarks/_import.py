"""Import speed: a generated N-row CSV through `voxloop import`'s code path into SQLite and PostgreSQL,
with peak memory of the importing process (bounded memory = streaming, not loading the file).

Run alone to measure one database while working on the import path:

    python benchmarks/_import.py [--quick] [--rows N] [--only pg|pg_tuned|sqlite]

`pg` is the machine's own PostgreSQL as installed (stock settings); `pg_tuned` a private server started for
the run with the settings docs/imports.md advises for a server that takes large imports.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    TUNED_PG_SETTINGS,
    child_env,
    fresh_database_on,
    fresh_pg_database,
    migrate,
    pg_available,
    run_child,
    temp_dir,
    tuned_pg_server,
)

PHRASES = ["物流太慢了", "包装破损", "客服态度很好", "质量不错，推荐", "退款一直没到账", "安装师傅很专业",
           "the delivery was late", "great value", "App登录不上", "价格有点贵"]  # fmt: skip


def make_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["评价ID", "评价内容", "评价时间", "评分", "手机号", "商品名称"])
        for i in range(rows):
            writer.writerow([f"R{i}", f"{rng.choice(PHRASES)}，第{i}单{rng.choice(PHRASES)}",
                             f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                             rng.randint(1, 5), f"13{rng.randrange(10**9):09d}" if i % 3 == 0 else "",
                             f"商品{rng.randint(1, 50)}"])  # fmt: skip


def child(csv_path: str) -> None:
    import django

    django.setup()
    from voxloop.channels.fileimport import services

    started = time.perf_counter()
    batch = services.create_batch(Path(csv_path), channel="review", source="bench")
    batch = services.run_batch(batch.pk)
    elapsed = time.perf_counter() - started
    own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # A large PostgreSQL import reads in a second process (fileimport/preparer.py): both count.
    reader_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    peak_mb = own_mb + reader_mb
    print(json.dumps({"rows": batch.accepted_count, "rejected": batch.rejected_count, "seconds": elapsed,
                      "peak_mb": peak_mb, "reader_mb": reader_mb}))  # fmt: skip


def _measure(name: str, url: str, work: Path, csv_path: Path) -> dict:
    env = child_env(str(work / f"data-{name}"), url)
    migrate(env)
    figures = run_child(__file__, ["--child", str(csv_path)], env)
    rate = figures["rows"] / figures["seconds"]
    print(f"import {name}: {figures['rows']:,} rows in {figures['seconds']:.1f} s = {rate:,.0f} rows/s, "
          f"peak {figures['peak_mb']:.0f} MB (reader process {figures['reader_mb']:.0f} MB), "
          f"rejected {figures['rejected']}")  # fmt: skip
    return {"rate": round(rate), "peak_mb": figures["peak_mb"]}


def run(quick: bool, *, rows: int | None = None, only: str = "") -> dict[str, float]:
    """SQLite; PostgreSQL on the machine's own server (stock settings); and PostgreSQL on a private server
    configured as docs/imports.md advises for large imports (`pg_tuned`), where one can be started here."""
    rows = rows or (50_000 if quick else 1_000_000)
    work = Path(temp_dir("vx-bench-import-"))
    csv_path = work / "feedback.csv"
    make_csv(csv_path, rows)
    print(f"import: {rows:,}-row CSV, {csv_path.stat().st_size / 1e6:.0f} MB")
    results: dict[str, float] = {}
    peak = 0.0
    if only in ("", "sqlite"):
        figures = _measure("sqlite", "", work, csv_path)
        results["import_sqlite_rows_per_s"], peak = figures["rate"], max(peak, figures["peak_mb"])
    if only in ("", "pg"):
        if pg_available():
            figures = _measure("pg", fresh_pg_database("voxloop_bench_import"), work, csv_path)
            results["import_pg_rows_per_s"], peak = figures["rate"], max(peak, figures["peak_mb"])
        else:
            print("import: PostgreSQL not reachable, skipped")
    if only in ("", "pg", "pg_tuned"):
        with tuned_pg_server() as base:
            if base is None:
                print("import pg_tuned: no private PostgreSQL server could be started here, skipped")
            else:
                print("import pg_tuned: " + ", ".join(f"{k}={v}" for k, v in TUNED_PG_SETTINGS.items()))
                url = fresh_database_on(base, "voxloop_bench_import")
                figures = _measure("pg_tuned", url, work, csv_path)
                results["import_pg_tuned_rows_per_s"], peak = figures["rate"], max(peak, figures["peak_mb"])
    results["import_peak_mb"] = round(peak)
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="File import speed (one section of benchmarks/ingest.py).")
    parser.add_argument("--quick", action="store_true", help="50,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=0, help="number of rows (overrides --quick)")
    parser.add_argument(
        "--only",
        choices=["pg", "pg_tuned", "sqlite"],
        default="",
        help="measure one database only (pg also runs pg_tuned)",
    )
    args = parser.parse_args()
    results = run(args.quick, rows=args.rows or None, only=args.only)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in results.items()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
