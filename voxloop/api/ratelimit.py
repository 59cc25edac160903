"""Per-token request limits: a fixed one-minute window counted in the shared cache (Redis in production,
the database cache in the embedded default), so every web process sees the same count."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

logger = logging.getLogger(__name__)


class RateLimited(Exception):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(f"more than {limit} requests a minute")
        self.limit = limit
        self.retry_after = retry_after


def check_token_rate(token_id: int, *, limit: int | None = None, now: float | None = None) -> None:
    """Count one request for the token; raise RateLimited once it is over ``limit`` in the current minute."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE if limit is None else limit
    if limit <= 0:
        return
    now = time.time() if now is None else now
    key = f"voxloop:api-rate:{token_id}:{int(now // 60)}"
    try:
        if cache.add(key, 1, timeout=120):
            return
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr: a new window
        cache.add(key, 1, timeout=120)
        return
    except DatabaseError:
        # No cache table (createcachetable not run): serving the request matters more than counting it.
        logger.warning("API rate limit not counted: the cache is unavailable (run `voxloop createcachetable`)")
        return
    if count > limit:
        raise RateLimited(limit, retry_after=max(1, 60 - int(now % 60)))
