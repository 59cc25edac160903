"""Load: 50 concurrent clients against the production stack on loopback (issue 17, item 5).

    .venv/bin/python benchmarks/load.py            # 2 minutes of load
    .venv/bin/python benchmarks/load.py --quick    # 30 seconds
    .venv/bin/python benchmarks/load.py --profile  # CPU ms and queries per request, each type alone

Starts, on 127.0.0.1 only: gunicorn (voxloop.wsgi, 4 workers) and `voxloop worker --beat` (the urgent, default
and bulk consumers and the scheduler), against a fresh PostgreSQL database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/vx_bench_load, dropped and created) and Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/14, emptied: broker and cache). It seeds feedback through the API, waits for its analysis,
runs ANALYZE (the bench host's PostgreSQL has autovacuum off; production's would have analysed the tables), warms
the web workers with a few concurrent requests of each type (not counted), then runs the clients for the
duration, each sending its next request THINK seconds after its last answer:

* 25 post one feedback item each time (POST /api/feedback, a token with feedback:write);
* 15 read the API (GET /api/feedback?limit=50, alternately the first page and the next one);
* 10 load the feedback inbox as a signed-in agent (GET /feedback/).

Afterwards it waits up to 60 s for every accepted item to be stored and analysed, and prints what
`voxloop doctor` says about the stack. The SLA sweep's lateness is
measured from beat's schedule: each start of the sweep is recorded by the worker (voxloop.celery.
note_periodic_start) with the time beat queued it; a run's lateness is its start minus that, and a missing run
counts from when it was due (previous start + period). With --quick the sweep runs every 15 s (SLA_SWEEP_SECONDS),
so that the short run sees it several times. An error is any answer other than the expected status, or
no answer within 30 s. It also tells the CPU seconds the web server, the worker, PostgreSQL, the clients and every
other process on the host used during the load (from /proc): on a shared host the wall times measure the
neighbours too. The last line is `RESULT key=value ...`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import percentile  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/vx_bench_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
POSTERS, READERS, INBOX = 25, 15, 10
TIMEOUT_S = 30
PHRASES = [
    "快递太慢了，等了一个星期才到，包装还破了", "质量很好，客服态度也不错，下次还会再买",
    "退款申请三天了还没有处理，电话也打不通", "安装师傅很专业，准时上门，好评", "收到的颜色和图片不一样，希望能换货",
    "The delivery was late and nobody answered my emails", "Great product, works exactly as described",
    "維修後還是有異響，希望盡快處理", "建议增加夜间模式，晚上用太亮了", "客服说会回电，结果两天都没人联系我",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Client:
    """One keep-alive connection per client thread, reopened after an error."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_S)
        try:
            self.conn.request(method, path, body=body, headers=self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.accepted: list[int] = []

    def add(self, kind: str, ms: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.times[kind].append(ms)
            if not ok:
                self.errors[kind] += 1
                if len(self.samples) < 5:
                    self.samples.append(f"{kind}: {detail[:200]}")


def poster(
    port: int, token: str, stop: float, think: float, results: Results, n: int, run: str, once: bool = False
) -> None:
    client = Client(port, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    rnd = random.Random(n)
    i = 0
    while once or time.monotonic() < stop:
        i += 1
        body = json.dumps({"external_id": f"{run}-{n}-{i}", "text": rnd.choice(PHRASES), "channel": "api",
                           "customer_id": f"C{rnd.randrange(500):04d}"}, ensure_ascii=False).encode()  # fmt: skip
        began = time.perf_counter()
        try:
            status, data = client.request("POST", "/api/feedback", body)
            ok = status == 201
            if ok:
                with results.lock:
                    results.accepted.append(json.loads(data)["id"])
            detail = f"HTTP {status} {data[:120]!r}"
        except Exception as exc:  # noqa: BLE001 - counted as an error
            ok, detail = False, repr(exc)
        results.add("post", (time.perf_counter() - began) * 1000, ok, detail)
        if once:
            return
        time.sleep(think)


def reader(port: int, token: str, stop: float, think: float, results: Results, once: bool = False) -> None:
    client = Client(port, {"Authorization": f"Bearer {token}"})
    cursor = ""
    while once or time.monotonic() < stop:
        path = "/api/feedback?limit=50" + (f"&cursor={cursor}" if cursor else "")
        began = time.perf_counter()
        try:
            status, data = client.request("GET", path)
            ok = status == 200
            cursor = "" if cursor or not ok else (json.loads(data).get("next_cursor") or "")
            detail = f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, repr(exc)
        results.add("api_read", (time.perf_counter() - began) * 1000, ok, detail)
        if once:
            return
        time.sleep(think)


def inbox(port: int, session: str, stop: float, think: float, results: Results, once: bool = False) -> None:
    client = Client(port, {"Cookie": f"sessionid={session}"})
    while once or time.monotonic() < stop:
        began = time.perf_counter()
        try:
            status, data = client.request("GET", "/feedback/")
            ok = status == 200 and b"<html" in data[:2000].lower()
            detail = f"HTTP {status}"
        except Exception as exc:  # noqa: BLE001
            ok, detail = False, repr(exc)
        results.add("inbox", (time.perf_counter() - began) * 1000, ok, detail)
        if once:
            return
        time.sleep(think)


def wait_http(port: int, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer")


class SweepWatch(threading.Thread):
    """Polls the worker's record of the SLA sweep's starts; lateness against beat's schedule."""

    def __init__(self, period: float) -> None:
        super().__init__(daemon=True)
        self.period = period
        self.runs: dict[float, float | None] = {}  # started_at -> sent_at
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.core.cache import cache

        from voxloop.celery import periodic_run_key

        key = periodic_run_key("voxloop.cases.tasks.sla_sweep_task")
        while not self.stopped.is_set():
            record = cache.get(key)
            if record:
                self.runs[record["started_at"]] = record.get("sent_at")
            self.stopped.wait(0.5)

    def max_late(self, since: float, until: float) -> tuple[float, int]:
        starts = sorted(t for t in self.runs if t >= since - self.period)
        late = [max(0.0, t - sent) for t, sent in self.runs.items() if sent and t >= since]
        due = since
        for started in starts:  # a run missing from the schedule is late from when it was due
            late.append(max(0.0, started - due - self.period))
            due = started
        late.append(max(0.0, until - due - self.period))
        return max(late), len([t for t in starts if t >= since])


class CpuWatch(threading.Thread):
    """CPU seconds used during the load by the web server, the worker, PostgreSQL, these clients and everything
    else on the host, read from /proc every second (a process that ends between two reads loses its last second).
    On a shared host the wall times measure the neighbours too; this says how much."""

    def __init__(self, web_pgid: int, worker_pgid: int, database: str) -> None:
        super().__init__(daemon=True)
        self.groups = {web_pgid: "web", worker_pgid: "worker"}
        self.backend = f" {database} ".encode()  # a server process of the bench database (not of others')
        self.seen: dict[tuple[str, str], list] = {}  # (pid, start time) -> [class, first reading, last reading]
        self.stopped = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def classify(self, pid: str, fields: list[str]) -> str:
        if int(pid) == os.getpid():
            return "clients"
        if int(fields[2]) in self.groups:  # the process group gunicorn or the worker started
            return self.groups[int(fields[2])]
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                command = fh.read()
        except OSError:
            return "other"
        # "postgres: 15/main: postgres vx_bench_load 127.0.0.1(5432) idle": user, then database
        return "postgres" if command.startswith(b"postgres:") and self.backend in command else "other"

    def read(self) -> None:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            seconds = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
            key = (pid, fields[19])  # a pid reused by a new process is another process
            if key not in self.seen:
                self.seen[key] = [self.classify(pid, fields), seconds, seconds]
            self.seen[key][2] = seconds

    def run(self) -> None:
        while not self.stopped.is_set():
            self.read()
            self.stopped.wait(1.0)

    def totals(self) -> dict[str, float]:
        self.stopped.set()
        self.join()
        self.read()
        found = dict.fromkeys(("web", "worker", "postgres", "clients", "other"), 0.0)
        for kind, first, last in self.seen.values():
            found[kind] += last - first
        return found


class QueryCounter:
    """Counts the statements sent to the database (connection.execute_wrapper)."""

    def __init__(self) -> None:
        self.count = 0
        self.ms: dict[str, float] = defaultdict(float)  # statement (its start) -> wall ms in all

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms[sql[:160]] += (time.perf_counter() - began) * 1000


def analyze_tables() -> None:
    """Planner statistics for the freshly seeded tables. PostgreSQL on the bench host runs with autovacuum off, so
    without this the tables never get any: the inbox's topic lookup for its fifty rows then scanned all of
    analysis_feedbacktopic (13 to 40 ms of the database's CPU per page at 20,000 items) where a server with
    autovacuum on, as in production, reads the index. Run once after seeding, before the clock starts."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def profile(seed: int, rounds: int, top: int, reuse: bool, kinds: list[str]) -> None:
    """Each request type alone, in this process through Django's whole stack (middleware, templates): CPU ms of
    the web process and statements per request. No other load, so the figures are the request's own cost."""
    import cProfile
    import pstats

    from django.db import connection
    from django.test import Client as DjangoClient

    from voxloop.accounts.models import Role, User
    from voxloop.analysis import services as analysis
    from voxloop.api.models import Scope
    from voxloop.api.services import create_api_token
    from voxloop.feedback.models import Feedback

    write_token = create_api_token("load: posters", [Scope.FEEDBACK_WRITE])[1]
    read_token = create_api_token("load: readers", [Scope.FEEDBACK_READ])[1]
    writer = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {write_token}", HTTP_HOST="127.0.0.1")
    reader_client = DjangoClient(HTTP_AUTHORIZATION=f"Bearer {read_token}", HTTP_HOST="127.0.0.1")
    # The load's inbox user is an administrator ("load-agent"); the inbox is also timed as the other roles that
    # use it: a manager and an agent (unmasked, audited) and an analyst (masked, not audited).
    browsers: dict[str, DjangoClient] = {}
    for kind, username, role in (("inbox", "load-agent", Role.ADMIN), ("inbox_manager", "load-manager", Role.MANAGER),
                                 ("inbox_agent", "load-agent2", Role.AGENT),
                                 ("inbox_analyst", "load-analyst", Role.ANALYST)):  # fmt: skip
        user = User.objects.filter(username=username).first() or User.objects.create_user(
            username, password=secrets.token_urlsafe(12), role=role
        )
        browsers[kind] = DjangoClient(HTTP_HOST="127.0.0.1")
        browsers[kind].force_login(user)
    rnd = random.Random(1)
    began = time.monotonic()
    for start in range(Feedback.objects.filter(external_id__startswith="seed-").count() // 500 * 500, seed, 500):
        items = [{"external_id": f"seed-{n}", "text": rnd.choice(PHRASES), "channel": rnd.choice(["api", "chat"]),
                  "customer_id": f"C{rnd.randrange(500):04d}"} for n in range(start, min(seed, start + 500))]  # fmt: skip
        answer = writer.post("/api/feedback/batch", {"items": items}, content_type="application/json")
        if answer.status_code != 200:
            raise RuntimeError(f"seeding failed: HTTP {answer.status_code} {answer.content[:300]!r}")
    while not reuse and (ids := analysis.pending_feedback_ids()):  # reused: as the earlier run left it
        analysis.analyze_feedback(ids)
    analyze_tables()
    print(f"seeded and analysed {seed:,} items in {time.monotonic() - began:.0f}s", flush=True)

    cursor: list[str] = [""]
    run = f"r{int(time.time())}"

    def post(i: int) -> None:
        body = {"external_id": f"profile-{run}-{i}", "text": rnd.choice(PHRASES), "channel": "api",
                "customer_id": f"C{rnd.randrange(500):04d}"}  # fmt: skip
        answer = writer.post("/api/feedback", body, content_type="application/json")
        assert answer.status_code == 201, answer.content[:300]

    def api_read(i: int) -> None:
        path = "/api/feedback?limit=50" + (f"&cursor={cursor[0]}" if cursor[0] else "")
        answer = reader_client.get(path)
        assert answer.status_code == 200, answer.content[:300]
        cursor[0] = "" if cursor[0] else (answer.json().get("next_cursor") or "")

    def inbox_page(browser: DjangoClient) -> Callable[[int], None]:
        def call(i: int) -> None:
            answer = browser.get("/feedback/")
            assert answer.status_code == 200 and b"<html" in answer.content[:2000].lower(), answer.status_code

        return call

    figures: dict[str, tuple[float, float, float, float, float]] = {}
    calls = [("post", post), ("api_read", api_read)] + [(k, inbox_page(b)) for k, b in browsers.items()]
    for kind, call in calls:
        if (kinds and kind not in kinds) or (not kinds and kind in ("inbox_analyst",)):
            continue
        for i in range(3):  # warm: first-use imports, compiled templates, connections
            call(-1 - i + (0 if kind != "post" else -1000 * (i + 1)))
        counter = QueryCounter()
        cpu, wall = [], []
        profiler = cProfile.Profile() if top else None
        with connection.execute_wrapper(counter):
            for i in range(rounds):
                c0, w0 = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                call(i)
                if profiler:
                    profiler.disable()
                cpu.append((time.process_time() - c0) * 1000)
                wall.append((time.perf_counter() - w0) * 1000)
        figures[kind] = (statistics.median(cpu), statistics.median(wall), counter.count / rounds,
                         percentile(cpu, 95), percentile(wall, 95))  # fmt: skip
        print(f"{kind:13s} CPU {figures[kind][0]:6.1f} ms (median of {rounds}; p95 {figures[kind][3]:6.1f}), "
              f"wall {figures[kind][1]:6.1f} ms (p95 {figures[kind][4]:6.1f}), "
              f"{figures[kind][2]:.1f} statements per request", flush=True)  # fmt: skip
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(top)
            for sql, ms in sorted(counter.ms.items(), key=lambda kv: -kv[1])[:top]:
                print(f"  {ms / rounds:7.1f} ms/request  {sql}")
    nan = (float("nan"),) * 5
    figures = {kind: figures.get(kind, nan) for kind, _call in calls}
    extra = " ".join(
        f"profile_{kind}_cpu_ms={figures[kind][0]:.1f} profile_{kind}_wall_p95_ms={figures[kind][4]:.1f}"
        for kind in browsers
        if kind != "inbox" and figures[kind][0] == figures[kind][0]  # measured (not NaN)
    )
    print(f"RESULT profile_post_cpu_ms={figures['post'][0]:.1f} profile_post_queries={figures['post'][2]:.1f} "
          f"profile_api_read_cpu_ms={figures['api_read'][0]:.1f} profile_api_read_queries={figures['api_read'][2]:.1f} "
          f"profile_inbox_cpu_ms={figures['inbox'][0]:.1f} profile_inbox_queries={figures['inbox'][2]:.1f} "
          f"profile_post_wall_p95_ms={figures['post'][4]:.1f} profile_api_read_wall_p95_ms={figures['api_read'][4]:.1f} "
          f"profile_inbox_wall_p95_ms={figures['inbox'][4]:.1f} {extra} profile_seed={seed} "
          f"load_avg={os.getloadavg()[0]:.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s of load and fewer seeded items")
    parser.add_argument("--seconds", type=float, help="load duration (default 120; 30 with --quick)")
    parser.add_argument("--think", type=float, default=1.0, help="seconds each client waits between requests")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--profile", action="store_true",
                        help="no load: CPU ms and statements per request of each type, alone, in this process")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=50, help="requests of each type with --profile")
    parser.add_argument("--reuse", action="store_true",
                        help="with --profile: keep the database a previous --profile run seeded (faster reruns)")  # fmt: skip
    parser.add_argument("--kinds", default="", help="with --profile: only these (comma-separated: post,api_read,inbox,"
                        "inbox_manager,inbox_agent,inbox_analyst; default all but inbox_analyst)")  # fmt: skip
    parser.add_argument("--top", type=int, default=0, help="with --profile: print cProfile's top N functions")
    args = parser.parse_args()
    seconds = args.seconds or (30 if args.quick else 120)
    seed = 2_000 if args.quick else 20_000
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    for host in (urlsplit(db_url).hostname, urlsplit(redis_url).hostname):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"loopback only: {host} is not this machine")
    tmp = tempfile.mkdtemp(prefix="voxloop-load-")
    env = {**os.environ, "DATABASE_URL": db_url, "CELERY_BROKER_URL": redis_url, "REDIS_URL": redis_url,
           "VOXLOOP_DATA_DIR": tmp, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "LOG_LEVEL": "WARNING",
           "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "127.0.0.1,localhost", "DEBUG": "0",
           "PYTHONPATH": str(ROOT), "HISTORICAL_AFTER_DAYS": "36500"}  # fmt: skip
    if args.quick:  # 30 s would see at most one sweep of the default 60 s period: sweep every 15 s instead
        env.setdefault("SLA_SWEEP_SECONDS", "15")
    os.environ.update(env)
    import redis

    reuse = args.profile and args.reuse
    if not reuse:
        redis.Redis.from_url(redis_url).flushdb()
        fresh_postgres(db_url)
    voxloop = [sys.executable, "-m", "voxloop.cli"]
    subprocess.run([*voxloop, "migrate", "--no-input", "-v", "0"], env=env, cwd=ROOT, check=True)

    import django

    django.setup()
    if args.profile:
        profile(seed, args.rounds, args.top, reuse, args.kinds.split(",") if args.kinds else [])
        return
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from voxloop.accounts.models import Role, User
    from voxloop.api.models import Scope
    from voxloop.api.services import create_api_token
    from voxloop.feedback.models import AnalysisStatus, Feedback

    write_token = create_api_token("load: posters", [Scope.FEEDBACK_WRITE])[1]
    read_token = create_api_token("load: readers", [Scope.FEEDBACK_READ])[1]
    agent = User.objects.create_user("load-agent", password=secrets.token_urlsafe(12), role=Role.ADMIN)
    session = SessionStore()
    session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(agent.pk), "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = agent.get_session_auth_hash()
    session.create()

    port = free_port()
    logs = Path(tmp)
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "voxloop.wsgi", "--workers", str(args.web_workers), "--bind",
         f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=open(logs / "web.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )  # fmt: skip
    worker = subprocess.Popen(
        [*voxloop, "worker", "--beat", "--loglevel", "WARNING"], env=env, cwd=ROOT,
        stdout=open(logs / "worker.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )  # fmt: skip
    watch = SweepWatch(float(env.get("SLA_SWEEP_SECONDS", 60)))
    results = Results()
    try:
        wait_http(port, web, 120)
        # Seed through the API in batches, then let the workers analyse it before the clock starts.
        seeder = Client(port, {"Authorization": f"Bearer {write_token}", "Content-Type": "application/json"})
        rnd = random.Random(1)
        for start in range(0, seed, 500):
            items = [{"external_id": f"seed-{n}", "text": rnd.choice(PHRASES), "channel": rnd.choice(["api", "chat"]),
                      "customer_id": f"C{rnd.randrange(500):04d}"} for n in range(start, min(seed, start + 500))]  # fmt: skip
            status, data = seeder.request("POST", "/api/feedback/batch", json.dumps({"items": items}).encode())
            if status != 200:
                raise RuntimeError(f"seeding failed: HTTP {status} {data[:300]!r}")
        t0 = time.monotonic()
        while Feedback.objects.exclude(analysis_status=AnalysisStatus.DONE).exists() and time.monotonic() - t0 < 300:
            time.sleep(1)
        analyze_tables()
        # Warm each web worker on each request type before the clock starts (first-use imports, compiled templates,
        # connections), so the figures are the steady state the issue asks about, not the workers' start-up.
        # Concurrent, so that every worker gets some (one at a time they would mostly go to the same idle one).
        warm = Results()

        def warm_up(n: int) -> None:
            for k in range(3):
                poster(port, write_token, 0, 0, warm, n, f"warm{k}-{run_id}", once=True)
                reader(port, read_token, 0, 0, warm, once=True)
                inbox(port, str(session.session_key), 0, 0, warm, once=True)

        run_id = f"r{int(time.time())}"
        warmers = [threading.Thread(target=warm_up, args=(n,)) for n in range(args.web_workers * 2)]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        if sum(warm.errors.values()):
            raise RuntimeError(f"warming up failed: {warm.samples}")
        print(f"seeded {seed:,} items, analysed in {time.monotonic() - t0:.0f}s; load for {seconds:.0f}s, "
              f"{POSTERS} posting, {READERS} reading the API, {INBOX} on the inbox, {args.think}s think time",
              flush=True)  # fmt: skip
        watch.start()
        cpu_watch = CpuWatch(web.pid, worker.pid, urlsplit(db_url).path.lstrip("/")) if os.path.isdir("/proc") else None
        if cpu_watch:
            cpu_watch.start()
        began_wall = time.time()
        stop = time.monotonic() + seconds
        threads = [threading.Thread(target=poster, args=(port, write_token, stop, args.think, results, n, run_id))
                   for n in range(POSTERS)]  # fmt: skip
        threads += [threading.Thread(target=reader, args=(port, read_token, stop, args.think, results))
                    for _ in range(READERS)]  # fmt: skip
        threads += [threading.Thread(target=inbox, args=(port, session.session_key, stop, args.think, results))
                    for _ in range(INBOX)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ended_wall = time.time()
        load = os.getloadavg()[0]
        cpu = cpu_watch.totals() if cpu_watch else {}
        # Every accepted item stored and analysed within 60 s of the end?
        accepted = list(results.accepted)
        deadline = time.monotonic() + 60
        while True:
            done = Feedback.objects.filter(pk__in=accepted, analysis_status=AnalysisStatus.DONE).count()
            if done == len(accepted) or time.monotonic() > deadline:
                break
            time.sleep(2)
        drained_s = time.monotonic() - (deadline - 60)
        unprocessed = len(accepted) - done
        late, sweeps = watch.max_late(began_wall, ended_wall)
        # What `voxloop doctor` says about the stack just loaded (its page timings come from this run).
        doctor = subprocess.run([*voxloop, "doctor"], env=env, cwd=ROOT, capture_output=True, text=True)
        print(f"voxloop doctor (exit {doctor.returncode}):\n{doctor.stdout}{doctor.stderr}", flush=True)
    finally:
        watch.stopped.set()
        for process in (web, worker):
            try:
                os.killpg(process.pid, 15)
                process.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(process.pid, 9)

    errors = sum(results.errors.values())
    p95 = {kind: percentile(values, 95) if values else float("nan") for kind, values in results.times.items()}
    p50 = {kind: percentile(values, 50) if values else float("nan") for kind, values in results.times.items()}
    for kind in ("post", "api_read", "inbox"):
        values = results.times.get(kind, [])
        print(f"{kind:9s} {len(values):6d} requests ({len(values) / seconds:5.1f}/s), errors {results.errors[kind]}, "
              f"p50 {p50.get(kind, float('nan')):.0f} ms, p95 {p95.get(kind, float('nan')):.0f} ms")  # fmt: skip
    for sample in results.samples:
        print(f"  error: {sample}")
    print(f"accepted {len(accepted):,} items; {unprocessed} not analysed {drained_s:.0f}s after the end")
    print(f"SLA sweep: {sweeps} run(s) during the load, at most {late:.1f}s late against beat's schedule")
    if cpu:
        print(f"CPU seconds during the {seconds:.0f}s of load ({os.cpu_count()} cores, {seconds * (os.cpu_count() or 1):.0f} "
              "available): " + ", ".join(f"{kind} {value:.1f}" for kind, value in cpu.items()))  # fmt: skip
    print(f"load average at the end of the run: {load:.1f} on {os.cpu_count()} cores (wall times include waiting "
          f"for a CPU; logs in {tmp})")  # fmt: skip
    print(f"RESULT load_errors={errors} load_post_p95_ms={p95.get('post', float('nan')):.0f} "
          f"load_inbox_p95_ms={p95.get('inbox', float('nan')):.0f} load_sweep_max_late_s={late:.1f} "
          f"load_unprocessed_after_60s={unprocessed} load_api_read_p95_ms={p95.get('api_read', float('nan')):.0f} "
          f"load_requests={sum(len(v) for v in results.times.values())} load_seconds={seconds:.0f} "
          f"load_avg={load:.1f} load_cpu_web_s={cpu.get('web', float('nan')):.1f} "
          f"load_cpu_other_s={cpu.get('other', float('nan')):.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
