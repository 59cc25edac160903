"""Metrics benchmark on PostgreSQL: the full KPI panel over 1,000,000 feedback items, 200,000 cases and
300,000 survey responses, read from the daily roll-ups.

    .venv/bin/python benchmarks/metrics.py --quick     # 1/50 of the rows over 200 days, sub-minute
    .venv/bin/python benchmarks/metrics.py             # the full size

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_metrics, with
--quick vx_bench_metrics_quick),
created and migrated if missing; its feedback, case, survey and roll-up tables are emptied first. Rows are
generated in the database (INSERT ... SELECT generate_series), spread over 365 days, then the roll-ups are
rebuilt with the same service the `rebuild_rollups` command uses. The "full KPI panel" is what /metrics/
computes when opened: every KPI for the period and the previous one with daily series, CSAT sub-dimensions,
repurchase bands, and the breakdown table (by topic); it is also timed with the per-agent workload table. It is timed for 90 days and for twice that (180),
to show that the cost follows the number of days, not the number of rows.
Last line: RESULT key=value ...
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ensure_pg_database, median, percentile  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_metrics"
SPAN_DAYS = 365
TOPICS = ["product_quality", "service_attitude", "response_speed", "logistics", "price_billing", "returns_refunds",
          "repair_installation", "communication", "account_payment", "usability", "environment"]  # fmt: skip
CHANNELS = ["hotline", "email", "webform", "chat", "social", "review", "survey", "in_person", "staff", "api"]
SEGMENTS = ["loyal_advocate", "growth_potential", "high_risk_recovery", "at_risk", ""]


def generate(cursor, n_feedback: int, n_cases: int, n_responses: int, policy_id: int, survey_id: int,
             question_ids: list[int]) -> None:  # fmt: skip
    """Everything in SQL: a few seconds per million rows. Times are spread uniformly over SPAN_DAYS days."""
    n_customers, n_products, n_teams, n_agents = max(1000, n_feedback // 10), 50, 10, 100
    span = f"{SPAN_DAYS} days"
    q = cursor.execute
    # The rows below are consistent by construction; skipping the deferred foreign-key checks at COMMIT saves
    # most of the setup time (they are millions of single-row look-ups). Needs a superuser, as the default has.
    q("SET LOCAL session_replication_role = replica")
    q(f"""INSERT INTO accounts_team (created_at, updated_at, name, name_en)
          SELECT now(), now(), 'team ' || i, 'team ' || i FROM generate_series(1, {n_teams}) i""")
    q(f"""INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email, is_staff,
          is_active, date_joined, role, language, languages_spoken, skills, is_away)
          SELECT '!', false, 'bench-agent-' || i, '', '', '', false, true, now(), 'agent', '', '[]', '[]', false
          FROM generate_series(1, {n_agents}) i""")
    q(f"""INSERT INTO feedback_product (created_at, updated_at, code, name, name_en, category)
          SELECT now(), now(), 'BP' || i, '商品' || i, 'product ' || i, '' FROM generate_series(1, {n_products}) i""")
    q(f"""INSERT INTO feedback_customer (created_at, updated_at, external_id, name, email, phone, handles, language,
          tags, segment, lifetime_value, order_count, opted_out, attributes)
          SELECT now(), now(), 'BC' || i, '', '', '', '{{}}', 'zh', '[]',
                 (ARRAY{SEGMENTS!r})[1 + i % {len(SEGMENTS)}], 0, 0, false, '{{}}'
          FROM generate_series(1, {n_customers}) i""")
    q("CREATE TEMP TABLE ids AS SELECT "
      "(SELECT min(id) FROM accounts_team) t0, (SELECT min(id) FROM accounts_user WHERE username LIKE 'bench-%') u0, "
      "(SELECT min(id) FROM feedback_product) p0, (SELECT min(id) FROM feedback_customer) c0")  # fmt: skip
    q(f"""INSERT INTO feedback_feedback (created_at, updated_at, channel, source, external_id, customer_id,
          contact_name, contact_email, contact_phone, received_at, title, text, order_ref, raw_payload, attachments,
          thread_key, language, sentiment, kind, urgency, analysis_status, model_version, product_id)
          SELECT now(), now(), (ARRAY{CHANNELS!r})[1 + (i * 7) % {len(CHANNELS)}], 'bench', i::text,
                 ids.c0 + (i * 7919) % {n_customers}, '', '', '', now() - random() * interval '{span}', '',
                 '快递太慢了', '', '{{}}', '[]', '', 'zh',
                 (ARRAY['positive','neutral','negative'])[1 + (i * 13) % 3],
                 (ARRAY['complaint','praise','suggestion','question','complaint'])[1 + (i * 17) % 5], 'normal',
                 'done', 'bench', ids.p0 + i % {n_products}
          FROM generate_series(1::bigint, {n_feedback}) i, ids""")
    q(f"""INSERT INTO analysis_feedbacktopic (feedback_id, code, top_code, confidence, origin, sentiment)
          SELECT id, t, t, 0.9, 'model', '' FROM (
            SELECT id, (ARRAY{TOPICS!r})[1 + (id * 31) % {len(TOPICS)}] t FROM feedback_feedback) x""")
    # Cases: one per feedback item among the first n_cases, opened when it arrived.
    q(f"""INSERT INTO cases_case (created_at, updated_at, number, title, status, severity, first_response_warned,
          first_response_breached, resolution_warned, resolution_breached, escalation_level, paused_business_seconds,
          reopen_count, root_cause, resolution, tracking_token, language, customer_id, team_id, assignee_id,
          sla_policy_id, first_responded_at, resolved_at, repeat_of_id)
          SELECT f.received_at, now(), 'BK' || f.id, 'bench', CASE WHEN f.id % 7 = 0 THEN 'open' ELSE 'resolved' END,
                 'normal', false, f.id % 11 = 0, false, f.id % 13 = 0, 0, (f.id % 5) * 600, (f.id % 17 = 0)::int,
                 'logistics', 'done', md5(f.id::text || 'bench'), 'zh', f.customer_id, ids.t0 + f.id % 10,
                 ids.u0 + f.id % 100, {policy_id}, f.received_at + (60 + random() * 86400) * interval '1 second',
                 CASE WHEN f.id % 7 = 0 THEN NULL
                      ELSE f.received_at + (3600 + random() * 5 * 86400) * interval '1 second' END, NULL
          FROM feedback_feedback f, ids ORDER BY f.id LIMIT {n_cases}""")
    q("UPDATE cases_case SET repeat_of_id = id - 1 WHERE id % 9 = 0")
    q("""INSERT INTO cases_casefeedback (linked_at, case_id, feedback_id)
          SELECT c.created_at, c.id, f.id FROM cases_case c JOIN feedback_feedback f ON f.external_id = substr(c.number, 3)
          AND f.source = 'bench'""")
    q("""INSERT INTO cases_caseevent (kind, payload, created_at, processed, case_id)
          SELECT 'public_reply', '{"text": "ok"}'::jsonb, c.first_responded_at, true, c.id FROM cases_case c
          UNION ALL
          SELECT 'public_reply', '{"text": "again"}'::jsonb, c.first_responded_at + interval '1 hour', true, c.id
          FROM cases_case c WHERE c.id % 3 = 0""")
    # Responses: 2/3 follow a case (and credit its agent), the rest are relationship surveys.
    q(f"""INSERT INTO surveys_response (submitted_at, updated_at, language, channel, comment, editable_until,
          survey_id, customer_id, case_id, agent_id, team_id, product_id, nps, csat, ces)
          SELECT t, now(), 'zh', 'followup', '', t + interval '30 minutes', {survey_id}, ids.c0 + (i * 104729) % {n_customers},
                 CASE WHEN i % 3 = 0 THEN NULL ELSE (SELECT min(id) FROM cases_case) + i % {n_cases} END,
                 ids.u0 + (i * 7) % 100, ids.t0 + i % 10, ids.p0 + i % {n_products},
                 (i * 7) % 11, 1 + (i * 3) % 5, 1 + (i * 5) % 7
          FROM (SELECT i, now() - random() * interval '{span}' t FROM generate_series(1::bigint, {n_responses}) i) g, ids""")
    q(f"""INSERT INTO surveys_answer (response_id, question_id, dimension, number, text, choices)
          SELECT r.id, q.id, q.dimension, 1 + (r.id + q.id) % 5, '', '[]' FROM surveys_response r,
          surveys_question q WHERE q.id IN ({",".join(map(str, question_ids))})""")
    q(f"""INSERT INTO feedback_order (created_at, updated_at, external_id, ordered_at, amount, quantity, status,
          raw_payload, customer_id)
          SELECT now(), now(), 'BO' || i, now() - random() * interval '{span}', 99, 1, 'paid', '{{}}',
                 ids.c0 + (i * 15485863) % {n_customers}
          FROM generate_series(1::bigint, {n_customers * 2}) i, ids""")
    for table in ("feedback_feedback", "analysis_feedbacktopic", "cases_case", "cases_caseevent", "cases_casefeedback",
                  "surveys_response", "surveys_answer", "feedback_order", "feedback_customer"):  # fmt: skip
        q(f"ANALYZE {table}")


def setup(args: argparse.Namespace) -> float:
    """Empty the tables, generate the rows, rebuild the roll-ups; returns the rebuild time in seconds."""
    from django.db import connection, transaction

    from voxloop.cases.models import Severity, SLAPolicy
    from voxloop.metrics import services
    from voxloop.surveys.models import Question, Survey

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE metrics_metricdaily, metrics_dirtyday, metrics_watermark, surveys_answer, surveys_response, "
            "surveys_invitation, cases_caseevent, cases_casefeedback, cases_case, analysis_feedbacktopic, "
            "analysis_feedbackanalysis, feedback_feedback, feedback_order, feedback_customer, feedback_product "
            "RESTART IDENTITY CASCADE"
        )
        cursor.execute("DELETE FROM accounts_user WHERE username LIKE 'bench-%'")
        cursor.execute("DELETE FROM accounts_team WHERE name LIKE 'team %'")
    policy = SLAPolicy.objects.filter(severity=Severity.NORMAL, team__isnull=True, customer_segment="").first()
    assert policy is not None, "the default SLA policies come from a data migration"
    survey = Survey.objects.create(name="bench CSAT", kind="csat", languages=["zh-hans"])
    question_ids = [
        Question.objects.create(survey=survey, order=i, kind="csat", dimension=d, text_zh=d).pk
        for i, d in enumerate(("speed", "resolution", "attitude"), start=1)
    ]
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        generate(cursor, args.feedback, args.cases, args.responses, policy.pk, survey.pk, question_ids)
    counts = {}
    with connection.cursor() as cursor:
        for key, table in (
            ("feedback", "feedback_feedback"),
            ("cases", "cases_case"),
            ("responses", "surveys_response"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[key] = cursor.fetchone()[0]
    print(f"setup: {counts['feedback']:,} feedback, {counts['cases']:,} cases, {counts['responses']:,} responses "
          f"in {time.perf_counter() - t0:.1f}s")  # fmt: skip

    t0 = time.perf_counter()
    days = services.rebuild()
    rebuild_s = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE metrics_metricdaily")
    print(f"rebuild_rollups: {days} source-days in {rebuild_s:.1f}s")
    return rebuild_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1/50 of the rows (20,000 / 4,000 / 6,000), 200 days")
    parser.add_argument("--feedback", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--responses", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=30, help="timed panel runs per period")
    parser.add_argument("--reuse", action="store_true", help="keep the rows and roll-ups of the previous run")
    args = parser.parse_args()
    if args.quick:
        # Sub-minute: fewer rows, and 200 days of history (still more than the 180-day panel) to roll up.
        global SPAN_DAYS
        SPAN_DAYS = 200
        args.feedback, args.cases, args.responses, args.runs = 20_000, 4_000, 6_000, 8

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL + ("_quick" if args.quick else ""))
    ensure_pg_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("VOXLOOP_DATA_DIR", tempfile.mkdtemp(prefix="voxloop-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from voxloop.metrics import queries, services
    from voxloop.metrics.days import local_day
    from voxloop.metrics.models import DirtyDay, MetricDaily

    call_command("migrate", verbosity=0)
    if args.reuse and MetricDaily.objects.exists():
        rebuild_s = float("nan")
    else:
        rebuild_s = setup(args)
    counts = {}
    with connection.cursor() as cursor:
        for key, table in (
            ("feedback", "feedback_feedback"),
            ("cases", "cases_case"),
            ("responses", "surveys_response"),
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
            counts[key] = cursor.fetchone()[0]
    rollup_rows = MetricDaily.objects.count()
    print(f"data: {counts['feedback']:,} feedback, {counts['cases']:,} cases, {counts['responses']:,} responses; "
          f"{rollup_rows:,} roll-up rows")  # fmt: skip

    # Incremental path: one more response lands today; catch_up + refresh_dirty fold it in.
    t0 = time.perf_counter()
    services.mark_dirty("responses", [local_day(timezone.now())])
    services.refresh_dirty()
    print(f"incremental refresh of one day: {(time.perf_counter() - t0) * 1000:.0f} ms")
    # The task looks back CATCH_UP_OVERLAP (5 minutes) for late commits, so rows generated just now are seen
    # again by the next runs; measure the steady state, as the task sees it 10 minutes later.
    later = timezone.now() + timedelta(minutes=10)
    services.catch_up(later)
    DirtyDay.objects.all().delete()  # those days were just rebuilt from these very rows
    t0 = time.perf_counter()
    services.catch_up(later + timedelta(minutes=1))
    services.refresh_dirty()
    print(f"refresh task when nothing changed (indexed look-ups only): {(time.perf_counter() - t0) * 1000:.0f} ms")

    today = local_day(timezone.now())

    def default_page(days_shown: int) -> None:
        """What /metrics/ computes when opened: every KPI card with its daily series and the previous
        period, CSAT sub-dimensions, repurchase bands, and the breakdown table (by topic, the default)."""
        period = queries.make_period(None, None, today, last_days=days_shown)
        queries.kpi_panel(period)
        queries.breakdown(period, "topic")

    def with_agents(days_shown: int) -> None:
        """The same plus the per-agent workload table (100 agents)."""
        default_page(days_shown)
        queries.breakdown(queries.make_period(None, None, today, last_days=days_shown), "agent")

    def measure(call, days_shown: int) -> tuple[float, float, float]:
        call(days_shown)  # warm the connection and caches
        timings, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            call(days_shown)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        return median(timings), percentile(timings, 95), median(cpu)

    results = {}
    for name, call in (("page", default_page), ("agents", with_agents)):
        for days_shown in (90, 180):
            p50, p95, cpu = measure(call, days_shown)
            results[(name, days_shown)] = (p50, p95)
            print(f"{'KPI panel' if name == 'page' else 'KPI panel + agent table'}, {days_shown} days: "
                  f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (Python CPU p50 {cpu:.1f} ms; {args.runs} runs)")  # fmt: skip
    load = os.getloadavg()[0]
    cores = os.cpu_count()
    print(f"load average during the run: {load:.1f} on {cores} cores (wall times include waiting for a CPU)")
    verdict = "PASS" if results[("page", 90)][1] <= 300 else "FAIL"
    print(f"target 90-day panel p95 <= 300 ms: {verdict}")
    print(f"RESULT kpi_panel_p50_ms={results[('page', 90)][0]:.1f} kpi_panel_p95_ms={results[('page', 90)][1]:.1f} "
          f"kpi_panel_2x_p50_ms={results[('page', 180)][0]:.1f} kpi_panel_2x_p95_ms={results[('page', 180)][1]:.1f} "
          f"with_agents_p95_ms={results[('agents', 90)][1]:.1f} with_agents_2x_p95_ms={results[('agents', 180)][1]:.1f} "
          f"rows_feedback={counts['feedback']} rows_cases={counts['cases']} rows_responses={counts['responses']} "
          f"rollup_rows={rollup_rows} rebuild_s={rebuild_s:.1f} load_avg={load:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
