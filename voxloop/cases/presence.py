"""Who else has a case open now, and whether they are writing to the customer (the collision notice).

Kept in the default cache, not in the database tables: in a deployment that is Redis (``REDIS_URL``) or the
database cache table, both shared by every web process on every machine (only the test settings use a cache of
each process's own; test_presence.py shows two separate web processes seeing each other over both shared ones).
Each open case page says "I am here" every few seconds (``POLL_SECONDS``) and an entry nobody renews is gone
after ``TTL_SECONDS``, so a closed tab or a lost connection clears itself. One cache entry per case maps user id
-> (state, when); two pages writing at the same moment may drop one another's entry until their next poll,
which is harmless for a notice like this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from voxloop.accounts.models import User

POLL_SECONDS = 5
TTL_SECONDS = 20
VIEWING, REPLYING, LEFT = "viewing", "replying", "left"
STATES = (VIEWING, REPLYING, LEFT)


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    replying: bool


def _key(case_id: int) -> str:
    return f"case-presence:{case_id}"


def _fresh(entries: dict[str, Any], now: float) -> dict[str, tuple[str, float]]:
    return {uid: (state, at) for uid, (state, at) in (entries or {}).items() if now - at < TTL_SECONDS}


def mark(case_id: int, user: User, state: str) -> None:
    """Record that ``user`` is on the case page (viewing or replying), or has left it."""
    now = time.time()
    entries = _fresh(cache.get(_key(case_id)) or {}, now)
    if state == LEFT:
        entries.pop(str(user.pk), None)
    else:
        entries[str(user.pk)] = (REPLYING if state == REPLYING else VIEWING, now)
    cache.set(_key(case_id), entries, TTL_SECONDS)


def others(case_id: int, user: User) -> list[Presence]:
    """The other people on the case page now, those writing a reply first, then by name."""
    entries = _fresh(cache.get(_key(case_id)) or {}, time.time())
    ids = [int(uid) for uid in entries if uid != str(user.pk)]
    people = User.objects.filter(pk__in=ids, is_active=True).only("pk", "username", "first_name", "last_name")
    found = [
        Presence(person.pk, person.get_full_name() or person.username, entries[str(person.pk)][0] == REPLYING)
        for person in people
    ]
    return sorted(found, key=lambda p: (not p.replying, p.name))
