"""Case benchmarks on PostgreSQL: the SLA sweep over 100,000 open cases.

    .venv/bin/python benchmarks/cases.py --quick          # sub-minute
    .venv/bin/python benchmarks/cases.py --cases 100000 --due 5000

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_cases), created
and migrated if missing; its case tables are emptied first. Prints the EXPLAIN of the sweep's query and fails
if it is not an index scan. Last line: RESULT key=value ...
Rule evaluation/routing throughput and agent-inbox latency are not measured yet (rules and inbox come later).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ensure_pg_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_cases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 cases, 1,000 due, 10 idle sweeps")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000, help="cases whose warning is due at sweep time")
    parser.add_argument("--idle-runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the sweep with due cases")
    args = parser.parse_args()
    if args.quick:
        args.due, args.idle_runs = 1_000, 10

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_pg_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Keep the benchmark's outbox kicks out of the embedded queue of a real installation.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("VOXLOOP_DATA_DIR", tempfile.mkdtemp(prefix="voxloop-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from voxloop.cases import services
    from voxloop.cases.models import Case, CaseStatus, Severity, SLAPolicy, new_tracking_token

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE cases_caseevent, cases_casefeedback, cases_case RESTART IDENTITY CASCADE")

    policy = SLAPolicy.objects.get(severity=Severity.NORMAL, team__isnull=True, customer_segment="")
    now = timezone.now()
    t0 = time.perf_counter()
    batch: list[Case] = []
    for i in range(args.cases):
        due = i < args.due
        # Due rows: warning passed a minute ago. Others: their next check lies 1 hour to 30 days ahead.
        check = now - timedelta(minutes=1) if due else now + timedelta(hours=1, minutes=(i * 7) % (30 * 24 * 60))
        batch.append(
            Case(
                number=f"B{i:07d}",
                title="benchmark",
                status=CaseStatus.OPEN,
                severity=Severity.NORMAL,
                sla_policy=policy,
                first_responded_at=now - timedelta(hours=1),
                resolution_warn_at=check,
                resolution_due_at=check + timedelta(hours=8),
                sla_next_check_at=check,
                tracking_token=new_tracking_token(),
            )
        )
        if len(batch) == 5_000:
            Case.objects.bulk_create(batch)
            batch = []
    Case.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    print(f"setup: {args.cases:,} open cases ({args.due:,} due) in {time.perf_counter() - t0:.1f}s")

    plan = Case.objects.filter(sla_next_check_at__lte=now).order_by("sla_next_check_at").values("pk")[:500].explain()
    print("EXPLAIN sweep query:\n  " + plan.replace("\n", "\n  "))
    if "case_sla_next_check" not in plan or "Seq Scan on cases_case" in plan:
        sys.exit("FAIL: the sweep query does not use the partial index case_sla_next_check")

    profiler = cProfile.Profile() if args.profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    result = services.sweep_sla(now=now)
    sweep_s = time.perf_counter() - t0
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    assert result.flipped == args.due, result
    print(f"sweep with {args.due:,} due: {sweep_s:.3f}s ({result.events}); {args.due / sweep_s:,.0f} cases/s")

    idle = []
    for _ in range(args.idle_runs):
        t0 = time.perf_counter()
        again = services.sweep_sla(now=now)
        idle.append((time.perf_counter() - t0) * 1000)
        assert again.flipped == 0, again
    idle_ms = statistics.median(idle)
    print(f"sweep with nothing due over {args.cases:,} open cases: median {idle_ms:.2f} ms ({args.idle_runs} runs)")
    print("rules_items_per_s: see benchmarks/rules.py; inbox_p95_ms: not measured yet (the agent case inbox comes later)")
    print(f"RESULT sla_sweep_s={sweep_s:.3f} sla_sweep_idle_ms={idle_ms:.2f} cases={args.cases} due={args.due}")


if __name__ == "__main__":
    main()
