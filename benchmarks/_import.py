"""Import speed: a generated N-row CSV through `voxloop import`'s code path into SQLite and PostgreSQL,
with peak memory of the importing process (bounded memory = streaming, not loading the file).

Run alone to measure one database while working on the import path:

    python benchmarks/_import.py [--quick] [--rows N] [--only pg|sqlite]
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

from benchmarks._common import child_env, fresh_pg_database, migrate, pg_available, run_child, temp_dir

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
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": batch.accepted_count, "rejected": batch.rejected_count, "seconds": elapsed,
                      "peak_mb": peak_mb}))  # fmt: skip


def run(quick: bool, *, rows: int | None = None, only: str = "") -> dict[str, float]:
    rows = rows or (50_000 if quick else 1_000_000)
    work = Path(temp_dir("vx-bench-import-"))
    csv_path = work / "feedback.csv"
    make_csv(csv_path, rows)
    print(f"import: {rows:,}-row CSV, {csv_path.stat().st_size / 1e6:.0f} MB")
    results: dict[str, float] = {}
    targets = [] if only == "pg" else [("sqlite", "")]
    if only == "sqlite":
        pass
    elif pg_available():
        targets.append(("pg", fresh_pg_database("voxloop_bench_import")))
    else:
        print("import: PostgreSQL not reachable, skipped")
    peak = 0.0
    for name, url in targets:
        env = child_env(str(work / f"data-{name}"), url)
        migrate(env)
        figures = run_child(__file__, ["--child", str(csv_path)], env)
        rate = figures["rows"] / figures["seconds"]
        peak = max(peak, figures["peak_mb"])
        print(f"import {name}: {figures['rows']:,} rows in {figures['seconds']:.1f} s = {rate:,.0f} rows/s, "
              f"peak {figures['peak_mb']:.0f} MB, rejected {figures['rejected']}")  # fmt: skip
        results[f"import_{name}_rows_per_s"] = round(rate)
    results["import_peak_mb"] = round(peak)
    return results


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="File import speed (one section of benchmarks/ingest.py).")
    parser.add_argument("--quick", action="store_true", help="50,000 rows instead of 1,000,000")
    parser.add_argument("--rows", type=int, default=0, help="number of rows (overrides --quick)")
    parser.add_argument("--only", choices=["pg", "sqlite"], default="", help="measure one database only")
    args = parser.parse_args()
    results = run(args.quick, rows=args.rows or None, only=args.only)
    print("RESULT " + " ".join(f"{k}={v}" for k, v in results.items()))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
