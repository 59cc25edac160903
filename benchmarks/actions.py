"""Improvement actions (issue 20): the effect estimator's power and false-positive rate on simulated series,
the time to measure the effect of every open action, and the actions pages' server time.

    .venv/bin/python benchmarks/actions.py --quick     # 300 simulated series per arm; 20,000 feedback items
                                                       # over 200 days, 50 actions
    .venv/bin/python benchmarks/actions.py             # 2,000 series per arm; 1,000,000 items over 730 days,
                                                       # 500 actions
    .venv/bin/python benchmarks/actions.py --db sqlite # SQLite in memory instead of PostgreSQL
    BENCH_PROFILE=1 .venv/bin/python benchmarks/actions.py --quick   # and where the computation spends its time

Database: PostgreSQL when it answers (BENCH_DATABASE_URL or VOXLOOP_TEST_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/vx_bench_actions, with --quick vx_bench_actions_quick; Django creates and drops
the test_ database beside it), else SQLite in memory; the run prints which one it used.

Simulation (voxloop.stats.effects.synthetic_rate_series): a daily complaint rate of 12% of ~120 items a day with
weekday volume, AR(1) noise (rho 0.5) partly shared with a control scope, binomial complaints; 90 days before the
intervention and 30 after. Power = share of "effective" verdicts when the fix cut the rate by 25%; the false-
positive rate = share of "effective" verdicts when nothing changed (nominal alpha / 2 = 2.5%). Both are measured
twice on the same series: with the shipped estimator and, as the named baseline (baseline_effect_*), with
Newey-West lags after the pre-whitening as before (voxloop.stats.effects.PREWHITENED_LAGS).

Database part: feedback items written into the test database (bulk_create on SQLite; on PostgreSQL built by the
server from arrays), then actions on random topics implemented 14-120 days ago;
effect_compute_s is the wall time of measuring all of them once (what the daily task does at most);
actions_page_p95_ms is the p95 over requests of the list (all tabs) and of detail pages with their chart.
The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings_test")

DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_actions"
PROFILE = os.environ.get("BENCH_PROFILE") == "1"  # print where the effect computation spends its time
TOPICS = ["delivery", "quality", "price", "service", "refund", "packaging", "app", "billing", "stock", "install"]


def simulate(runs: int, prewhitened_lags: int | None) -> tuple[float, float, float]:
    """Power and false-positive rate of the verdict with ``prewhitened_lags`` Newey-West lags after the AR(1)
    pre-whitening (None: the automatic lag, the estimator before the recalibration; 0: the shipped one)."""
    from voxloop.stats import effects

    shipped = effects.PREWHITENED_LAGS
    effects.PREWHITENED_LAGS = prewhitened_lags
    try:
        started = time.perf_counter()
        power = effects.simulate_verdicts(np.random.default_rng(20), runs, 0.25, days=120)["effective"]
        null = effects.simulate_verdicts(np.random.default_rng(21), runs, 0.0, days=120)["effective"]
        return power, null, time.perf_counter() - started
    finally:
        effects.PREWHITENED_LAGS = shipped


class SqlTimer:
    """An execute wrapper counting the queries and the time spent in the database (with the driver)."""

    def __init__(self) -> None:
        self.queries, self.seconds = 0, 0.0
        self.by_statement: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - started
            self.queries += 1
            self.seconds += spent
            entry = self.by_statement.setdefault(sql[:90], [0, 0.0])
            entry[0] += 1
            entry[1] += spent


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def database_part(items: int, days: int, actions: int) -> tuple[float, float, dict[str, int]]:
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    print(f"database: {connection.vendor} ({connection.settings_dict['NAME']})", flush=True)
    try:
        return _measure(items, days, actions, timezone)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _days_rows(rng: np.random.Generator, days: int, per_day: int):
    """Per day: its items' topics and whether each is a complaint (the same draws on both databases)."""
    for d in range(days):
        topics = rng.integers(0, len(TOPICS), per_day)
        complaint = rng.random(per_day) < 0.15
        yield d, topics, complaint


def _write_feedback(rng: np.random.Generator, first, days: int, per_day: int, timezone) -> int:
    """The feedback items (item i of a day arrives at 08:00 + 20 i seconds) and their topic rows: bulk_create on
    SQLite; on PostgreSQL built by the server from arrays of the draws, 50,000 rows a statement, so the
    million rows do not wait on Python building objects."""
    from django.db import connection

    from voxloop.analysis.models import FeedbackTopic
    from voxloop.feedback.models import Feedback

    if connection.vendor != "postgresql":
        tz = timezone.get_current_timezone()
        written = 0
        for d, topics, complaint in _days_rows(rng, days, per_day):
            start = datetime.combine(first + timedelta(days=d), dtime(8))
            rows = [
                Feedback(channel="webform", source="bench", external_id=f"b{d}-{i}", text="…",
                         received_at=timezone.make_aware(start + timedelta(seconds=i * 20), tz),
                         kind="complaint" if complaint[i] else "praise",
                         sentiment="negative" if complaint[i] else "positive")
                for i in range(per_day)
            ]  # fmt: skip
            created = Feedback.objects.bulk_create(rows, batch_size=5000)
            FeedbackTopic.objects.bulk_create(
                [FeedbackTopic(feedback_id=f.pk, code=TOPICS[t], top_code=TOPICS[t])
                 for f, t in zip(created, topics, strict=True)],
                batch_size=5000,
            )  # fmt: skip
            written += len(created)
        return written

    def template_row(model, template, varying: set[str]) -> tuple[list[str], list]:
        """Every concrete column but the varying ones, with the value the ORM would write for ``template``."""
        fields = [f for f in model._meta.concrete_fields if f.attname not in varying]
        return [f.column for f in fields], [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]

    feedback_cols, feedback_fixed = template_row(
        Feedback, Feedback(channel="webform", source="bench", external_id="", text="…", received_at=timezone.now()),
        {"id", "external_id", "received_at", "kind", "sentiment"},
    )  # fmt: skip
    topic_cols, topic_fixed = template_row(
        FeedbackTopic, FeedbackTopic(code="", top_code=""), {"id", "feedback_id", "code", "top_code"}
    )
    insert_feedback = f"""
        INSERT INTO feedback_feedback (id, external_id, received_at, kind, sentiment, {", ".join(feedback_cols)})
        SELECT n, 'b' || d || '-' || i, ((%s::date + d) + time '08:00' + i * interval '20 seconds') AT TIME ZONE %s,
               CASE WHEN c THEN 'complaint' ELSE 'praise' END, CASE WHEN c THEN 'negative' ELSE 'positive' END,
               {", ".join(["%s"] * len(feedback_cols))}
        FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::bool[]) AS t(n, d, i, c)"""
    insert_topics = f"""
        INSERT INTO analysis_feedbacktopic (feedback_id, code, top_code, {", ".join(topic_cols)})
        SELECT n, code, code, {", ".join(["%s"] * len(topic_cols))} FROM unnest(%s::bigint[], %s::text[]) AS t(n, code)"""
    tz_name = timezone.get_current_timezone_name()
    written = 0
    with connection.cursor() as cursor:
        batch: dict[str, list] = {"d": [], "i": [], "c": [], "code": []}

        def flush() -> int:
            ids = list(range(written + 1, written + len(batch["d"]) + 1))
            cursor.execute(insert_feedback, [first, tz_name, *feedback_fixed, ids, batch["d"], batch["i"], batch["c"]])
            cursor.execute(insert_topics, [*topic_fixed, ids, batch["code"]])
            for values in batch.values():
                values.clear()
            return len(ids)

        for d, topics, complaint in _days_rows(rng, days, per_day):
            batch["d"] += [d] * per_day
            batch["i"] += range(per_day)
            batch["c"] += complaint.tolist()
            batch["code"] += [TOPICS[t] for t in topics]
            if len(batch["d"]) >= 50_000:
                written += flush()
        if batch["d"]:
            written += flush()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('feedback_feedback', 'id'), (SELECT max(id) FROM feedback_feedback))"
        )
    return written


def _measure(items: int, days: int, n_actions: int, timezone) -> tuple[float, float, dict[str, int]]:
    from django.db import connection
    from django.test import Client

    from voxloop.accounts.models import Department, Role, User
    from voxloop.actions import services
    from voxloop.actions.models import ImprovementAction

    rng = np.random.default_rng(5)
    today = timezone.localdate()
    first = today - timedelta(days=days)
    per_day = max(1, items // days)
    started = time.perf_counter()
    written = _write_feedback(rng, first, days, per_day, timezone)
    print(f"wrote {written:,} feedback items over {days} days in {time.perf_counter() - started:.1f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # fresh tables: give the planner their statistics, as autovacuum would
            cursor.execute("ANALYZE feedback_feedback; ANALYZE analysis_feedbacktopic")

    manager = User.objects.create_user("bench-manager", password="pw", role=Role.MANAGER)
    department = Department.objects.create(name="质量部", name_en="Quality", manager=manager)
    for i in range(n_actions):
        action = services.create_action(
            manager, title=f"整改 {i}", department=department, owner=manager, plan="计划",
            due_date=today + timedelta(days=int(rng.integers(-20, 40))), topics=[TOPICS[i % len(TOPICS)]],
        )  # fmt: skip
        services.approve_action(manager, action)
        services.start_action(manager, action)
        services.implement_action(manager, action, today - timedelta(days=int(rng.integers(14, 121))))
    open_actions = list(ImprovementAction.objects.all())
    sql = SqlTimer()
    started = time.perf_counter()
    profiler = cProfile.Profile() if PROFILE else None
    with connection.execute_wrapper(sql):
        if profiler:
            profiler.enable()
        verdicts = services.measure_open_effects()
        if profiler:
            profiler.disable()
    compute_s = time.perf_counter() - started
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        for statement, (count, spent) in sorted(sql.by_statement.items(), key=lambda kv: -kv[1][1])[:15]:
            print(f"  {count:5d} {spent:7.2f} s  {statement}")
    print(f"measured {len(open_actions)} actions in {compute_s:.1f} s: {verdicts}", flush=True)
    print(f"  {sql.queries} queries ({sql.queries / max(len(open_actions), 1):.1f} per action), "
          f"{sql.seconds:.1f} s in SQL, {compute_s - sql.seconds:.1f} s in Python", flush=True)  # fmt: skip

    client = Client()
    client.force_login(manager)
    urls = [f"/actions/?tab={tab}&status=all" for tab in ("mine", "department", "all")]
    urls += [f"/actions/{a.pk}/" for a in open_actions[:10]]
    for url in urls:  # warm-up
        assert client.get(url).status_code == 200, url
    timings = []
    for _ in range(5):
        for url in urls:
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
    return compute_s, percentile(timings, 95), verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--db", choices=["pg", "sqlite"], help="default: PostgreSQL when it answers, else SQLite")
    args = parser.parse_args()
    from benchmarks._common import ensure_pg_database, pg_available

    database = args.db or ("pg" if os.environ.get("VOXLOOP_TEST_DATABASE_URL") or pg_available() else "sqlite")
    if database == "pg":
        # settings_test reads this; Django creates (and drops after) the test database beside it
        url = os.environ.get("VOXLOOP_TEST_DATABASE_URL") or os.environ.get(
            "BENCH_DATABASE_URL", DEFAULT_PG_URL + ("_quick" if args.quick else "")
        )
        ensure_pg_database(url)
        os.environ["VOXLOOP_TEST_DATABASE_URL"] = url
    else:
        os.environ.pop("VOXLOOP_TEST_DATABASE_URL", None)
    runs, items, days, actions = (300, 20_000, 200, 50) if args.quick else (2000, 1_000_000, 730, 500)
    from voxloop.stats import effects

    # the named baseline: the same simulated series judged with Newey-West lags after the whitening, as before
    base_power, base_false_positive, base_s = simulate(runs, None)
    print(
        f"simulation, baseline (Newey-West lags after whitening): {runs} series per arm in {base_s:.1f} s; "
        f"power {base_power:.3f}, false positives {base_false_positive:.3f}"
    )
    power, false_positive, sim_s = simulate(runs, effects.PREWHITENED_LAGS)
    print(
        f"simulation, shipped ({effects.PREWHITENED_LAGS} lags after whitening): {runs} series per arm in "
        f"{sim_s:.1f} s; power {power:.3f}, false positives {false_positive:.3f} (nominal 0.025)"
    )
    compute_s, page_p95, _ = database_part(items, days, actions)
    print(
        f"RESULT effect_detect_power={power:.3f} effect_false_positive_rate={false_positive:.3f} "
        f"baseline_effect_detect_power={base_power:.3f} baseline_effect_false_positive_rate={base_false_positive:.3f} "
        f"effect_compute_s={compute_s:.2f} actions_page_p95_ms={page_p95:.1f} load_avg={os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
