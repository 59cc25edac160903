"""Kicks: "there is work, wake a worker" sent after commit, at most once per transaction.

A service that writes rows for a worker (case events, outgoing messages, webhook deliveries, dirty roll-up
days) asks for one task after its transaction commits. Asked per row, a transaction writing 500 rows queued 500
identical tasks, and those tasks queued more (docs/operations.md, "Queues"). ``on_commit_once`` keeps one per
transaction, and ``send_unless_queued`` keeps one waiting in the queue however many transactions ask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)


class _Once:
    """The callback as registered: remembers whether it already ran, because Django's test helper
    (captureOnCommitCallbacks) runs callbacks without removing them from the connection's list."""

    __slots__ = ("func", "pending")

    def __init__(self, func: Callable[[], None]) -> None:
        self.func = func
        self.pending = True

    def __call__(self) -> None:
        self.pending = False
        self.func()


def on_commit_once(func: Callable[[], None], using: str | None = None) -> None:
    """``transaction.on_commit(func)`` unless ``func`` already waits for this transaction's commit.

    Skipping is safe at any savepoint depth: a callback registered in a savepoint that was rolled back is gone
    from the list (Django drops it), and one still listed is only dropped by rolling back a savepoint that
    encloses the current point too, which would drop this registration as well."""
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        boundary = _transaction_boundary(connection)
        for sids, callback, _robust in connection.run_on_commit:
            if (
                isinstance(callback, _Once)
                and callback.pending
                and callback.func == func
                and (boundary is _OUTERMOST or (boundary is not None and boundary in sids))
            ):
                return
    transaction.on_commit(_Once(func), using=using)


_OUTERMOST = object()


def _transaction_boundary(connection: Any) -> object:
    """What marks the callbacks of the transaction in progress: every listed one when the outermost atomic
    block is the application's, else the savepoint id of the application's outermost block. Under Django's
    TestCase the real transaction is the test's, and a block opened by the code under test stands for the
    transaction it would be in production (None: no such block, or it made no savepoint: do not skip)."""
    for i, block in enumerate(connection.atomic_blocks):
        if not block._from_testcase:
            return _OUTERMOST if i == 0 else connection.savepoint_ids[i - 1]
    return None


def _flag(name: str) -> str:
    return f"voxloop:kick-queued:{name}"


def send_unless_queued(name: str, send: Callable[[], None], *, hold_s: int = 30) -> bool:
    """Queue a worker run with ``send()`` unless one is already waiting (across transactions and processes, through
    the cache). The task calls ``kick_taken(name)`` first thing, so work committed while it runs queues a new run;
    a run lost with its worker stops blocking new ones after ``hold_s`` (and the periodic catch-up covers it)."""
    try:
        fresh = cache.add(_flag(name), 1, hold_s)
    except Exception:  # noqa: BLE001 - no cache: kick anyway, a duplicate run is harmless
        logger.warning("kick %s: the cache is unavailable; queuing without de-duplication", name)
        fresh = True
    if not fresh:
        return False
    try:
        send()
    except Exception:
        _forget(name)  # nothing was queued: the next commit must be able to kick
        raise
    return True


def kick_taken(name: str) -> None:
    """Called by the task when it starts: from now on a new commit needs a new run."""
    _forget(name)


def _forget(name: str) -> None:
    try:
        cache.delete(_flag(name))
    except Exception:  # noqa: BLE001 - no cache: nothing was recorded either
        logger.warning("kick %s: the cache is unavailable", name)
