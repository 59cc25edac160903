"""Reads of the reporting pages from a read replica, when one is configured (docs/operations.md, "Read replica").

With ``DATABASE_REPLICA_URL`` set, the pages that only read many rows (metrics, insights, reports, exports) read
the feedback, case, survey and roll-up tables from the ``replica`` database alias; every write, every other page,
and the tables behind signing in (users, sessions, lock-outs) stay on the primary. A replica runs a little behind,
so a person who has just changed something must see it: any request that writes (or is not a GET or HEAD) sets
a cookie that keeps that browser's reads on the primary for ``REPLICA_PIN_SECONDS``. Reads inside a transaction
stay on the primary as well, since the transaction may have written what they read. Background tasks that
build reports may opt in with ``replica_reads()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
PIN_COOKIE = "voxloop_primary_until"
SAFE_METHODS = ("GET", "HEAD")
# The apps whose tables the reporting pages read; authentication, sessions and audit tables are not among them.
REPLICA_APPS = frozenset(
    {"feedback", "analysis", "cases", "surveys", "metrics", "insights", "alerts", "stats", "automation"}
)
# Path prefixes of the pages that read from the replica; any path whose last part starts with "export" too.
REPLICA_PATHS = ("/metrics/", "/insights/", "/reports/")

_replica_reads: ContextVar[bool] = ContextVar("voxloop_replica_reads", default=False)
_wrote: ContextVar[list[bool] | None] = ContextVar("voxloop_wrote", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads(enabled: bool = True) -> Iterator[None]:
    """Within the block, reads of reporting tables go to the replica (when one is configured)."""
    token = _replica_reads.set(enabled)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if not _replica_reads.get() or not replica_configured():
            return None
        if model._meta.app_label not in REPLICA_APPS:
            return None
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return None  # this transaction may have written what it reads
        return REPLICA

    def db_for_write(self, model: Any, **hints: Any) -> str:
        wrote = _wrote.get()
        if wrote is not None:
            wrote[0] = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two copies of it

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # the replica follows the primary's schema through replication


def reads_from_replica(path: str) -> bool:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return path.startswith(REPLICA_PATHS) or last.startswith("export")


def pinned(request: HttpRequest, now: float | None = None) -> bool:
    try:
        until = float(request.COOKIES.get(PIN_COOKIE, "0"))
    except ValueError:
        return False
    return until > (time.time() if now is None else now)


class ReplicaReadMiddleware:
    """Chooses the database of a request's reads and pins a browser to the primary after it writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_configured():
            return self.get_response(request)
        wrote = [False]
        use_replica = request.method in SAFE_METHODS and not pinned(request) and reads_from_replica(request.path_info)
        wrote_token, reads_token = _wrote.set(wrote), _replica_reads.set(use_replica)
        try:
            response = self.get_response(request)
        finally:
            _replica_reads.reset(reads_token)
            _wrote.reset(wrote_token)
        if wrote[0] or request.method not in SAFE_METHODS:
            seconds = settings.REPLICA_PIN_SECONDS
            response.set_cookie(
                PIN_COOKIE, f"{time.time() + seconds:.0f}", max_age=seconds, httponly=True, samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )  # fmt: skip
        return response
