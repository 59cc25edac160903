"""Insights: the dashboards' server time at 1M feedback items, early-warning quality, clustering speed.

    .venv/bin/python benchmarks/insights.py            # full: 11 topics x 50 products x 10 channels, 50,000 texts;
                                                       # dashboards on 1,000,000 items (PostgreSQL and SQLite)
    .venv/bin/python benchmarks/insights.py --quick    # 11 x 10 x 5 series, 2,000 texts; 20,000 items over 365 days

Anomaly detection: daily counts per topic x product x channel for 8 warm-up weeks + 365 days, built with
per-channel weekday patterns, per-series trends, over-dispersed noise, shared daily shocks and holiday dips
(Spring Festival, Labour Day, National Day), plus injected incidents of known start, size and duration:
count surges, rises of the negative share (topic x product) and NPS drops (product). Every series is
scored at once; an alert counts as a hit when it overlaps an incident in the same series and metric.
Precision = hits / alerts, recall = incidents with a hit / incidents, delay = days from an incident's
start to its first hit's start (mean over detected incidents).

Clustering: short zh/en customer texts on themes the default taxonomy does not cover (subscription
auto-renewal, trade-in subsidies, firmware updates, ...) with the demo generator's openers and closers;
reports time, the k chosen and the adjusted Rand index against the generating theme x language.

Times are wall-clock seconds (the RESULT figures) with the process's CPU seconds beside them: on a busy
machine the two differ.

Dashboards (issue 6: every insight page's server time p95 <= 300 ms at 1,000,000 feedback items over two
years, on PostgreSQL and on SQLite): one child process per database (benchmarks/_insights_dashboards.py)
generates the items in SQL (benchmarks/_insights_data.py; analysed by the real pipeline through ~50 template
texts), rebuilds the daily roll-ups with voxloop.metrics.services.rebuild() (timed), times the incremental
path (1,000 new items today, 1,000 old ones re-analysed, then catch_up + refresh_dirty), and requests every
page of the insights navigation with its variants (default, period=730, period=90, topic=logistics, one
product) as a signed-in analyst through the Django test client: one warm-up, then --runs requests.

    .venv/bin/python benchmarks/insights.py --only sqlite --reuse   # one database, keep generated data
    .venv/bin/python benchmarks/insights.py --skip-dashboards       # the computations only

PostgreSQL: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/vx_bench_insights, with --quick
..._quick), created and migrated if missing, its tables emptied before generating. SQLite: the default
settings (WAL, pragmas) in var/bench-insights[-quick]/ (BENCH_SQLITE_DIR), the file replaced before generating.
dashboard_p95_ms is the slowest page variant over both databases. The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxloop.demo import phrases as P  # noqa: E402
from voxloop.stats.anomaly import (  # noqa: E402
    NPS_PARAMS,
    CountParams,
    Metric,
    RateParams,
    alerts_from_scores,
    score_counts,
    score_nps,
    score_rates,
)

WARMUP = 56
YEAR = 365
START = date(2026, 1, 1) - timedelta(days=WARMUP)
DAILY_FEEDBACK = 1370  # 1,000,000 items over two years
# weekday profiles (Mon..Sun) of the channels
CHANNEL_WEEKDAYS = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.4],  # hotline
    [1.3, 1.1, 1.0, 1.0, 0.9, 0.6, 0.7],  # email
    [1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.3],  # web form
    [0.9, 0.9, 0.9, 1.0, 1.1, 1.6, 1.6],  # chat
    [0.8, 0.8, 0.8, 0.9, 1.0, 1.8, 1.9],  # social
    [0.9, 0.9, 0.9, 0.9, 1.0, 1.4, 1.4],  # review site
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],  # survey
    [0.6, 0.6, 0.6, 0.7, 0.9, 2.2, 2.2],  # in store
    [1.2, 1.2, 1.2, 1.2, 1.1, 0.2, 0.1],  # staff report
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8],  # API
]
HOLIDAYS = [(46, 8, 0.35), (120, 5, 0.6), (273, 7, 0.55)]  # (day of the year, length, volume factor)


@dataclass
class Incident:
    metric: Metric
    series: int
    start: int  # day index in the arrays
    days: int
    size: float


def synthetic_counts(rng: np.random.Generator, topics: int, products: int, channels: int) -> np.ndarray:
    days = WARMUP + YEAR
    topic_w = rng.dirichlet(np.full(topics, 3.0))
    product_w = 1 / np.arange(1, products + 1) ** 0.9
    product_w /= product_w.sum()
    channel_w = rng.dirichlet(np.full(channels, 2.0))
    base = DAILY_FEEDBACK * topic_w[:, None, None] * product_w[None, :, None] * channel_w[None, None, :]
    base = base.reshape(-1)
    weekday = np.array(CHANNEL_WEEKDAYS[:channels])[np.tile(np.arange(channels), topics * products)]
    t = np.arange(days)
    shape = weekday[:, (np.arange(days) + START.weekday()) % 7]
    growth = np.exp(rng.normal(0, 0.3, size=(base.size, 1)))  # each series drifts to x0.5..x2 over the span
    trend = growth ** (t[None, :] / days)
    holiday = np.ones(days)
    for day, length, factor in HOLIDAYS:
        holiday[WARMUP + day : WARMUP + day + length] = factor
    shock = np.exp(rng.normal(0, 0.05, size=days))  # busy and quiet days shared by every series
    lam = base[:, None] * shape * trend * holiday[None, :] * shock[None, :]
    lam = lam * rng.gamma(20.0, 1 / 20.0, size=lam.shape)  # over-dispersion: daily mean varies ~22%
    return rng.poisson(lam).astype(np.float64), base


def place_incidents(rng, metric, eligible, count, days_range, size_range) -> list[Incident]:
    incidents = []
    used: dict[int, list[tuple[int, int]]] = {}
    while len(incidents) < count and len(eligible):
        series = int(rng.choice(eligible))
        days = int(rng.integers(*days_range))
        start = int(rng.integers(WARMUP + 14, WARMUP + YEAR - days))
        if any(abs(start - s) < 35 for s, _ in used.get(series, [])):
            continue  # keep incidents of one series apart so each is scored on its own
        used.setdefault(series, []).append((start, days))
        incidents.append(Incident(metric, series, start, days, float(rng.uniform(*size_range))))
    return incidents


def evaluate(alerts_by_metric, incidents) -> tuple[int, int, int, list[int]]:
    hits = detected = 0
    total = 0
    delays = []
    first_hit: dict[int, int] = {}
    for metric, alerts in alerts_by_metric.items():
        mine = [(i, inc) for i, inc in enumerate(incidents) if inc.metric is metric]
        for alert in alerts:
            start = (alert.start - START).days
            end = (alert.end - START).days
            if start < WARMUP:
                continue
            total += 1
            match = [
                i
                for i, inc in mine
                if inc.series == alert.series and start <= inc.start + inc.days - 1 and end >= inc.start
            ]
            if match:
                hits += 1
                for i in match:
                    first_hit[i] = min(first_hit.get(i, 10**9), start)
    for i, day in first_hit.items():
        detected += 1
        delays.append(max(0, day - incidents[i].start))
    return hits, total, detected, delays


def anomaly_benchmark(quick: bool, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    topics, products, channels = (11, 10, 5) if quick else (11, 50, 10)
    counts, base = synthetic_counts(rng, topics, products, channels)
    # count incidents: surges of x2..x4 (at least +10 a day) in series with at least one item a day
    count_incidents = place_incidents(
        rng, Metric.COUNT, np.flatnonzero(base >= 1), 60 if quick else 200, (2, 15), (1.0, 3.0)
    )
    for inc in count_incidents:
        extra = np.maximum(base[inc.series] * inc.size, 10.0)
        counts[inc.series, inc.start : inc.start + inc.days] += rng.poisson(extra, size=inc.days)

    # negative share per topic x product (all channels together)
    cube = counts.reshape(topics * products, channels, -1).sum(axis=1)
    tp_base = base.reshape(topics * products, channels).sum(axis=1)
    p_neg = rng.uniform(0.15, 0.5, size=(topics * products, 1)) * np.ones_like(cube)
    rate_incidents = place_incidents(
        rng, Metric.RATE, np.flatnonzero(tp_base >= 20), 20 if quick else 60, (3, 11), (0.15, 0.35)
    )
    for inc in rate_incidents:
        p_neg[inc.series, inc.start : inc.start + inc.days] += inc.size
    negatives = rng.binomial(cube.astype(np.int64), np.clip(p_neg, 0, 0.95)).astype(np.float64)

    # NPS per product: 30..90 answers a day
    days = counts.shape[1]
    answers = rng.integers(30, 90, size=(products, days))
    mix = np.tile(rng.dirichlet([6, 3, 2], size=(products, 1)), (1, days, 1))
    nps_incidents = place_incidents(rng, Metric.NPS, np.arange(products), 10 if quick else 20, (3, 11), (0.2, 0.4))
    for inc in nps_incidents:  # move a share of promoters to detractors
        window = mix[inc.series, inc.start : inc.start + inc.days]
        shift = np.minimum(window[:, 0], inc.size)
        window[:, 0] -= shift
        window[:, 2] += shift
    nps_counts = np.stack([rng.multinomial(n, m) for n, m in zip(answers.ravel(), mix.reshape(-1, 3), strict=True)])
    nps_counts = nps_counts.reshape(products, days, 3).astype(np.float64)

    count_params, rate_params, nps_params = CountParams(), RateParams(), NPS_PARAMS
    began, cpu = time.perf_counter(), time.process_time()
    alerts = {
        Metric.COUNT: alerts_from_scores(
            score_counts(counts, count_params), Metric.COUNT, START, z_threshold=count_params.z_threshold
        ),
        Metric.RATE: alerts_from_scores(
            score_rates(negatives, cube, rate_params), Metric.RATE, START, z_threshold=rate_params.z_threshold
        ),
        Metric.NPS: alerts_from_scores(
            score_nps(nps_counts[..., 0], nps_counts[..., 1], nps_counts[..., 2], nps_params),
            Metric.NPS,
            START,
            z_threshold=nps_params.z_threshold,
        ),  # fmt: skip
    }
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    incidents = count_incidents + rate_incidents + nps_incidents
    hits, total, detected, delays = evaluate(alerts, incidents)
    series_total = counts.shape[0] + cube.shape[0] + products
    print(f"anomaly: {counts.shape[0]} count series + {cube.shape[0]} negative-share series + {products} NPS series, "
          f"{YEAR} days (+{WARMUP} warm-up), {int(counts.sum()):,} items")  # fmt: skip
    for metric in Metric:
        mine = [inc for inc in incidents if inc.metric is metric]
        h, t, d, dl = evaluate({metric: alerts[metric]}, mine)
        print(f"  {metric.value:5s}: incidents={len(mine):3d} detected={d:3d} alerts={t:3d} true={h:3d} "
              f"mean_delay={np.mean(dl) if dl else float('nan'):.2f}d")  # fmt: skip
    precision = hits / total if total else 1.0
    recall = detected / len(incidents)
    delay = float(np.mean(delays)) if delays else float("nan")
    print(f"  all  : precision={precision:.3f} recall={recall:.3f} delay={delay:.2f}d "
          f"time={elapsed:.2f}s (cpu {cpu:.2f}s) for {series_total} series")  # fmt: skip
    return {"precision": precision, "recall": recall, "delay": delay, "seconds": elapsed}


# Each theme's texts share its key terms (as real emerging topics do), in two languages that share none:
# the groups to recover are theme x language.
EMERGING = {
    "renewal": (
        ["滤芯订阅自动续费了，我根本没同意", "会员自动续费扣了{n}元，没有任何提醒", "取消不了自动续费，客服也说不清",
         "自动续费默认勾选，太坑了"],
        ["the filter subscription auto-renewed without asking", "auto-renewal charged me {n} without a reminder",
         "I cannot cancel the auto-renewal"],
    ),
    "tradein": (
        ["以旧换新的补贴一直没到账", "以旧换新估价太低，旧机只给{n}元", "以旧换新上门回收的人没来",
         "以旧换新说好补贴{n}元，结果不认"],
        ["the trade-in subsidy never arrived", "the trade-in valuation for my old {p} was far too low",
         "nobody came to collect my trade-in"],
    ),
    "firmware": (
        ["固件升级后{p}连不上WiFi了", "固件升级以后{p}频繁重启", "固件升级到新版本后蓝牙断连", "固件升级失败，{p}变砖了"],
        ["after the firmware update the {p} keeps rebooting", "the firmware update bricked my {p}",
         "since the firmware update bluetooth drops"],
    ),
    "voice": (
        ["语音助手总是听不懂我说话", "{p}的语音助手识别不了方言", "说了{n}遍语音助手都没反应", "语音助手唤醒太不灵敏了"],
        ["the voice assistant never understands me", "the voice assistant on the {p} ignores commands",
         "the voice assistant wakes up at random"],
    ),
    "invoice": (
        ["电子发票开错了抬头", "申请发票{n}天了还没开出来", "发票金额和实付不一致", "开发票要重新下单，太麻烦"],
        ["the invoice has the wrong company name", "I asked for an invoice {n} days ago and still nothing",
         "the invoice amount does not match what I paid"],
    ),
    "privacy": (
        ["App要求获取通讯录权限，隐私没保障", "注册后天天接到推销电话，隐私泄露了", "隐私协议写得太模糊",
         "{p}的摄像头一直在上传数据，隐私怎么保护？"],
        ["the app demands access to my contacts, what about privacy", "my privacy was leaked, sales calls every day",
         "the privacy policy is vague"],
    ),
    "livestream": (
        ["直播间说的赠品没有发", "直播间承诺的价格下单后变了", "直播间买的{p}和描述不一样", "直播间优惠券领了用不了"],
        ["the gift promised in the livestream never came", "the livestream price changed at checkout",
         "the livestream coupon does not work"],
    ),
    "packaging": (
        ["包装塑料太多，不环保", "过度包装，{p}的盒子比机器大{n}倍", "包装泡沫太多，不环保", "希望包装更环保一些"],
        ["too much plastic packaging", "the packaging is wasteful, the box is huge", "please use less plastic packaging"],
    ),
}  # fmt: skip


def emerging_texts(n: int, seed: int) -> tuple[list[str], list[int], list[datetime]]:
    rnd = random.Random(seed)
    themes = list(EMERGING)
    texts, labels, stamps = [], [], []
    start = datetime(2026, 1, 1)
    for _ in range(n):
        theme = rnd.randrange(len(themes))
        zh, en = EMERGING[themes[theme]]
        product = rnd.choice(P.PRODUCTS)
        chinese = rnd.random() < 0.75
        if chinese:
            core = rnd.choice(zh).format(p=product[1], n=rnd.randint(2, 300))
            text = rnd.choice(P.OPENERS_ZH).format(n=rnd.randint(2, 30)) + core + rnd.choice(P.CLOSERS_ZH_NEG)
        else:
            core = rnd.choice(en).format(p=product[2], n=rnd.randint(2, 300))
            text = rnd.choice(P.OPENERS_EN) + core + rnd.choice(P.CLOSERS_EN_NEG)
        texts.append(text)
        labels.append(2 * theme + (0 if chinese else 1))
        # the firmware theme grows in the last two weeks; the others are flat over 90 days
        if themes[theme] == "firmware" and rnd.random() < 0.6:
            stamps.append(start + timedelta(days=76 + rnd.random() * 14))
        else:
            stamps.append(start + timedelta(days=rnd.random() * 90))
    return texts, labels, stamps


def clustering_benchmark(quick: bool, seed: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from voxloop_nlp.clustering import cluster_texts

    n = 2_000 if quick else 50_000
    texts, labels, stamps = emerging_texts(n, seed)
    cluster_texts(texts[:50])  # warm the imports and jieba's dictionary so they are not timed
    began, cpu = time.perf_counter(), time.process_time()
    result = cluster_texts(texts, timestamps=stamps, recent_days=14, seed=seed)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    ari = adjusted_rand_score(labels, result.labels)
    # purity: share of texts whose cluster's most common true group is their own (splitting a group into
    # several coherent clusters keeps purity high; mixing groups lowers it)
    truth = np.asarray(labels)
    purity = sum(np.bincount(truth[result.labels == c]).max() for c in np.unique(result.labels)) / n
    print(f"clustering: {n} texts ({len(EMERGING)} themes x 2 languages = {2 * len(EMERGING)} groups) -> "
          f"k={result.k} in {elapsed:.2f}s (cpu {cpu:.2f}s), purity={purity:.3f}, ARI={ari:.3f}")  # fmt: skip
    for cluster in result.clusters[:10]:
        growth = f"{cluster.growth:.2f}" if cluster.growth is not None else "new"
        print(f"  #{cluster.label} size={cluster.size} growth={growth} keywords={' '.join(cluster.keywords[:6])}"
              f" | {cluster.examples[0][:40]}")  # fmt: skip
    return {"seconds": elapsed, "items": n, "k": result.k, "ari": ari, "purity": purity}


DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/vx_bench_insights"


def dashboards_benchmark(database: str, args: argparse.Namespace) -> dict | None:
    """Run the dashboards child on one database, echoing its lines; returns its figures (None if it failed)."""
    from benchmarks._common import ensure_pg_database, pg_available

    suffix = "_quick" if args.quick else ""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "CELERY_BROKER_URL": "memory://",
           "ANALYZE_ON_INGEST": "0", "AUTOMATION_ON_ANALYSIS": "0", "LOG_LEVEL": "WARNING",
           "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "PYTHONPATH": str(ROOT)}  # fmt: skip
    env.pop("DATABASE_URL", None)
    if database == "pg":
        if not pg_available():
            print("pg: PostgreSQL not reachable (VOXLOOP_BENCH_PG); skipped")
            return None
        url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG_URL + suffix)
        ensure_pg_database(url)
        env["DATABASE_URL"] = url
        env["VOXLOOP_DATA_DIR"] = str(ROOT / "var" / f"bench-insights-pg{suffix.replace('_', '-')}")
    else:
        data_dir = Path(os.environ.get("BENCH_SQLITE_DIR", ROOT / "var" / f"bench-insights{suffix.replace('_', '-')}"))
        if not args.reuse and data_dir.exists():
            shutil.rmtree(data_dir)  # a fresh file: faster than deleting a million rows
        data_dir.mkdir(parents=True, exist_ok=True)
        env["VOXLOOP_DATA_DIR"] = str(data_dir)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "_insights_dashboards.py"), "--feedback", str(args.feedback),
           "--runs", str(args.runs), "--label", database, "--incremental", str(args.incremental)]  # fmt: skip
    cmd += ["--reanalyse", str(args.reanalyse)]
    if args.reuse:
        cmd.append("--reuse")
    if args.skip_pages:
        cmd.append("--skip-pages")
    if args.quick:
        cmd.append("--quick")
        env["BENCH_SPAN_DAYS"] = "365"
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    last = ""
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        if line.startswith("{"):
            last = line
        else:
            print(line, flush=True)
    if proc.wait() != 0 or not last:
        print(f"{database}: dashboards benchmark failed (exit {proc.returncode})")
        return None
    print(f"{database}: done in {time.perf_counter() - began:.0f}s")
    return json.loads(last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sub-minute run on fewer series, texts and items")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["pg", "sqlite"], help="time the dashboards on one database only")
    parser.add_argument("--reuse", action="store_true", help="keep the generated items and roll-ups if there")
    parser.add_argument("--skip-dashboards", action="store_true", help="the anomaly and clustering parts only")
    parser.add_argument("--skip-pages", action="store_true", help="generate, roll up and time the incremental "
                        "paths (incr_*), but not the pages")  # fmt: skip
    parser.add_argument("--feedback", type=int, help="feedback items (default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--runs", type=int, help="timed requests per page variant (default 20; 5 with --quick)")
    parser.add_argument("--incremental", type=int, default=1000, help="new items, and old ones re-analysed")
    args = parser.parse_args()
    args.feedback = args.feedback or (20_000 if args.quick else 1_000_000)
    args.runs = args.runs or (5 if args.quick else 20)
    args.reanalyse = args.incremental
    if args.quick:  # fewer old days to recompute, and two variants per page (default, period=730)
        args.incremental, args.reanalyse = min(args.incremental, 100), min(args.incremental, 30)
    anomaly = anomaly_benchmark(args.quick, args.seed)
    cluster = clustering_benchmark(args.quick, args.seed)
    dashboards: dict[str, dict | None] = {}
    if not args.skip_dashboards:
        for database in [args.only] if args.only else ["pg", "sqlite"]:
            dashboards[database] = dashboards_benchmark(database, args)
    measured = {db: d for db, d in dashboards.items() if d}
    extra = ""
    if dashboards:
        worst = max((d["p95"] for d in measured.values()), default=float("nan"))
        extra = f"dashboard_p95_ms={worst:.1f} "
        for db, d in dashboards.items():
            extra += f"dashboard_{db}_p95_ms={d['p95']:.1f} " if d else f"dashboard_{db}_p95_ms=nan "
        for db, d in measured.items():  # the benchmark process's CPU: what the wall time is without waiting
            extra += f"dashboard_{db}_cpu_p95_ms={d.get('cpu_p95', float('nan')):.1f} "
        for db, d in measured.items():
            extra += (f"rebuild_{db}_s={d.get('rebuild_s', float('nan')):.1f} "
                      f"incr_new_{db}_ms={d['incr_new_ms']:.0f} incr_reanalysed_{db}_ms={d['incr_reanalysed_ms']:.0f} "
                      f"incr_reanalysed_full_{db}_ms={d.get('incr_reanalysed_full_ms', float('nan')):.0f} "
                      f"incr_fold_cpu_{db}_ms={d.get('incr_fold_cpu_ms', float('nan')):.0f} ")  # fmt: skip
        extra += f"dashboard_items={args.feedback} "
        pages = [(db, p) for db, d in measured.items() for p in d["pages"].values()]
        over = [f"{db}:{p['page']}:{p['variant']}" for db, p in pages if p["p95"] > 300 or p["status"] != 200]
        if not args.skip_pages:
            print(f"target every page p95 <= 300 ms: {'PASS' if not over and measured else 'FAIL'}"
              + (f" (over or failing: {', '.join(over)})" if over else ""))  # fmt: skip
    extra += f"load_avg={os.getloadavg()[0]:.1f} "
    print(
        f"RESULT {extra}anomaly_precision={anomaly['precision']:.3f} anomaly_recall={anomaly['recall']:.3f} "
        f"anomaly_delay_days={anomaly['delay']:.2f} anomaly_s={anomaly['seconds']:.2f} "
        f"cluster_s={cluster['seconds']:.2f} cluster_items={cluster['items']} cluster_k={cluster['k']} "
        f"cluster_purity={cluster['purity']:.3f} cluster_ari={cluster['ari']:.3f}"
    )


if __name__ == "__main__":
    main()
