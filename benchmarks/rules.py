"""Rule evaluation and routing throughput on PostgreSQL: analysed feedback -> default rules -> case -> assignment.

    .venv/bin/python benchmarks/rules.py --quick              # 2,000 items per scenario
    .venv/bin/python benchmarks/rules.py --quick --baseline   # also the one-by-one path, on the same data shapes
    .venv/bin/python benchmarks/rules.py --items 20000

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_rules), created and
migrated if missing; its feedback, case and rule-firing tables are emptied first. The items carry analysis fields
set directly (the pipeline's speed is benchmarks/analysis.py's business). The shipped default rules run, plus one
that tags praise; one routing rule sends everything to a team of 10 agents with languages and skills. Three
scenarios, each on fresh items:

- no case: half praise (the tag rule fires: a tag and a firing are written), half neutral (nothing fires);
- case: negative complaints of distinct new customers: each opens a case that is routed and assigned;
- mixed: 60% complaints and 10% urgent signals spread over a third as many customers (later items join the
  customer's open case on the topic), 30% praise, then a re-run on the same items (nothing fires again).

``--baseline`` first runs the same scenarios through ``apply_rules(..., batch=False)``: one item at a time, the
code path of the previous release (and the batch path's fallback). Last line: RESULT rules_items_per_s=...
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
    parser.add_argument("--quick", action="store_true", help="2,000 items per scenario")
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--baseline", action="store_true", help="also measure the one-by-one path")
    parser.add_argument("--baseline-items", type=int, default=1_000, help="items per scenario of the baseline")
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
    from voxloop.automation.models import AutomationRule, RoutingRule
    from voxloop.automation.services import apply_rules
    from voxloop.feedback.models import AnalysisStatus, Customer, Feedback

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)  # the outbox kick's de-duplication flag lives in the cache

    def reset() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE automation_rulefiring, automation_feedbacktag, cases_caseevent, cases_casefeedback,"
                " cases_case, analysis_feedbacktopic, analysis_feedbackanalysis, feedback_feedback,"
                " feedback_customer RESTART IDENTITY CASCADE"
            )

    reset()
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
    AutomationRule.objects.update_or_create(
        name="bench: tag praise",
        defaults={"order": 90, "conditions": [{"field": "sentiment", "op": "eq", "value": "positive"}],
                  "actions": [{"type": "add_tags", "tags": ["praise"]}]},
    )  # fmt: skip
    serial = iter(range(10**9))
    # A worker has the word segmenter loaded (search indexes new cases' titles); load it before timing.
    from voxloop.search.text import index_body

    index_body("快递太慢了")

    def make(n: int, shape: str) -> list[int]:
        """n analysed items of a scenario's shape; returns their ids."""
        now = timezone.now()
        tag = next(serial)
        n_customers = n if shape == "case" else max(1, n // 3)
        customers = Customer.objects.bulk_create(
            [
                Customer(external_id=f"B{tag}-{i}", name=f"客户{i}", tags=["vip"] if i % 25 == 0 else [])
                for i in range(n_customers)
            ]
        )
        items = []
        for i in range(n):
            bucket = i % 10
            if shape == "nocase":
                sentiment, kind, urgency = ("positive", "praise", "normal") if i % 2 else ("neutral", "other", "normal")
            elif shape == "case":
                sentiment, kind, urgency = "negative", "complaint", "normal"
            else:
                negative = bucket < 7
                sentiment, kind = ("negative", "complaint") if negative else ("positive", "praise")
                urgency = "urgent" if bucket == 0 else "normal"
            items.append(
                Feedback(
                    channel="webform", source="bench", external_id=f"b{tag}-{i}", customer=customers[i % n_customers],
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
                    urgency_reasons=["safety:起火"] if f.urgency == "urgent" else [], model_version="bench",
                    analysed_at=now,
                )
                for f in items
            ],
            batch_size=2000,
        )  # fmt: skip
        FeedbackTopic.objects.bulk_create(
            [
                FeedbackTopic(feedback=f, code=TOPICS[k % len(TOPICS)], top_code=TOPICS[k % len(TOPICS)].split(".")[0])
                for k, f in enumerate(items)
            ],
            batch_size=2000,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return [f.pk for f in items]

    def run(label: str, ids: list[int], batch: bool) -> float:
        t0 = time.perf_counter()
        profile = os.environ.get("RULES_PROFILE") == label
        if profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
        result = apply_rules(ids, batch=batch)
        elapsed = time.perf_counter() - t0
        if profile:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("RULES_PROFILE_SORT", "cumulative")).print_stats(40)
        assert not result.errors and not result.rule_errors, (result.errors, result.rule_errors)
        per_s = len(ids) / elapsed
        print(
            f"{'one by one' if not batch else 'batch'} {label}: {len(ids):,} items in {elapsed:.2f}s, "
            f"{per_s:,.0f} items/s; {result.matched:,} matched, {len(result.cases_opened):,} cases opened, "
            f"{len(result.cases_linked):,} joined an open case, {result.assigned:,} assigned, "
            f"{result.unassigned:,} queued",
            flush=True,
        )
        if label == "case":
            assert len(result.cases_opened) == len(ids) and result.assigned == len(ids), result
        if label == "nocase":
            assert not result.cases_opened and result.matched == len(ids) // 2, result
        return per_s

    def scenarios(n: int, batch: bool) -> dict[str, float]:
        reset()
        figures = {label: run(label, make(n, label), batch) for label in ("nocase", "case")}
        ids = make(n, "mixed")
        figures["mixed"] = run("mixed", ids, batch)
        t0 = time.perf_counter()
        again = apply_rules(ids, batch=batch)
        rerun_s = time.perf_counter() - t0
        assert again.firings == 0 and not again.cases_opened, again
        figures["rerun"] = len(ids) / rerun_s
        print(f"re-run (idempotent, nothing fires): {rerun_s:.2f}s, {figures['rerun']:,.0f} items/s", flush=True)
        return figures

    baseline = scenarios(min(args.baseline_items, args.items), batch=False) if args.baseline else {}
    figures = scenarios(args.items, batch=True)
    line = (
        f"RESULT rules_items_per_s={figures['nocase']:.0f} rules_case_items_per_s={figures['case']:.0f} "
        f"rules_mixed_items_per_s={figures['mixed']:.0f} rules_rerun_items_per_s={figures['rerun']:.0f} "
        f"items={args.items}"
    )
    if baseline:
        line += (
            f" baseline_rules_items_per_s={baseline['nocase']:.0f} baseline_rules_case_items_per_s="
            f"{baseline['case']:.0f} baseline_rules_mixed_items_per_s={baseline['mixed']:.0f}"
        )
    print(line)


if __name__ == "__main__":
    main()
