"""Kicks: "there is work, wake a worker" sent after commit, at most once per transaction.

A service that writes rows for a worker (case events, outgoing messages, webhook deliveries, dirty roll-up
days) asks for one task after its transaction commits. Asked per row, a transaction writing 500 rows queued 500
identical tasks, and those tasks queued more (docs/operations.md, "Queues"). ``on_commit_once`` keeps one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction


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


def _transaction_boundary(connection) -> object:
    """What marks the callbacks of the transaction in progress: every listed one when the outermost atomic
    block is the application's, else the savepoint id of the application's outermost block. Under Django's
    TestCase the real transaction is the test's, and a block opened by the code under test stands for the
    transaction it would be in production (None: no such block, or it made no savepoint: do not skip)."""
    for i, block in enumerate(connection.atomic_blocks):
        if not block._from_testcase:
            return _OUTERMOST if i == 0 else connection.savepoint_ids[i - 1]
    return None
