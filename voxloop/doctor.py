"""`voxloop doctor`: is this deployment keeping up? For people and for monitoring (docs/operations.md, "Doctor").

Prints the task queues (depth, age of the oldest task), the roll-up lag, the analysis backlog, the largest
tables and indexes, the slowest pages of the last hour, the replica's lag, and which measured tier limit is
closest. Exit status 0 when everything is within its threshold, 1 when something is not (each failing line
says why), so a monitoring system can run it every few minutes. ``--json`` prints the same as one object.

It sits in the project package, above every app, because it reads them all and belongs to none; voxloop.cli
sets Django up before importing it.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections
from django.db.models import Min
from django.utils import timezone

from voxloop.cases.models import Case
from voxloop.celery import periodic_run_key
from voxloop.core import timing
from voxloop.core.queues import LEGACY_QUEUE, QUEUES
from voxloop.feedback.models import AnalysisStatus, Feedback
from voxloop.metrics.models import DirtyDay, Watermark

OK, WARN, FAIL = "ok", "warn", "fail"

# How old the oldest waiting task of each queue may be (seconds) before the queue counts as not keeping up.
QUEUE_MAX_AGE = {"urgent": 60, "default": 300, "bulk": 3600, LEGACY_QUEUE: 300}
ROLLUP_MAX_LAG_S = 15 * 60
ANALYSIS_MAX_AGE_S = 10 * 60
REPLICA_MAX_LAG_S = 30
SLOW_PAGE_MS = 1000

# The limits of each tier as measured (docs/operations.md, "Tiers"): what the benchmarks ran at and met their
# targets. Beyond them nothing is known to break, but nothing was measured either.
TIER_LIMITS: dict[str, dict[str, tuple[float, str]]] = {
    "sqlite": {
        "feedback_rows": (1_000_000, "feedback items (insight pages p95 <= 300 ms measured at 1M)"),
        "cases_rows": (200_000, "cases (KPI panel measured at 200k)"),
        "items_last_hour": (30_000, "items received in the last hour (one writer; imports ~25k rows/s in bursts)"),
    },
    "postgresql": {
        "feedback_rows": (1_000_000, "feedback items (insight pages and KPI panel measured at 1M)"),
        "cases_rows": (200_000, "cases (KPI panel measured at 200k)"),
        "items_last_hour": (100_000, "items received in the last hour (rules ~1,800 items/s on one core)"),
    },
}


@dataclass
class Check:
    section: str
    name: str
    value: str
    status: str = OK
    why: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


# --- queues -----------------------------------------------------------------------------------------------


def queue_state() -> dict[str, tuple[int, float | None]]:
    """(depth, age in seconds of the oldest waiting task) per queue, from the broker."""
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return _redis_queues(url)
    if url.startswith("filesystem://"):
        return _filesystem_queues(Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    raise NotImplementedError(url.split(":")[0])


def _redis_queues(url: str) -> dict[str, tuple[int, float | None]]:
    client = redis.Redis.from_url(url, socket_timeout=5)
    out: dict[str, tuple[int, float | None]] = {}
    now = time.time()
    for queue in (*QUEUES, LEGACY_QUEUE):
        depth = client.llen(queue)
        age = None
        if depth:
            # Kombu pushes on the left and workers pop on the right: the oldest task is the last element.
            raw = client.lindex(queue, -1) or b""  # gone meanwhile: not JSON, no age
            try:
                sent = json.loads(raw)["headers"].get("voxloop_sent_at")
                age = max(0.0, now - float(sent)) if sent else None
            except (ValueError, KeyError, TypeError):
                age = None
        out[queue] = (depth, age)
    return out


def _filesystem_queues(folder: Path) -> dict[str, tuple[int, float | None]]:
    """The embedded broker: one file per waiting task, named <ms>_<uuid>.<queue>.msg."""
    now = time.time()
    out: dict[str, tuple[int, float | None]] = {q: (0, None) for q in (*QUEUES, LEGACY_QUEUE)}
    for path in folder.glob("*.msg"):
        queue = path.name.partition(".")[2].removesuffix(".msg")
        if queue not in out:
            continue
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:  # taken meanwhile
            continue
        depth, oldest = out[queue]
        out[queue] = (depth + 1, max(oldest or 0.0, age))
    return out


def check_queues() -> list[Check]:
    try:
        state = queue_state()
    except NotImplementedError as exc:
        return [Check("queues", "broker", f"{exc} (depths not read for this broker)", WARN)]
    except Exception as exc:  # noqa: BLE001 - an unreachable broker is the finding
        return [Check("queues", "broker", f"unreachable: {exc}", FAIL, "the broker does not answer")]
    checks = []
    for queue, (depth, age) in state.items():
        limit = QUEUE_MAX_AGE.get(queue, 300)
        status, why = OK, ""
        if age is not None and age > limit:
            status, why = (
                FAIL,
                f"oldest task waited {_age(age)} (> {_age(limit)}): its consumer is missing or too small",
            )
        elif depth and age is None:
            status = WARN
        if queue == LEGACY_QUEUE and not depth:
            continue
        checks.append(Check("queues", queue, f"{depth} waiting, oldest {_age(age)}", status, why,
                            {"depth": depth, "oldest_s": age}))  # fmt: skip
    return checks


def check_schedule(now_s: float | None = None) -> list[Check]:
    """When the SLA sweep (the most time-critical scheduled task) last started, and how long it had waited."""
    now_s = time.time() if now_s is None else now_s
    entry = settings.CELERY_BEAT_SCHEDULE.get("sla-sweep")
    if not entry:
        return []
    period = float(entry["schedule"])
    run = cache.get(periodic_run_key(entry["task"]))
    if not run:
        return [Check("schedule", "SLA sweep", "no run recorded yet (is a worker running with --beat?)", WARN)]
    ago = now_s - run["started_at"]
    waited = run["started_at"] - run["sent_at"] if run.get("sent_at") else None
    late = ago > 3 * period
    return [Check("schedule", "SLA sweep", f"last started {_age(ago)} ago, after {_age(waited)} in its queue "
                  f"(every {_age(period)})", FAIL if late else OK,
                  f"no sweep for {_age(ago)}: is the scheduler (--beat) running, the urgent queue consumed?" if late else "",
                  {"started_s_ago": ago, "waited_s": waited, "period_s": period})]  # fmt: skip


# --- roll-ups and analysis ----------------------------------------------------------------------------------


def check_rollups(now: Any) -> list[Check]:
    dirty = DirtyDay.objects.aggregate(first=Min("marked_at"))["first"]
    count = DirtyDay.objects.count()
    lag = (now - dirty).total_seconds() if dirty else 0.0
    checks = [
        Check(
            "roll-ups",
            "days waiting",
            f"{count}, oldest marked {_age(lag if dirty else None)} ago",
            FAIL if lag > ROLLUP_MAX_LAG_S else OK,
            f"roll-ups {_age(lag)} behind (> {_age(ROLLUP_MAX_LAG_S)}): is the metrics refresh task running?"
            if lag > ROLLUP_MAX_LAG_S
            else "",
            {"days": count, "lag_s": lag},
        )  # fmt: skip
    ]
    looked = Watermark.objects.aggregate(first=Min("checked_until"))["first"]
    if looked is not None:
        behind = (now - looked).total_seconds()
        bad = behind > ROLLUP_MAX_LAG_S
        checks.append(Check("roll-ups", "last catch-up", f"{_age(behind)} ago", FAIL if bad else OK,
                            "the metrics refresh task has not run: is a worker with --beat running?" if bad else "",
                            {"seconds_ago": behind}))  # fmt: skip
    return checks


def check_analysis(now: Any) -> list[Check]:
    pending = Feedback.objects.filter(analysis_status=AnalysisStatus.PENDING)
    count = pending.count()
    first_id = pending.aggregate(first=Min("id"))["first"]
    age = None
    if first_id is not None:
        created = Feedback.objects.filter(pk=first_id).values_list("created_at", flat=True).first()
        age = (now - created).total_seconds() if created else None
    failed = Feedback.objects.filter(analysis_status=AnalysisStatus.FAILED).count()
    bad = age is not None and age > ANALYSIS_MAX_AGE_S and settings.ANALYZE_ON_INGEST
    return [
        Check(
            "analysis",
            "backlog",
            f"{count} pending, oldest {_age(age)}; {failed} failed",
            FAIL if bad else OK,
            f"items wait {_age(age)} for analysis (> {_age(ANALYSIS_MAX_AGE_S)}): add default workers" if bad else "",
            {"pending": count, "oldest_s": age, "failed": failed},
        )  # fmt: skip
    ]


# --- database -----------------------------------------------------------------------------------------------


def table_sizes(limit: int = 10) -> list[tuple[str, int, int, int]]:
    """(table, table bytes, index bytes, estimated rows) for the largest tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A table partitioned by month (voxloop.core.partitions) counts once, with all its partitions.
            cursor.execute(
                "SELECT c.relname, s.table_bytes, s.index_bytes, s.est_rows "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL ("
                "  SELECT sum(pg_table_size(k.oid))::bigint AS table_bytes, sum(pg_indexes_size(k.oid))::bigint"
                "  AS index_bytes, sum(GREATEST(k.reltuples, 0))::bigint AS est_rows FROM pg_class k"
                "  WHERE (k.oid = c.oid OR k.oid IN (SELECT relid FROM pg_partition_tree(c.oid))) AND k.relkind = 'r') s "
                "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = current_schema() "
                "ORDER BY s.table_bytes + s.index_bytes DESC LIMIT %s",
                [limit],
            )
            return [tuple(row) for row in cursor.fetchall()]
        if connection.vendor == "sqlite":
            try:
                cursor.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
                sizes = dict(cursor.fetchall())
            except Exception:  # noqa: BLE001 - SQLite built without dbstat
                return []
            cursor.execute("SELECT name, tbl_name, type FROM sqlite_master WHERE type IN ('table', 'index')")
            tables: dict[str, list[int]] = {}
            for name, table, kind in cursor.fetchall():
                entry = tables.setdefault(table, [0, 0])
                entry[0 if kind == "table" else 1] += sizes.get(name, 0)
            top = sorted(tables.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:limit]
            return [(name, t, i, -1) for name, (t, i) in top]
    return []


def check_tables() -> list[Check]:
    checks = []
    for name, table_bytes, index_bytes, rows in table_sizes():
        rows_text = f", ~{rows:,} rows" if rows > 0 else ""  # 0: PostgreSQL has not counted it yet (ANALYZE)
        checks.append(Check("tables", name, f"{_size(table_bytes)} + indexes {_size(index_bytes)}{rows_text}",
                            data={"table_bytes": table_bytes, "index_bytes": index_bytes, "rows": rows}))  # fmt: skip
    if connection.vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["NAME"])
        if path.exists():
            checks.append(Check("tables", "(database file)", _size(path.stat().st_size)))
    return checks


def check_replica() -> list[Check]:
    if "replica" not in connections.databases:
        return [Check("replica", "replica", "none configured (DATABASE_REPLICA_URL)")]
    try:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")
            recovering, lag = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001
        return [Check("replica", "replica", f"unreachable: {exc}", FAIL, "the replica does not answer")]
    if not recovering:
        return [Check("replica", "replica", "is not a standby (pg_is_in_recovery() is false)", WARN)]
    lag = float(lag or 0.0)
    bad = lag > REPLICA_MAX_LAG_S
    return [Check("replica", "lag", _age(lag), FAIL if bad else OK,
                  f"the replica is {_age(lag)} behind (> {_age(REPLICA_MAX_LAG_S)})" if bad else "",
                  {"lag_s": lag})]  # fmt: skip


def check_pages() -> list[Check]:
    try:
        rows = timing.slowest(8)
    except Exception as exc:  # noqa: BLE001
        return [Check("pages", "timings", f"cache unavailable: {exc}", WARN)]
    if not rows:
        return [Check("pages", "timings", "no requests timed in the last hour")]
    return [
        Check(
            "pages",
            row["route"],
            f"p95 {row['p95']:.0f} ms, max {row['max']:.0f} ms, {row['count']} requests, {row['errors']} errors",
            WARN if row["p95"] > SLOW_PAGE_MS or row["errors"] else OK,
            data=row,
        )  # fmt: skip
        for row in rows
    ]


def tier_usage(now: Any) -> list[tuple[str, float, float, str]]:
    """(limit name, current value, measured limit, what it is) for this deployment's tier."""
    tier = "postgresql" if connection.vendor == "postgresql" else "sqlite"
    limits = TIER_LIMITS[tier]
    newest = Feedback.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    current = {
        # Estimates that cost nothing at any size: the highest key, and the rows of the last hour by the index.
        "feedback_rows": newest,
        "cases_rows": Case.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "items_last_hour": Feedback.objects.filter(
            pk__gt=max(0, newest - 200_000), created_at__gte=now - timedelta(hours=1)
        ).count(),  # fmt: skip
    }
    return [(name, current[name], limit, what) for name, (limit, what) in limits.items()]


def check_tier(now: Any) -> list[Check]:
    usage = tier_usage(now)
    name, value, limit, what = max(usage, key=lambda u: u[1] / u[2])
    share = value / limit
    status = FAIL if share >= 1 else WARN if share >= 0.8 else OK
    why = f"{what}: {value:,.0f} of {limit:,.0f} measured; see docs/operations.md, Tiers" if status != OK else ""
    tier = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite (one machine)"
    return [Check("tier", f"closest limit of {tier}", f"{name} {value:,.0f} of {limit:,.0f} ({share:.0%})", status, why,
                  {name_: {"value": v, "limit": lim} for name_, v, lim, _w in usage})]  # fmt: skip


# --- the report ---------------------------------------------------------------------------------------------


def run_checks() -> list[Check]:
    now = timezone.now()
    checks: list[Check] = []
    for step in (check_queues, check_schedule, lambda: check_rollups(now), lambda: check_analysis(now), check_tables,
                 check_pages, check_replica, lambda: check_tier(now)):  # fmt: skip
        checks.extend(step())
    return checks


def render(checks: list[Check]) -> str:
    lines, section = [], None
    for check in checks:
        if check.section != section:
            section = check.section
            lines.append(f"{section}:")
        mark = {OK: "  ", WARN: "? ", FAIL: "! "}[check.status]
        lines.append(f"  {mark}{check.name}: {check.value}" + (f"  <- {check.why}" if check.why else ""))
    failing = [c for c in checks if c.status == FAIL]
    lines.append(f"unhealthy: {len(failing)} problem(s)" if failing else "healthy")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="voxloop doctor", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the text report")
    args = parser.parse_args(argv)
    checks = run_checks()
    unhealthy = any(c.status == FAIL for c in checks)
    if args.json:
        print(json.dumps({"healthy": not unhealthy, "checks": [asdict(c) for c in checks]}, default=str))
    else:
        print(render(checks))
    return 1 if unhealthy else 0
