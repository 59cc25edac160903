"""How long pages take, for `voxloop doctor` ("the slowest pages over the last hour").

Each web process keeps its last requests in a ring buffer (route, milliseconds, status, when) and, at most every
FLUSH_SECONDS, writes a summary of the last hour per route to the cache, where the doctor merges the processes'
summaries. A request costs an append; the flush is one cache write. Routes are URL patterns (``cases/<int:pk>/``),
never paths, so tracking and survey tokens never reach the cache.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 3600
FLUSH_SECONDS = 15
BUFFER = 20_000  # requests kept per process (an hour at about 5 requests a second)
REGISTRY_KEY = "voxloop:timing:processes"
PROCESS_KEY = f"voxloop:timing:{socket.gethostname()}:{os.getpid()}"


class RingBuffer:
    def __init__(self, size: int = BUFFER) -> None:
        self.samples: deque[tuple[float, str, float, int]] = deque(maxlen=size)
        self.flushed_at = 0.0
        self.lock = threading.Lock()
        self.flusher: threading.Thread | None = None

    def add(self, route: str, ms: float, status: int, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.lock:
            self.samples.append((now, route, ms, status))
            due = now - self.flushed_at >= FLUSH_SECONDS
            if due:
                self.flushed_at = now
        if due:
            # In a thread of its own: with the database cache on SQLite a write can wait for an import's lock, and
            # no page may wait for its own timing.
            self.flusher = threading.Thread(target=_publish_and_close, args=(self.summary(now),), daemon=True)
            self.flusher.start()

    def summary(self, now: float | None = None) -> dict[str, dict[str, float]]:
        """Per route over the last hour: count, p50, p95 and max milliseconds, server errors."""
        now = time.time() if now is None else now
        by_route: dict[str, list[float]] = {}
        errors: dict[str, int] = {}
        with self.lock:
            samples = list(self.samples)
        for at, route, ms, status in samples:
            if now - at <= WINDOW_SECONDS:
                by_route.setdefault(route, []).append(ms)
                errors[route] = errors.get(route, 0) + (status >= 500)
        out = {}
        for route, values in by_route.items():
            values.sort()
            out[route] = {
                "count": len(values),
                "p50": values[len(values) // 2],
                "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
                "max": values[-1],
                "errors": errors[route],
            }
        return out


_buffer = RingBuffer()


def publish(summary: dict[str, dict[str, float]], key: str = PROCESS_KEY) -> None:
    """Write one process's summary; never fails a request (a missing cache only blinds the doctor)."""
    try:
        cache.set(key, {"at": time.time(), "routes": summary}, WINDOW_SECONDS)
        known = cache.get(REGISTRY_KEY) or []
        if key not in known:
            cache.set(REGISTRY_KEY, [*known, key][-500:], 2 * WINDOW_SECONDS)
    except Exception:  # noqa: BLE001
        logger.debug("timing: the cache is unavailable", exc_info=True)


def _publish_and_close(summary: dict[str, dict[str, float]]) -> None:
    try:
        publish(summary)
    finally:
        connections.close_all()  # this thread's own connections (the database cache), not the request's


def slowest(limit: int = 10) -> list[dict[str, Any]]:
    """The routes with the highest p95 over the last hour, over every process that reported. A route's p95 is
    the highest of its processes' p95s (an upper bound of the true one), its count and errors their sums."""
    keys = cache.get(REGISTRY_KEY) or []
    merged: dict[str, dict[str, float]] = {}
    now = time.time()
    for snapshot in cache.get_many(keys).values():
        if not isinstance(snapshot, dict) or now - snapshot.get("at", 0) > WINDOW_SECONDS:
            continue
        for route, figures in snapshot.get("routes", {}).items():
            row = merged.setdefault(
                route, {"route": route, "count": 0, "p50": 0.0, "p95": 0.0, "max": 0.0, "errors": 0}
            )
            row["count"] += figures["count"]
            row["errors"] += figures["errors"]
            for name in ("p50", "p95", "max"):
                row[name] = max(row[name], figures[name])
    return sorted(merged.values(), key=lambda r: r["p95"], reverse=True)[:limit]


class RequestTimingMiddleware:
    """Times every request that reached a view (static files are served before it by whitenoise)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if match is not None:
            route = f"{request.method} /{match.route}"
            _buffer.add(route, (time.perf_counter() - began) * 1000, response.status_code)
        return response
