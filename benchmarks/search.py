"""Search benchmark on PostgreSQL: the top-bar search over 1M feedback items and 200k cases, and what keeping
the index costs an import.

    .venv/bin/python benchmarks/search.py --quick      # 50k feedback, 10k cases: about a minute
    .venv/bin/python benchmarks/search.py              # 1M feedback, 200k cases, 200k customers

Figures:
- search p50/p95: server time of the whole results page (/search/?q=..., every section, rendered) for two-word
  Chinese queries, as an agent whose case scope is their teams (target p95 <= 200 ms);
- phone lookup p50/p95: the same page for a phone number typed with spaces or +86 (target p95 <= 200 ms);
- import: rows/s of a CSV file import (the `voxloop import` code path) with index maintenance off and on,
  into the filled database, three times each, taking turns (medians). With it on, a large chunk is queued to a worker (the broker here is in memory,
  so the queueing is what the import pays); the worker's own rate is measured too (index_rows_per_s), with
  the worker processes one would need to keep pace with the import;
- the EXPLAIN of the feedback match, to see the GIN index in use.

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/vx_bench_search),
created afresh. Last line: RESULT search_p95_ms=... phone_lookup_p95_ms=... import_slowdown_pct=...

A change against a baseline, on a machine whose load moves: fill once, then time both in the same run, taking
turns (the imports are skipped; the baseline is another checkout of the code, e.g. `git worktree add` or
`git archive REV | tar -x -C DIR`):

    .venv/bin/python benchmarks/search.py --quick --reuse --baseline-tree DIR [--rounds 3]
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PG_BASE,
    child_env,
    fresh_database_on,
    median,
    migrate,
    percentile,
    pg_available,
    run_child,
    temp_dir,
)

PHRASES = ["物流太慢了", "包装破损", "客服态度很好", "质量不错，推荐", "退款一直没到账", "安装师傅很专业",
           "App配网总是失败", "账单金额不对", "賬單有誤", "充电口松动", "噪音很大", "价格有点贵", "屏幕有划痕",
           "the delivery was late", "great value", "billing failed twice", "App登录不上", "电池续航太短",
           "发票一直没开", "快递员态度差", "颜色和图片不一样", "客服回复太慢"]  # fmt: skip
QUERIES = ["配网失败", "物流 太慢", "退款 到账", "賬單 不对", "客服 态度", "电池 续航", "发票 没开", "屏幕 划痕"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def _copy(table: str, columns: list[str], rows: list[tuple]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def fill(n_feedback: int, n_cases: int, n_customers: int, rng: random.Random) -> dict:
    """Rows written straight into the tables (COPY), the index rows with them: the import path is measured
    on its own below. The tokenizer runs once per distinct text (the generated texts repeat)."""
    from django.db import connection, transaction

    from voxloop.accounts.models import Role, Team, User
    from voxloop.cases.models import Case
    from voxloop.feedback.bulk import insert_feedback
    from voxloop.feedback.models import Customer
    from voxloop.search.text import index_body

    bodies: dict[str, str] = {}

    def body(*texts: str) -> str:
        key = "\x00".join(texts)
        if key not in bodies:
            bodies[key] = index_body(*texts)
        return bodies[key]

    index_sql = importlib.import_module("voxloop.search.migrations.0001_search_index")
    with connection.cursor() as cursor:  # the word indexes are built once at the end, much faster than row by row
        for sql in index_sql.PG_BACKWARD:
            cursor.execute(sql)
    teams = [Team.objects.create(name=f"组{i}") for i in range(10)]
    agent = User.objects.create_user("bench-agent", password="x", role=Role.AGENT)  # noqa: S106
    agent.teams.add(teams[0])
    now = datetime.now(UTC)
    phones = [f"13{rng.randrange(10**9):09d}" for _ in range(n_customers)]
    for start in range(0, n_customers, 20_000):
        with transaction.atomic():
            Customer.objects.bulk_create(
                [Customer(external_id=f"K{i}", name=f"客户{i}", phone=phones[i]) for i in range(start, min(start + 20_000, n_customers))],
                batch_size=5_000,
            )  # fmt: skip
    customers = list(Customer.objects.values_list("pk", "external_id", "name", "phone", "updated_at"))
    _copy("search_searchdocument", ["kind", "object_id", "at", "body"],
          [("customer", pk, at, index_body(name, ext, phone)) for pk, ext, name, phone, at in customers])  # fmt: skip
    customer_ids = [c[0] for c in customers]
    done = 0
    while done < n_feedback:
        size = min(20_000, n_feedback - done)
        rows, docs = [], []
        for i in range(done, done + size):
            text = f"{rng.choice(PHRASES)}，{rng.choice(PHRASES)}"
            at = START + timedelta(seconds=rng.randrange(2 * 365 * 86400))
            rows.append({"channel": "review", "source": "bench", "external_id": str(i), "received_at": at, "text": text,
                         "customer_id": rng.choice(customer_ids), "raw_payload": {}, "attachments": []})  # fmt: skip
        with transaction.atomic():
            ids = insert_feedback(rows)
        for row in rows:
            docs.append(("feedback", ids[("bench", row["external_id"])], row["received_at"], body(row["text"])))
        with transaction.atomic():
            _copy("search_searchdocument", ["kind", "object_id", "at", "body"], docs)
        done += size
    for start in range(0, n_cases, 20_000):
        cases, docs = [], []
        for i in range(start, min(start + 20_000, n_cases)):
            title = f"{rng.choice(PHRASES)} {rng.choice(PHRASES)}"
            cases.append(Case(number=f"C{i:07d}", title=title, team=rng.choice(teams), created_at=now, updated_at=now))
        with transaction.atomic():
            created = Case.objects.bulk_create(cases, batch_size=5_000)
        docs = [("case", c.pk, c.pk, c.created_at, body(c.number, c.title)) for c in created]
        _copy("search_searchdocument", ["kind", "object_id", "case_id", "at", "body"], docs)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in index_sql.PG_FORWARD:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    return {"gin_build_s": time.perf_counter() - started, "phones": rng.sample(phones, 50)}


def _time_page(client, q: str) -> float:
    started = time.perf_counter()
    response = client.get("/search/", {"q": q})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def make_csv(path: Path, rows: int, rng: random.Random, offset: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["评价ID", "评价内容", "评价时间", "评分", "手机号"])
        for i in range(rows):
            writer.writerow([f"I{offset + i}", f"{rng.choice(PHRASES)}，第{offset + i}单{rng.choice(PHRASES)}",
                             f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:00", rng.randint(1, 5),
                             f"13{rng.randrange(10**9):09d}" if i % 3 == 0 else ""])  # fmt: skip


def _import(path: Path, indexing: bool) -> tuple[float, list[int]]:
    from django.conf import settings

    from voxloop.channels.fileimport import services
    from voxloop.feedback.models import Feedback

    settings.SEARCH_INDEX_ON_INGEST = indexing
    started = time.perf_counter()
    batch = services.create_batch(path, channel="review", source=f"bench-import-{indexing}")
    batch = services.run_batch(batch.pk)
    elapsed = time.perf_counter() - started
    ids = list(Feedback.objects.filter(batch=batch).values_list("pk", flat=True))
    return batch.accepted_count / elapsed, ids


def child(n_feedback: int, n_cases: int, import_rows: int, runs: int, reuse: int, imports: int = 1) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from voxloop.accounts.models import User
    from voxloop.feedback.models import Customer
    from voxloop.search import services
    from voxloop.search.queries import _matches
    from voxloop.search.text import index_body

    setup_test_environment()
    rng = random.Random(11 + reuse * int(time.time()))
    started = time.perf_counter()
    if reuse:  # the database of an earlier run, as it was filled
        filled = {
            "gin_build_s": 0.0,
            "phones": list(Customer.objects.order_by("?").values_list("phone", flat=True)[:50]),
        }
    else:
        filled = fill(n_feedback, n_cases, max(n_cases, 1_000), rng)
    fill_s = time.perf_counter() - started
    index_body("预热")  # a worker loads the jieba dictionary once (about 2 s), not per task

    client = Client()
    client.force_login(User.objects.get(username="bench-agent"))
    search_ms: list[float] = []
    per_query: dict[str, float] = {}
    for q in QUERIES:
        _time_page(client, q)  # warm
        samples = [_time_page(client, q) for _ in range(runs)]
        per_query[q] = round(median(samples), 1)
        search_ms += samples
    phone_ms: list[float] = []
    for n, phone in enumerate(filled["phones"][: max(runs, 10)]):
        typed = f"{phone[:3]} {phone[3:7]} {phone[7:]}" if n % 2 else f"+86 {phone}"
        _time_page(client, typed)
        phone_ms += [_time_page(client, typed) for _ in range(2)]

    # The path of a word rare among the newest documents: every match read through the GIN index.
    cte, params = _matches(("feedback",), ["充电口", "发票"])
    with connection.cursor() as cursor:
        cursor.execute(
            f"EXPLAIN ANALYZE {cte} SELECT object_id, (SELECT count(*) FROM m) FROM m ORDER BY at DESC LIMIT 20", params
        )  # noqa: S608
        plan = "\n".join(row[0] for row in cursor.fetchall())

    if not imports:  # timing the pages only (a baseline comparison)
        print(json.dumps({"fill_s": fill_s, "search_ms": search_ms, "phone_ms": phone_ms, "per_query": per_query}))
        return
    work = Path(temp_dir("vx-bench-search-"))
    rates: dict[str, list[float]] = {"off": [], "on": []}
    index_ids: list[int] = []
    # Off and on, taking turns three times; the median of each, so one noisy run on a shared machine does not
    # decide.
    for n, indexing in enumerate([False, True] * 3):
        path = work / f"import-{n}.csv"
        make_csv(path, import_rows, rng, offset=n * import_rows + reuse * int(time.time()) * 10)
        rate, ids = _import(path, indexing)
        rates["on" if indexing else "off"].append(rate)
        if indexing:
            index_ids = ids
    started = time.perf_counter()
    services.index_feedback(index_ids)  # what the worker does with the queued chunks
    index_rate = len(index_ids) / (time.perf_counter() - started)
    print(json.dumps({"fill_s": fill_s, "gin_build_s": filled["gin_build_s"], "search_p50": median(search_ms),
                      "search_p95": percentile(search_ms, 95), "per_query": per_query,
                      "phone_p50": median(phone_ms), "phone_p95": percentile(phone_ms, 95),
                      "import_off": median(rates["off"]), "import_on": median(rates["on"]),
                      "import_runs": rates, "index_rate": index_rate,
                      "plan": plan}, ensure_ascii=False))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="50,000 feedback items, 10,000 cases")
    parser.add_argument("--feedback", type=int, default=0)
    parser.add_argument("--cases", type=int, default=0)
    parser.add_argument("--reuse", action="store_true", help="time the database an earlier run filled (no fill)")
    parser.add_argument("--baseline-tree", default="", help="with --reuse: time this checkout's code against it")
    parser.add_argument("--rounds", type=int, default=3, help="turns each with --baseline-tree")
    args = parser.parse_args()
    if not pg_available():
        sys.exit("search benchmark: PostgreSQL not reachable at " + PG_BASE)
    n_feedback = args.feedback or (50_000 if args.quick else 1_000_000)
    n_cases = args.cases or (10_000 if args.quick else 200_000)
    import_rows = 5_000 if args.quick else 100_000
    runs = 8 if args.quick else 25
    url = os.environ.get("BENCH_DATABASE_URL") or f"{PG_BASE}/vx_bench_search"
    if not args.reuse:
        url = os.environ.get("BENCH_DATABASE_URL") or fresh_database_on(PG_BASE, "vx_bench_search")
    env = child_env(temp_dir("vx-bench-search-"), url)
    env["ALLOWED_HOSTS"] = "testserver"
    if not args.reuse:
        migrate(env)
    params = [str(n_feedback), str(n_cases), str(import_rows), str(runs), str(int(args.reuse))]
    if args.baseline_tree:
        compare(args.baseline_tree, params, env, args.rounds)
        return
    f = run_child(__file__, ["--child", *params], env)
    print(("search (reusing the filled database): " if args.reuse else "search: ") + f"{n_feedback:,} feedback items, {n_cases:,} cases and customers, filled in {f['fill_s']:.0f} s "
          f"(word indexes built in {f['gin_build_s']:.1f} s)")  # fmt: skip
    print(f"search page, two-word Chinese queries: p50 {f['search_p50']:.1f} ms, p95 {f['search_p95']:.1f} ms")
    for q, ms in f["per_query"].items():
        print(f"  {q}: median {ms} ms")
    print(f"search page, phone number: p50 {f['phone_p50']:.1f} ms, p95 {f['phone_p95']:.1f} ms")
    slowdown = (1 - f["import_on"] / f["import_off"]) * 100
    print(f"import ({import_rows:,} rows): {f['import_off']:,.0f} rows/s without index maintenance, "
          f"{f['import_on']:,.0f} rows/s with it ({slowdown:+.1f}% slowdown)")  # fmt: skip
    print("  runs (rows/s): off " + ", ".join(f"{r:,.0f}" for r in f["import_runs"]["off"])
          + "; on " + ", ".join(f"{r:,.0f}" for r in f["import_runs"]["on"]))  # fmt: skip
    print(f"indexing worker: {f['index_rate']:,.0f} rows/s per process; keeping pace with this import needs "
          f"{f['import_on'] / f['index_rate']:.1f} worker processes")  # fmt: skip
    print("plan of a full match (充电口 发票):\n  " + f["plan"].replace("\n", "\n  "))
    print(f"RESULT search_p95_ms={f['search_p95']:.1f} phone_lookup_p95_ms={f['phone_p95']:.1f} "
          f"import_slowdown_pct={slowdown:.1f} search_p50_ms={f['search_p50']:.1f} "
          f"index_rows_per_s={f['index_rate']:.0f}")  # fmt: skip


def compare(baseline_tree: str, params: list[str], env: dict[str, str], rounds: int) -> None:
    """Baseline and change on the same filled database, taking turns, so both meet the same load."""
    if "1" != params[4]:
        sys.exit("--baseline-tree needs --reuse (fill once with a plain run first)")
    scripts = {"baseline": str(Path(baseline_tree) / "benchmarks" / "search.py"), "change": __file__}
    if not Path(scripts["baseline"]).exists():
        sys.exit(f"no benchmarks/search.py under {baseline_tree}")
    this = Path(__file__).resolve()
    # The harness is this script in both: the baseline tree gets its copy, so only voxloop/ differs.
    Path(scripts["baseline"]).write_text(this.read_text())
    samples: dict[str, dict[str, list[float]]] = {k: {"search": [], "phone": []} for k in scripts}
    for n in range(rounds):
        for name in ["baseline", "change"] if n % 2 == 0 else ["change", "baseline"]:
            f = run_child(scripts[name], ["--child", *params, "0"], env)
            samples[name]["search"] += f["search_ms"]
            samples[name]["phone"] += f["phone_ms"]
            print(f"round {n + 1} {name}: search p50 {median(f['search_ms']):.1f} ms p95 "
                  f"{percentile(f['search_ms'], 95):.1f} ms; phone p50 {median(f['phone_ms']):.1f} ms p95 "
                  f"{percentile(f['phone_ms'], 95):.1f} ms")  # fmt: skip
    figures = {
        name: {kind: (median(v), percentile(v, 95)) for kind, v in by_kind.items()} for name, by_kind in samples.items()
    }
    for name, by_kind in figures.items():
        print(f"{name}: search p50 {by_kind['search'][0]:.1f} ms p95 {by_kind['search'][1]:.1f} ms; "
              f"phone p50 {by_kind['phone'][0]:.1f} ms p95 {by_kind['phone'][1]:.1f} ms")  # fmt: skip
    base, change = figures["baseline"], figures["change"]
    print(f"RESULT search_p95_ms={change['search'][1]:.1f} phone_lookup_p95_ms={change['phone'][1]:.1f} "
          f"baseline_search_p95_ms={base['search'][1]:.1f} baseline_phone_lookup_p95_ms={base['phone'][1]:.1f} "
          f"search_p50_ms={change['search'][0]:.1f} baseline_search_p50_ms={base['search'][0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*(int(a) for a in sys.argv[2:8]))
    else:
        main()
