"""The service-quality report (issue 21): time to build a month's and a quarter's report (snapshot + PDF + Excel)
and the memory it takes, on PostgreSQL with two years of analysed feedback.

    .venv/bin/python benchmarks/reports.py --quick     # 8,000 items over 200 days (under a minute)
    .venv/bin/python benchmarks/reports.py             # 1,000,000 items over 730 days
    .venv/bin/python benchmarks/reports.py --reuse     # keep the generated items and roll-ups if there

Data: benchmarks/_insights_data.py (the insights benchmark's generator: analysed feedback with topics, cases
with timelines and root causes, survey responses with NPS/CSAT/CES and sub-dimensions), rolled up by
voxloop.metrics.services.rebuild(), plus early-warning alerts (alerts.services.detect) and ten improvement
actions on the top topics, so every section of the report has content. Half of the generated teams form a
department, whose month report is timed too.

Timing, in a fresh process after the data is there (so its memory is the report's, not the generator's): for the
last complete month and quarter, ``build_snapshot`` (zh-hans, whole organisation, contacts masked) and, when
``voxloop.reports.render`` is importable, ``render_pdf`` and ``render_xlsx`` of that snapshot; report_*_s is the
wall time of all three (timed without tracemalloc, which slows the renderer about tenfold). report_peak_mb is the
process's peak resident memory after the timed reports (ru_maxrss, Django and the renderer's C libraries
included); the growth of the peak during the reports and the Python-heap peak of one month's report (tracemalloc,
in a pass of its own afterwards) are printed beside it. report_pdf_pages counts the month PDF's pages with pypdf. Targets (issue 21):
month <= 30 s, quarter <= 60 s, <= 500 MB at 1M items.

PostgreSQL from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vx_rdata_bench[_quick]); without
a reachable server the run uses SQLite and says so. The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vx_rdata_bench"
N_ACTIONS = 10


def log(line: str) -> None:
    print(line, flush=True)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# --- child 1: the data -------------------------------------------------------------------------------------------


def setup_child(n_feedback: int, reuse: bool) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks._insights_dashboards import data_present, detect_alerts, setup_data

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    out: dict[str, Any] = {}
    if reuse and data_present(n_feedback):
        log("reusing the data already there")
    else:
        out.update(setup_data(n_feedback))
        out.update(detect_alerts())
        seed_actions()
    seed_department()
    return out


def seed_actions() -> None:
    """Improvement actions on the most complained-about topics, some implemented and measured."""
    from collections import Counter

    from django.utils import timezone

    from voxloop.accounts.models import Department, Role, User
    from voxloop.actions import services
    from voxloop.analysis.models import FeedbackTopic

    today = timezone.localdate()
    manager, _ = User.objects.get_or_create(username="bench-report-manager", defaults={"role": Role.MANAGER})
    department, _ = Department.objects.get_or_create(name="质量部", defaults={"name_en": "Quality", "manager": manager})
    recent = FeedbackTopic.objects.filter(feedback__received_at__date__gte=today - timedelta(days=90))
    top = [code for code, _n in Counter(recent.values_list("top_code", flat=True)[:50_000]).most_common(N_ACTIONS)]
    for i, code in enumerate(top):
        action = services.create_action(manager, title=f"整改：{code}", department=department, owner=manager,
                                        plan="计划", due_date=today + timedelta(days=20 - 5 * i), topics=[code])  # fmt: skip
        services.approve_action(manager, action)
        if i % 2 == 0:
            services.start_action(manager, action)
            services.implement_action(manager, action, today - timedelta(days=30 + i))
    services.measure_open_effects()
    log(f"{len(top)} improvement actions on the top topics")


def seed_department() -> int:
    """Half of the generated teams form one department (idempotent)."""
    from voxloop.accounts.models import Department, Team

    department, _ = Department.objects.get_or_create(name="售后服务部", defaults={"name_en": "After-sales service"})
    teams = list(Team.objects.order_by("pk").values_list("pk", flat=True))
    Team.objects.filter(pk__in=teams[: max(1, len(teams) // 2)]).update(department=department)
    return department.pk


# --- child 2: the reports ------------------------------------------------------------------------------------------


def measure_child() -> dict[str, Any]:
    import django

    django.setup()
    from django.utils import timezone

    from voxloop.accounts.models import Department
    from voxloop.feedback.models import Feedback
    from voxloop.reports.periods import last_complete
    from voxloop.reports.snapshot import ReportScope, build_snapshot

    try:
        from voxloop.reports import render
    except ImportError:
        render = None  # type: ignore[assignment]
    renders = render is not None and hasattr(render, "render_pdf") and hasattr(render, "render_xlsx")
    today = timezone.localdate()
    newest = Feedback.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    if newest is not None:  # the generator's data ends "today" when it ran; a reused database may be older
        today = min(today, timezone.localtime(newest).date() + timedelta(days=1))
    out: dict[str, Any] = {"render": renders, "items": Feedback.objects.count()}
    # Warm-up: imports, the translation catalogs and the renderer's fonts are one-time costs of a worker.
    build_snapshot(last_complete("week", today), ReportScope(), "zh-hans")
    if renders:
        _pdf_pages(render.render_pdf(build_snapshot(last_complete("week", today), ReportScope(), "en")))
    base_rss = rss_mb()
    # Timed without tracemalloc: tracing every allocation slows WeasyPrint's pure-Python layout about tenfold.
    for kind in ("month", "quarter"):
        period = last_complete(kind, today)
        t0 = time.perf_counter()
        snapshot = build_snapshot(period, ReportScope(), "zh-hans")
        snapshot_s = time.perf_counter() - t0
        pdf = render.render_pdf(snapshot) if renders else b""
        pdf_s = time.perf_counter() - t0 - snapshot_s
        xlsx = render.render_xlsx(snapshot) if renders else b""
        total = time.perf_counter() - t0
        pages = _pdf_pages(pdf) if pdf else 0
        size = len(json.dumps(snapshot, ensure_ascii=False).encode())
        log(f"{kind} {period.label('en')}: {total:.2f}s (snapshot {snapshot_s:.2f}s, pdf {pdf_s:.2f}s, "
            f"xlsx {total - snapshot_s - pdf_s:.2f}s); snapshot {size / 1024:.0f} KiB, {len(snapshot['status']['kpis'])} "
            f"KPIs, {len(snapshot['problems']['pareto'])} causes, {len(snapshot['suggestions'])} suggestions; "
            f"pdf {len(pdf) / 1024:.0f} KiB, {pages} pages; xlsx {len(xlsx) / 1024:.0f} KiB")  # fmt: skip
        out[f"{kind}_s"] = total
        out[f"{kind}_snapshot_s"] = snapshot_s
        if kind == "month":
            out["pdf_pages"] = pages
    department = Department.objects.filter(name="售后服务部").first()
    if department is not None:
        t0 = time.perf_counter()
        build_snapshot(last_complete("month", today), ReportScope(department_id=department.pk), "en")
        out["department_month_snapshot_s"] = time.perf_counter() - t0
        log(f"department month snapshot: {out['department_month_snapshot_s']:.2f}s")
    out["peak_mb"] = rss_mb()
    out["peak_growth_mb"] = out["peak_mb"] - base_rss
    # The Python-heap peak of one month's report, traced in a pass of its own after the timed ones.
    tracemalloc.start()
    month = build_snapshot(last_complete("month", today), ReportScope(), "zh-hans")
    if renders:
        render.render_pdf(month)
        render.render_xlsx(month)
    _current, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out["heap_peak_mb"] = heap_peak / 2**20
    log(f"memory: peak RSS {out['peak_mb']:.0f} MB (grew {out['peak_growth_mb']:.0f} MB during the reports), "
        f"Python heap peak {out['heap_peak_mb']:.0f} MB")  # fmt: skip
    return out


def _pdf_pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# --- the parent ------------------------------------------------------------------------------------------------


def child_env(quick: bool) -> tuple[dict[str, str], str]:
    from benchmarks._common import ensure_pg_database, pg_available

    suffix = "_quick" if quick else ""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "CELERY_BROKER_URL": "memory://",
           "ANALYZE_ON_INGEST": "0", "AUTOMATION_ON_ANALYSIS": "0", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    if quick:
        env["BENCH_SPAN_DAYS"] = "200"  # covers the last complete quarter
    data_dir = ROOT / "var" / f"bench-reports{suffix.replace('_', '-')}"
    data_dir.mkdir(parents=True, exist_ok=True)
    env["VOXLOOP_DATA_DIR"] = str(data_dir)
    if pg_available():
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL + suffix)
        ensure_pg_database(url)
        env["DATABASE_URL"] = url
        return env, "postgresql"
    log("PostgreSQL not reachable (VOXLOOP_BENCH_PG): SQLite instead")
    return env, "sqlite"


def run_child(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.Popen([sys.executable, __file__, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        if line.startswith("{"):
            last = line
        else:
            print(line, flush=True)
    if proc.wait() != 0 or not last:
        raise SystemExit(f"benchmark child {args[0]} failed (exit {proc.returncode})")
    return json.loads(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="8,000 items over 200 days")
    parser.add_argument("--feedback", type=int, help="feedback items (default 1,000,000; 8,000 with --quick)")
    parser.add_argument("--reuse", action="store_true", help="keep the generated data if it is there")
    parser.add_argument("--child", choices=["setup", "measure"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_feedback = args.feedback or (8_000 if args.quick else 1_000_000)
    if args.child == "setup":
        print(json.dumps(setup_child(n_feedback, args.reuse)), flush=True)
        return
    if args.child == "measure":
        print(json.dumps(measure_child()), flush=True)
        return
    began = time.perf_counter()
    env, vendor = child_env(args.quick)
    log(f"{vendor}: {n_feedback:,} feedback items")
    setup = run_child(["--child", "setup", "--feedback", str(n_feedback), *(["--reuse"] if args.reuse else [])], env)
    if setup:
        log("data: " + ", ".join(f"{k} {v:.1f}" for k, v in setup.items() if isinstance(v, float)))
    out = run_child(["--child", "measure"], env)
    if not out["render"]:
        log("voxloop.reports.render is not importable here: the times are the snapshot's alone, no PDF pages")
    log(f"done in {time.perf_counter() - began:.0f}s on {vendor}, {out['items']:,} items; {date.today()}")
    print(
        f"RESULT report_month_s={out['month_s']:.2f} report_quarter_s={out['quarter_s']:.2f} "
        f"report_peak_mb={out['peak_mb']:.0f} report_pdf_pages={out.get('pdf_pages', 0)}"
    )


if __name__ == "__main__":
    main()
