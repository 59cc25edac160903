"""Child of benchmarks/insights.py: the insight pages' server time on one database.

Runs in its own process because Django is configured once per process: the parent sets DATABASE_URL
(PostgreSQL) or VOXLOOP_DATA_DIR (SQLite, the default settings and pragmas) and reads the JSON object this
script prints on its last line. Steps:

1. migrate; unless --reuse finds the data there, generate it (benchmarks/_insights_data.py) and rebuild
   the roll-ups with voxloop.metrics.services.rebuild() (timed);
2. check the roll-ups add up (feedback total = rows) and list the sums they carry;
3. incremental maintenance: 1,000 new items arrive today and are analysed by the real pipeline, then
   1,000 old items (spread over the two years) are re-analysed; each time catch_up() + refresh_dirty()
   (what the metrics-refresh beat task runs) is timed until nothing is dirty;
4. early warning: alerts.services.detect() once, so its page has alerts (timed; a batch job, not a page);
5. every page of insight_navigation() (or /metrics/ while there is none) with its variants, requested by a
   signed-in analyst through the Django test client: one warm-up, then --runs timed requests; server time
   is the time of client.get (view, queries and template rendering). One more request per variant runs
   under CaptureQueriesContext to split that time into SQL and Python and name the slowest query.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import median, percentile  # noqa: E402

TARGET_MS = 300.0


def log(line: str) -> None:
    print(line, flush=True)


def data_present(n_feedback: int) -> bool:
    from voxloop.feedback.models import Feedback
    from voxloop.metrics.models import MetricDaily

    have = Feedback.objects.filter(source="bench").count()
    return have >= n_feedback and MetricDaily.objects.filter(source="feedback").exists()


def setup_data(n_feedback: int) -> dict[str, Any]:
    from django.db import connection, transaction

    from benchmarks import _insights_data as data
    from voxloop.cases.models import Severity, SLAPolicy
    from voxloop.metrics import services
    from voxloop.surveys.models import Question, Survey

    dialect = data.Dialect(connection.vendor)
    with transaction.atomic(), connection.cursor() as cursor:
        data.empty_tables(cursor, dialect)
    policy = SLAPolicy.objects.filter(severity=Severity.NORMAL, team__isnull=True, customer_segment="").first()
    assert policy is not None, "the default SLA policies come from a data migration"
    survey = Survey.objects.create(name="bench CSAT", kind="csat", languages=["zh-hans"])
    question_ids = [
        Question.objects.create(survey=survey, order=i, kind="csat", dimension=d, text_zh=d).pk
        for i, d in enumerate(("speed", "resolution", "attitude"), start=1)
    ]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        counts = data.generate(cursor, dialect, n_feedback, policy.pk, survey.pk, question_ids, int(time.time()), log)
    generate_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        data.analyse_tables(cursor, dialect)
    log(f"generated {', '.join(f'{v:,} {k}' for k, v in counts.items())} in {generate_s:.1f}s")
    t0 = time.perf_counter()
    days = services.rebuild()
    rebuild_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        data.analyse_tables(cursor, dialect)
    log(f"rebuild(): {days} source-days in {rebuild_s:.1f}s")
    return {"generate_s": generate_s, "rebuild_s": rebuild_s}


def check_rollups() -> dict[str, Any]:
    """The feedback total adds up to the rows, and which sums and dimensions the roll-ups carry."""
    from django.db.models import Sum

    from voxloop.feedback.models import Feedback
    from voxloop.metrics.models import MetricDaily

    rows = Feedback.objects.count()
    total = MetricDaily.objects.filter(source="feedback", dimension="").aggregate(n=Sum("n"))["n"] or 0
    dims = {}
    for source in ("feedback", "cases", "responses"):
        dims[source] = sorted(
            set(MetricDaily.objects.filter(source=source).values_list("dimension", flat=True).distinct())
        )
    keys: set[str] = set()
    for sums in (
        MetricDaily.objects.filter(source="feedback", dimension="").order_by("-day").values_list("sums", flat=True)[:5]
    ):
        keys |= {k.split(":")[0] + (":*" if ":" in k else "") for k in sums}
    case_keys: set[str] = set()
    for sums in (
        MetricDaily.objects.filter(source="cases", dimension="").order_by("-day").values_list("sums", flat=True)[:30]
    ):
        case_keys |= {k.split(":")[0] + (":*" if ":" in k else "") for k in sums}
    ok = total == rows
    log(f"roll-up check: feedback total {total:,} vs {rows:,} rows ({'ok' if ok else 'MISMATCH'}); "
        f"{MetricDaily.objects.count():,} roll-up rows")  # fmt: skip
    for source, values in dims.items():
        log(f"  {source} dimensions: {', '.join(d or '(total)' for d in values)}")
    log(f"  feedback sums: {', '.join(sorted(keys))}")
    log(f"  cases sums: {', '.join(sorted(case_keys))}")
    return {"rollups_ok": ok, "rollup_rows": MetricDaily.objects.count()}


def drain_dirty(now: Any = None) -> tuple[int, int]:
    """What the metrics-refresh beat task does, run until nothing is left: (days refreshed, task runs)."""
    from voxloop.metrics import services

    services.catch_up(now)
    days = runs = 0
    while True:
        done = services.refresh_dirty()
        runs += 1
        days += done
        if not done:
            return days, runs


def incremental(n_new: int, n_old: int) -> dict[str, float]:
    """New items today and re-analysed old ones, folded into the roll-ups the incremental way."""
    from django.db.models import Sum
    from django.utils import timezone

    from benchmarks._insights_data import TEMPLATES
    from voxloop.analysis import services as analysis_services
    from voxloop.analysis.services import analyze_feedback
    from voxloop.feedback.models import Customer, Feedback, Product
    from voxloop.metrics import deltas
    from voxloop.metrics.days import day_bounds, local_day
    from voxloop.metrics.models import MetricDaily

    drain_dirty()  # start clean: anything the rebuild left (none expected)
    stamp = int(time.time())
    now = timezone.now()
    products = list(Product.objects.order_by("pk").values_list("pk", flat=True)[:50])
    customer0 = Customer.objects.order_by("pk").values_list("pk", flat=True).first()
    steady = [t for t, _w, g in TEMPLATES if g in ("", "focus")]
    Feedback.objects.bulk_create(
        [
            Feedback(
                channel="webform", source="bench-new", external_id=f"{stamp}-{i}", received_at=now,
                text=steady[i % len(steady)], product_id=products[i % len(products)],
                customer_id=(customer0 + i) if customer0 else None,
            )
            for i in range(n_new)
        ],
        batch_size=500,
    )  # fmt: skip
    new_ids = list(Feedback.objects.filter(source="bench-new", external_id__startswith=f"{stamp}-")
                   .values_list("pk", flat=True))  # fmt: skip
    t0 = time.perf_counter()
    analyze_feedback(new_ids)
    analyse_new_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    days_new, runs_new = drain_dirty()
    new_ms = (time.perf_counter() - t0) * 1000
    today = local_day(now)
    counted = MetricDaily.objects.filter(source="feedback", dimension="", day=today).aggregate(n=Sum("n"))["n"] or 0
    in_db = Feedback.objects.filter(received_at__gte=day_bounds(today)[0], received_at__lt=day_bounds(today)[1]).count()
    log(f"incremental: {n_new:,} new items today analysed in {analyse_new_s:.1f}s; catch_up + refresh_dirty "
        f"{new_ms:.0f} ms ({days_new} day(s), {runs_new} task run(s)); today's total {counted:,} = {in_db:,} rows "
        f"{'ok' if counted == in_db else 'MISMATCH'}")  # fmt: skip

    # Old items spread over the whole span: every 1/n_old-th item by id; the baseline takes the items halfway
    # between, so both sets touch as many days. Each gets another template's text first, so that the
    # re-analysis changes its sentiment, topics and emotions (re-analysing unchanged text changes nothing).
    first, last = (
        Feedback.objects.filter(source="bench").order_by("pk").values_list("pk", flat=True)[:1][0],
        (Feedback.objects.filter(source="bench").order_by("-pk").values_list("pk", flat=True)[:1][0]),
    )
    stride = max(2, (last - first) // n_old)
    old_ids = list(range(first, last + 1, stride))[:n_old]
    baseline_ids = [pk + stride // 2 for pk in old_ids]
    texts = [t for t, _w, _g in TEMPLATES]
    for ids in (old_ids, baseline_ids):
        items = list(Feedback.objects.filter(pk__in=ids).only("id", "text"))
        for i, item in enumerate(items):
            item.text = (
                texts[(texts.index(item.text) + 1 + i) % len(texts)] if item.text in texts else texts[i % len(texts)]
            )
        Feedback.objects.bulk_update(items, ["text"], batch_size=500)

    # New path: folded in by deltas inside the analysis transaction (the hooks are timed), then the beat task.
    # Their CPU too (this process and its PostgreSQL backend, when that runs on this machine): on a shared machine
    # the wall time is mostly waiting for a CPU, the CPU time is what a quiet machine would spend.
    fold_s = [0.0]
    fold_cpu = [0.0]
    backend_cpu = _backend_cpu_reader()

    def timed(handler: Any) -> Any:
        def run(ids: list[int]) -> None:
            t, c, b = time.perf_counter(), time.process_time(), backend_cpu()
            handler(ids)
            fold_s[0] += time.perf_counter() - t
            fold_cpu[0] += time.process_time() - c + backend_cpu() - b

        return run

    hooks = [(analysis_services.analysis_replacing, deltas.before_reanalysis),
             (analysis_services.analysis_replaced, deltas.after_reanalysis)]  # fmt: skip
    for hook, handler in hooks:
        hook.unregister(handler)
        hook.register(timed(handler))
    t0 = time.perf_counter()
    analyze_feedback(old_ids)
    analyse_old_s = time.perf_counter() - t0 - fold_s[0]
    for hook, _handler in hooks:
        for registered in hook.handlers:
            hook.unregister(registered)
    t0 = time.perf_counter()
    days_old, runs_old = drain_dirty()
    old_ms = (time.perf_counter() - t0 + fold_s[0]) * 1000
    log(f"incremental: {len(old_ids):,} old items re-analysed in {analyse_old_s:.1f}s; folded by deltas "
        f"{fold_s[0] * 1000:.0f} ms (CPU {fold_cpu[0] * 1000:.0f} ms, this process and its database backend) + "
        f"catch_up + refresh_dirty {old_ms - fold_s[0] * 1000:.0f} ms "
        f"({days_old} days recomputed, {runs_old} task runs) = {old_ms:.0f} ms")  # fmt: skip

    # Baseline, the old path: no deltas, the catch-up recomputes every touched day from its rows.
    t0 = time.perf_counter()
    analyze_feedback(baseline_ids)
    analyse_base_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    days_base, runs_base = drain_dirty()
    base_ms = (time.perf_counter() - t0) * 1000
    for hook, handler in hooks:
        hook.register(handler)
    log(f"incremental baseline (full recompute of the touched days): {len(baseline_ids):,} other old items "
        f"re-analysed in {analyse_base_s:.1f}s; catch_up + refresh_dirty {base_ms:.0f} ms ({days_base} days, "
        f"{runs_base} task runs, {base_ms / max(1, days_base):.0f} ms a day)")  # fmt: skip
    rows = Feedback.objects.count()
    total = MetricDaily.objects.filter(source="feedback", dimension="").aggregate(n=Sum("n"))["n"] or 0
    log(f"incremental: feedback total {total:,} vs {rows:,} rows ({'ok' if total == rows else 'MISMATCH'})")
    # The task looks back CATCH_UP_OVERLAP (5 minutes) for late commits, so what changed just now is seen
    # again by the next runs; the idle cost is the steady state, as the task sees it 10 minutes later.
    later = timezone.now() + timedelta(minutes=10)
    drain_dirty(later)
    t0 = time.perf_counter()
    drain_dirty(later + timedelta(minutes=1))
    idle_ms = (time.perf_counter() - t0) * 1000
    log(f"incremental: catch_up + refresh_dirty when nothing changed {idle_ms:.0f} ms")
    return {"incr_new_ms": new_ms, "incr_reanalysed_ms": old_ms, "incr_idle_ms": idle_ms,
            "incr_fold_cpu_ms": fold_cpu[0] * 1000,
            "incr_reanalysed_days": days_old, "incr_reanalysed_full_ms": base_ms}  # fmt: skip


def _backend_cpu_reader() -> Any:
    """Seconds of CPU the database backend of this connection has used so far (PostgreSQL on this machine, read
    from /proc); a reader that always says 0 elsewhere."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    if not stat.exists():
        return lambda: 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return read


def detect_alerts() -> dict[str, float]:
    try:
        from voxloop.alerts import services as alerts
    except ImportError:
        return {}
    if not hasattr(alerts, "detect"):
        return {}
    t0 = time.perf_counter()
    try:
        run = alerts.detect(backfill=False)
    except Exception as exc:  # noqa: BLE001 - another helper's code mid-change must not stop the timing
        log(f"alerts.detect() failed: {exc!r}")
        return {}
    seconds = time.perf_counter() - t0
    log(f"alerts.detect(): {seconds:.1f}s ({run})")
    return {"alerts_detect_s": seconds}


class QueryRecorder:
    """A database execute wrapper that times every query of one request (works with DEBUG off)."""

    def __init__(self) -> None:
        self.queries: list[tuple[float, str]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - t0) * 1000, sql))


def page_variants(quick: bool = False) -> list[tuple[str, str, dict[str, str]]]:
    """(page, variant, params) for every installed insight page, or /metrics/ while there is none."""
    from django.urls import reverse

    from voxloop.feedback.models import Product

    product = Product.objects.order_by("pk").values_list("pk", flat=True).first()
    try:
        from voxloop.insights.pages import insight_navigation

        pages = [(item["key"], item["url"]) for item in insight_navigation()]
    except ImportError:
        pages = []
    out = []
    keep = ("default", "period=730", "730 days") if quick else None  # the page as opened, and the most days
    if not pages:
        url = reverse("metrics:panel")
        start = time.strftime("%Y-%m-%d", time.localtime(time.time() - 729 * 86400))
        end = time.strftime("%Y-%m-%d")
        for name, params in (("default", {}), ("period=90", {"period": "90"}),
                             ("730 days", {"period": "custom", "start": start, "end": end}),
                             ("topic=logistics", {"cut": "topic", "value": "logistics"}),
                             ("product", {"cut": "product", "value": str(product)})):  # fmt: skip
            out.append(("metrics (stand-in)", url + "|" + name, params))
        return [v for v in out if keep is None or v[1].split("|")[1] in keep]
    for key, url in pages:
        for name, params in (("default", {}), ("period=730", {"period": "730"}), ("period=90", {"period": "90"}),
                             ("topic=logistics", {"topic": "logistics"}), ("product", {"product": str(product)})):  # fmt: skip
            out.append((key, url + "|" + name, params))
    return [v for v in out if keep is None or v[1].split("|")[1] in keep]


def time_pages(runs: int, label: str, quick: bool = False) -> dict[str, Any]:
    from django.test import Client

    from voxloop.accounts.models import User

    user, _ = User.objects.get_or_create(username="bench-analyst", defaults={"role": "analyst", "language": "zh-hans"})
    client = Client(raise_request_exception=False)  # a failing page is reported (HTTP 500), not fatal
    client.force_login(user)
    results: dict[str, Any] = {}
    for page, key, params in page_variants(quick):
        url, variant = key.split("|")
        try:
            results[f"{page} {variant}"] = time_variant(client, label, page, url, variant, params, runs)
        except Exception as exc:  # noqa: BLE001 - another helper's page mid-change: report it, time the rest
            log(f"{label:6s} {page:18s} {variant:16s} FAILED: {exc!r}")
            results[f"{page} {variant}"] = {"page": page, "variant": variant, "status": 0, "p50": float("nan"),
                                            "p95": float("nan"), "cpu_p50": float("nan"), "cpu_p95": float("nan")}  # fmt: skip
    return results


def time_variant(client: Any, label: str, page: str, url: str, variant: str, params: dict[str, str], runs: int
                 ) -> dict[str, Any]:  # fmt: skip
    from django.db import connection

    response = client.get(url, params)  # warm-up (imports, template loading, database caches)
    status = response.status_code
    timings, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(url, params)
        timings.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        status = max(status, response.status_code)
    recorder = QueryRecorder()
    with connection.execute_wrapper(recorder):
        t0 = time.perf_counter()
        client.get(url, params)
        total = (time.perf_counter() - t0) * 1000
    sql_ms = sum(ms for ms, _sql in recorder.queries)
    slowest = max(recorder.queries, default=(0.0, ""))
    p50, p95 = median(timings), percentile(timings, 95)
    entry = {"page": page, "variant": variant, "status": status, "p50": p50, "p95": p95,
             "cpu_p50": median(cpu), "cpu_p95": percentile(cpu, 95), "queries": len(recorder.queries), "sql_ms": sql_ms, "python_ms": max(0.0, total - sql_ms)}  # fmt: skip
    flag = (
        "" if p95 <= TARGET_MS and status == 200 else "  <-- OVER TARGET" if status == 200 else f"  <-- HTTP {status}"
    )
    log(f"{label:6s} {page:18s} {variant:16s} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"(CPU p50 {median(cpu):.0f} ms; {len(recorder.queries)} queries, SQL {sql_ms:.0f} ms, Python {entry['python_ms']:.0f} ms){flag}")  # fmt: skip
    if p95 > TARGET_MS:
        log(f"         slowest query {slowest[0]:.0f} ms: {' '.join(slowest[1].split())[:400]}")
    return entry


def vacuum_rollups() -> None:
    """What autovacuum does on a production PostgreSQL: refreshing a day deletes and re-inserts its roll-up rows,
    and until a vacuum runs the dead rows stay in the table and index-only scans must visit the heap. The
    servers these benchmarks run on have autovacuum off (a test-speed configuration), so after rewriting every
    day (the re-analysis step) the table is vacuumed here, as autovacuum would within minutes."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        setting = cursor.fetchone()[0]
        cursor.execute("VACUUM ANALYZE metrics_metricdaily")
    log(
        f"VACUUM ANALYZE metrics_metricdaily (this server's autovacuum: {setting}) in {time.perf_counter() - began:.1f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--incremental", type=int, default=1000, help="new items arriving today")
    parser.add_argument("--reanalyse", type=int, default=1000, help="old items re-analysed")
    parser.add_argument("--label", default="db")
    parser.add_argument("--quick", action="store_true", help="two variants per page: default and period=730")
    parser.add_argument("--skip-pages", action="store_true", help="data and roll-up maintenance only")
    args = parser.parse_args()

    import django

    django.setup()
    # A failing page is counted (its status is reported); its traceback would drown the timings.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    out: dict[str, Any] = {"vendor": connection.vendor}
    if args.reuse and data_present(args.feedback):
        log(f"{args.label}: reusing the data already there")
    else:
        out.update(setup_data(args.feedback))
    out.update(check_rollups())
    out.update(incremental(args.incremental, args.reanalyse))
    out.update(detect_alerts())
    vacuum_rollups()
    pages = {} if args.skip_pages else time_pages(args.runs, args.label, args.quick)
    out["pages"] = pages
    timed = [p for p in pages.values() if p["status"]]  # leave out variants that raised
    out["p95"] = max((p["p95"] for p in timed), default=float("nan"))
    out["cpu_p95"] = max((p["cpu_p95"] for p in timed), default=float("nan"))
    out["load_avg"] = os.getloadavg()[0]
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
