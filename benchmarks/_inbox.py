"""Inbox speed: server time of the first page of the filtered inbox over N feedback rows."""

from __future__ import annotations

import json
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    child_env,
    fresh_pg_database,
    median,
    migrate,
    percentile,
    pg_available,
    run_child,
    temp_dir,
)

WORDS = ["物流太慢了", "包装破损", "客服态度很好", "质量不错", "退款一直没到账", "安装师傅很专业", "delivery was late",
         "great value", "App登录不上", "价格有点贵", "噪音很大", "充电口松动"]  # fmt: skip
CHANNELS = ["review", "hotline", "chat", "email", "webform", "social", "survey"]
QUERIES = [
    {},
    {"channel": "hotline"},
    {"date_from": "2025-06-01", "date_to": "2025-06-30"},
    {"channel": "review", "date_from": "2025-03-01", "date_to": "2025-05-31"},
    {"sentiment": "negative"},
    {"q": "物流"},
    {"q": "delivery", "channel": "chat"},
    {"rating": "1"},
]


def fill(rows: int) -> None:
    from django.db import transaction

    from voxloop.feedback.bulk import insert_feedback
    from voxloop.feedback.models import Product
    from voxloop.search.models import SearchDocument
    from voxloop.search.text import index_body

    rng = random.Random(3)
    products = [Product.objects.create(code=f"P{i}", name=f"商品{i}").pk for i in range(50)]
    bodies: dict[str, str] = {}  # the texts repeat: segment each once

    def insert(rows: list[dict]) -> None:
        # The inbox's text search reads the search index: fill it with the rows, as the indexing worker would.
        with transaction.atomic():
            ids = insert_feedback(rows)
            SearchDocument.objects.bulk_create(
                [
                    SearchDocument(
                        kind="feedback",
                        object_id=ids[("bench", row["external_id"])],
                        at=row["received_at"],
                        body=bodies.get(row["text"]) or bodies.setdefault(row["text"], index_body(row["text"])),
                    )
                    for row in rows
                ],
                batch_size=5_000,
            )

    start = datetime(2024, 7, 1, tzinfo=UTC)
    chunk = []
    for i in range(rows):
        chunk.append({
            "channel": rng.choice(CHANNELS), "source": "bench", "external_id": str(i),
            "received_at": start + timedelta(seconds=rng.randrange(2 * 365 * 86400)),
            "text": f"{rng.choice(WORDS)}，{rng.choice(WORDS)}", "rating": rng.randint(1, 5), "rating_scale": 5,
            "product_id": rng.choice(products), "sentiment": rng.choice(["positive", "neutral", "negative"]),
            "raw_payload": {}, "attachments": [],
        })  # fmt: skip
        if len(chunk) == 10_000:
            insert(chunk)
            chunk = []
    insert(chunk)


def child(rows: int) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from voxloop.accounts.models import User

    setup_test_environment()
    t0 = time.perf_counter()
    fill(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    fill_s = time.perf_counter() - t0
    user = User.objects.create_user("bench", password="x", role="agent")  # noqa: S106
    client = Client()
    client.force_login(user)
    timings: list[float] = []
    per_query = {}
    for params in QUERIES:
        client.get("/feedback/", params)  # warm
        samples = []
        for _ in range(15):
            started = time.perf_counter()
            response = client.get("/feedback/", params)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        per_query[json.dumps(params, ensure_ascii=False)] = round(median(samples), 1)
        timings += samples
    print(json.dumps({"fill_s": fill_s, "p50": median(timings), "p95": percentile(timings, 95), "per_query": per_query},
                     ensure_ascii=False))  # fmt: skip


def run(quick: bool) -> dict[str, float]:
    rows = 100_000 if quick else 1_000_000
    results: dict[str, float] = {}
    targets = [("sqlite", "")]
    if pg_available():
        targets.append(("pg", fresh_pg_database("voxloop_bench_inbox")))
    for name, url in targets:
        env = child_env(temp_dir("vx-bench-inbox-"), url)
        env["ALLOWED_HOSTS"] = "testserver"
        migrate(env)
        figures = run_child(__file__, ["--child", str(rows)], env)
        print(f"inbox {name}: {rows:,} rows (filled in {figures['fill_s']:.0f} s), first page p50 {figures['p50']:.1f} ms, "
              f"p95 {figures['p95']:.1f} ms")  # fmt: skip
        for query, ms in figures["per_query"].items():
            print(f"  inbox {name} {query}: median {ms} ms")
        results[f"inbox_{name}_p50_ms"] = round(figures["p50"], 1)
        results[f"inbox_{name}_p95_ms"] = round(figures["p95"], 1)
    # The headline figure is the slower database's.
    results["inbox_p50_ms"] = max(v for k, v in results.items() if k.endswith("p50_ms"))
    results["inbox_p95_ms"] = max(v for k, v in results.items() if k.endswith("p95_ms"))
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(int(sys.argv[2]))
    else:
        print(run("--quick" in sys.argv))
