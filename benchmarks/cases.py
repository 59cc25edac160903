"""Case benchmarks on PostgreSQL: the SLA sweep over 100,000 open cases.

    .venv/bin/python benchmarks/cases.py --quick          # sub-minute
    .venv/bin/python benchmarks/cases.py --cases 100000 --due 5000

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_cases), created
and migrated if missing; its case tables are emptied first. Prints the EXPLAIN of the sweep's query and fails
if it is not an index scan. Last line: RESULT key=value ...
Then the agent inbox: the same cases spread over teams and agents, first-page server time of "my team's",
"breaching soon" and "mine" (p50/p95; target p95 <= 150 ms). Rule throughput: benchmarks/rules.py.
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

from benchmarks._common import ensure_pg_database, percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_cases"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 cases, 1,000 due, 10 idle sweeps")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=5_000, help="cases whose warning is due at sweep time")
    parser.add_argument("--idle-runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the sweep with due cases")
    parser.add_argument("--inbox-runs", type=int, default=40, help="timed requests per inbox tab")
    args = parser.parse_args()
    if args.quick:
        args.due, args.idle_runs, args.inbox_runs = 1_000, 10, 10

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_pg_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Keep the benchmark's outbox kicks out of the embedded queue of a real installation.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    # The inbox is timed through Django's test Client (host "testserver") without the test environment's
    # template instrumentation, so the figure is what a real request costs.
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
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
    inbox_p50, inbox_p95 = bench_inbox(args.cases, args.inbox_runs)
    rules = run_rules_benchmark(args.quick)
    print(
        f"RESULT sla_sweep_s={sweep_s:.3f} sla_sweep_idle_ms={idle_ms:.2f} inbox_p50_ms={inbox_p50:.1f} "
        f"inbox_p95_ms={inbox_p95:.1f} rules_items_per_s={rules.get('rules_items_per_s', 'nan')} "
        f"cases={args.cases} due={args.due}"
    )


def run_rules_benchmark(quick: bool) -> dict[str, str]:
    """Rule evaluation, case opening and assignment has its own script (its own database); run it in a fresh
    process and carry its figure into this RESULT line."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("rules.py")
    done = subprocess.run(
        [sys.executable, str(script), *(["--quick"] if quick else [])], capture_output=True, text=True, check=False
    )
    lines = done.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"rules: {line}")
    last = lines[-1] if lines else ""
    if not last.startswith("RESULT "):
        print(f"rules benchmark failed: {done.stderr[-500:]}")
        return {}
    return dict(pair.split("=", 1) for pair in last.split()[1:])


INBOX_TEAMS = 20
INBOX_AGENTS_PER_TEAM = 10
INBOX_CUSTOMERS = 20_000


def bench_inbox(cases: int, runs: int) -> tuple[float, float]:
    """Agent inbox over the open cases the sweep left: spread them over 20 teams of 10 agents (a fifth
    unassigned, a tenth waiting on the customer, customers attached), then time the first page of "my team's",
    "breaching soon" and "mine" for an agent, through the test Client (session, middleware, query, template)."""
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from voxloop.accounts.models import Department, Role, Team, User
    from voxloop.cases import queries
    from voxloop.feedback.models import Customer

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        # Only the customers an earlier run made (the case table was emptied above, so nothing refers to them).
        cursor.execute("DELETE FROM feedback_customer WHERE external_id LIKE 'BC%%'")
    User.objects.filter(username__startswith="bench-").delete()
    Team.objects.filter(name__startswith="bench-").delete()
    Department.objects.filter(name__startswith="bench-").delete()
    departments = [Department.objects.create(name=f"bench-dept-{d}") for d in range(5)]
    teams = [Team.objects.create(name=f"bench-team-{t}", department=departments[t % 5]) for t in range(INBOX_TEAMS)]
    agents: list[list[int]] = []
    for team in teams:
        members = User.objects.bulk_create(
            [User(username=f"bench-{team.pk}-{a}", role=Role.AGENT) for a in range(INBOX_AGENTS_PER_TEAM)]
        )
        team.members.add(*members)
        agents.append([u.pk for u in members])
    Customer.objects.bulk_create(
        [Customer(external_id=f"BC{i}", name=f"客户{i}", email=f"c{i}@example.com") for i in range(INBOX_CUSTOMERS)],
        batch_size=5_000,
    )
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    team_ids = [t.pk for t in teams]
    with connection.cursor() as cursor:
        # Team by id, assignee by id within the team (a fifth of each team's cases unassigned), every tenth case waiting.
        cursor.execute(
            "UPDATE cases_case SET team_id = (%s::int[])[1 + id %% %s], customer_id = %s + id %% %s,"
            " assignee_id = CASE WHEN (id / %s) %% 5 = 0 THEN NULL ELSE (%s::int[])[1 + (id %% %s) * %s + (id / %s) %% %s] END,"
            " status = CASE WHEN id %% 10 = 1 THEN 'pending_customer' ELSE status END,"
            " paused_since = CASE WHEN id %% 10 = 1 THEN now() ELSE NULL END",
            [
                team_ids,
                INBOX_TEAMS,
                first_customer,
                INBOX_CUSTOMERS,
                INBOX_TEAMS,
                [pk for members in agents for pk in members],
                INBOX_TEAMS,
                INBOX_AGENTS_PER_TEAM,
                INBOX_TEAMS,
                INBOX_AGENTS_PER_TEAM,
            ],
        )
    # A production table is vacuumed by autovacuum; without it the update's dead rows distort every plan.
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    connection.set_autocommit(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE cases_case")
        cursor.execute("VACUUM ANALYZE feedback_customer")
    connection.set_autocommit(autocommit)
    print(f"inbox setup: {cases:,} cases over {INBOX_TEAMS} teams in {time.perf_counter() - t0:.1f}s")

    agent = User.objects.get(pk=agents[0][1])
    client = Client()
    client.force_login(agent)
    timings: list[float] = []
    for tab in ("team", "breaching", "mine"):
        response = client.get("/cases/", {"tab": tab})  # warm: connection, templates, translations
        assert response.status_code == 200, response.status_code
        rows = response.content.count(b'class="case-row"')
        samples, cpu = [], []
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get("/cases/", {"tab": tab})
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200
        timings += samples
        # CPU time of this process (Python, templates) apart from waiting: shows how much of the wall time is
        # the page's own work when the machine is shared.
        print(
            f"inbox tab {tab!r}: {rows} rows on the first page, median {statistics.median(samples):.1f} ms, "
            f"p95 {percentile(samples, 95):.1f} ms, median CPU {statistics.median(cpu):.1f} ms ({runs} runs)"
        )
    plan = (
        queries.inbox_queryset(agent, queries.CaseInboxFilters(tab="team"), timezone.now())
        .annotate(next_due=queries._next_due_expression())
        .order_by("next_due", "id")[: queries.INBOX_PAGE_SIZE + 1]
        .explain()
    )
    print("EXPLAIN my team's first page:\n  " + plan.replace("\n", "\n  "))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average during the inbox runs: {load:.1f} on {os.cpu_count()} CPUs")
    p50, p95 = statistics.median(timings), percentile(timings, 95)
    print(f"agent inbox first page over {cases:,} open cases: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= 150)")
    return p50, p95


if __name__ == "__main__":
    main()
