"""Rule evaluation and routing throughput on PostgreSQL: analysed feedback -> default rules -> case -> assignment.

    .venv/bin/python benchmarks/rules.py --quick          # sub-minute (2,000 items)
    .venv/bin/python benchmarks/rules.py --items 20000

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_rules), created and
migrated if missing; its feedback, case and rule-firing tables are emptied first. The items carry analysis fields
set directly (the pipeline's speed is benchmarks/analysis.py's business): 60% negative complaints spread over
topics and customers, 10% urgent signals, the rest praise; one routing rule sends everything to a team of
10 agents with languages and skills. Last line: RESULT rules_items_per_s=... ...
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ensure_pg_database  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_rules"
TOPICS = ["logistics.delay", "quality.defect", "service.attitude", "refund", "price", "packaging"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 items")
    parser.add_argument("--items", type=int, default=20_000)
    args = parser.parse_args()
    if args.quick:
        args.items = 2_000

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_pg_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")  # keep outbox kicks out of a real queue
    os.environ.setdefault("VOXLOOP_DATA_DIR", tempfile.mkdtemp(prefix="voxloop-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from voxloop.accounts.models import Role, Team, User
    from voxloop.analysis.models import FeedbackAnalysis, FeedbackTopic
    from voxloop.automation.models import RoutingRule
    from voxloop.automation.services import apply_rules
    from voxloop.cases.models import Case
    from voxloop.feedback.models import AnalysisStatus, Customer, Feedback

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE automation_rulefiring, automation_feedbacktag, cases_caseevent, cases_casefeedback, cases_case,"
            " analysis_feedbacktopic, analysis_feedbackanalysis, feedback_feedback, feedback_customer"
            " RESTART IDENTITY CASCADE"
        )
    RoutingRule.objects.all().delete()
    User.objects.filter(username__startswith="bench-agent-").delete()
    team, _ = Team.objects.get_or_create(name="bench-team")
    for i in range(10):
        agent = User.objects.create_user(
            f"bench-agent-{i}", role=Role.AGENT, languages_spoken=["zh", "en"] if i % 3 else ["zh"],
            skills=[TOPICS[i % len(TOPICS)].split(".")[0]], is_away=(i == 9),
        )  # fmt: skip
        agent.teams.add(team)
    RoutingRule.objects.create(name="bench: all", team=team, conditions=[])

    t0 = time.perf_counter()
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [
            Customer(external_id=f"BC{i}", name=f"客户{i}", tags=["vip"] if i % 25 == 0 else [])
            for i in range(args.items // 3)
        ]
    )
    items = []
    for i in range(args.items):
        bucket = i % 10
        sentiment, kind, urgency = (
            ("positive", "praise", "normal") if bucket >= 7 else ("negative", "complaint", "normal")
        )
        if bucket == 0:
            urgency = "urgent"
        items.append(
            Feedback(
                channel="webform", source="bench", external_id=f"b{i}", customer=customers[i % len(customers)],
                received_at=now, text="快递太慢了，包装也破了" if sentiment == "negative" else "很满意",
                language="zh" if i % 4 else "en", sentiment=sentiment, kind=kind, urgency=urgency,
                analysis_status=AnalysisStatus.DONE,
            )
        )  # fmt: skip
    Feedback.objects.bulk_create(items, batch_size=2000)
    FeedbackAnalysis.objects.bulk_create(
        [
            FeedbackAnalysis(
                feedback=f, language=f.language, sentiment=f.sentiment, kind=f.kind, urgency=f.urgency,
                urgency_reasons=["safety:起火"] if f.urgency == "urgent" else [], model_version="bench", analysed_at=now,
            )
            for f in items
        ],
        batch_size=2000,
    )  # fmt: skip
    FeedbackTopic.objects.bulk_create(
        [
            FeedbackTopic(feedback=f, code=TOPICS[n % len(TOPICS)], top_code=TOPICS[n % len(TOPICS)].split(".")[0])
            for n, f in enumerate(items)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"setup: {args.items:,} analysed items, {len(customers):,} customers in {time.perf_counter() - t0:.1f}s")

    ids = [f.pk for f in items]
    t0 = time.perf_counter()
    if os.environ.get("RULES_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    result = apply_rules(ids)
    if os.environ.get("RULES_PROFILE"):
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    elapsed = time.perf_counter() - t0
    assert not result.errors and not result.rule_errors, (result.errors, result.rule_errors)
    per_s = args.items / elapsed
    print(
        f"apply_rules over {args.items:,} items: {elapsed:.2f}s, {per_s:,.0f} items/s; "
        f"{result.matched:,} matched, {len(result.cases_opened):,} cases opened, {len(result.cases_linked):,} items "
        f"joined an open case, {result.assigned:,} assigned, {result.unassigned:,} queued"
    )
    t0 = time.perf_counter()
    again = apply_rules(ids)
    rerun_s = time.perf_counter() - t0
    assert again.firings == 0 and not again.cases_opened, again
    print(f"re-run (idempotent, nothing fires): {rerun_s:.2f}s, {args.items / rerun_s:,.0f} items/s")
    opened = Case.objects.count()
    print(
        f"RESULT rules_items_per_s={per_s:.0f} rules_rerun_items_per_s={args.items / rerun_s:.0f} "
        f"items={args.items} cases={opened}"
    )


if __name__ == "__main__":
    main()
