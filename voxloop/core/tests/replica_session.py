"""Run by test_replica.py in a process of its own whose DATABASE_URL points at a PostgreSQL primary and whose
DATABASE_REPLICA_URL points at its streaming replica (both started by the test).

Prints one JSON object on its last line with what it saw; the test judges it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from typing import Any

import django

MARK = "replica-check 7f3a: the parcel arrived broken"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from voxloop.accounts.models import User
    from voxloop.core import dbrouter
    from voxloop.doctor import main as doctor_main

    primary, replica = connections["default"], connections["replica"]
    out: dict[str, Any] = {}

    def replica_has_caught_up(timeout: float = 10) -> bool:
        with primary.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()")
            target = cursor.fetchone()[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with replica.cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                if cursor.fetchone()[0]:
                    return True
            time.sleep(0.05)
        return False

    def doctor_replica() -> list[dict[str, Any]]:
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            doctor_main(["--json"])
        return [c for c in json.loads(stdout.getvalue())["checks"] if c["section"] == "replica"]

    def feedback_page(client: Client, *, pinned: bool) -> tuple[str, int]:
        """The metrics drill-down of this month's feedback; (its text, queries it sent to the replica)."""
        if not pinned:  # as after REPLICA_PIN_SECONDS have passed since this browser last wrote
            client.cookies.pop(dbrouter.PIN_COOKIE, None)
        with CaptureQueriesContext(replica) as on_replica:
            response = client.get("/metrics/feedback/")
        assert response.status_code == 200, response.status_code
        return response.content.decode(), len(on_replica.captured_queries)

    call_command("createcachetable", verbosity=0)  # the shared cache without Redis (page timings, rate limits)
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        out["replica_in_recovery"] = cursor.fetchone()[0]

    writer_user = User.objects.create_superuser("writer", "writer@example.com", "pw-writer-1")
    reader_user = User.objects.create_superuser("reader", "reader@example.com", "pw-reader-1")
    writer, reader = Client(), Client()
    writer.force_login(writer_user)
    reader.force_login(reader_user)
    out["caught_up_before"] = replica_has_caught_up()
    out["lag_before"] = doctor_replica()

    # Hold the replica back, as a busy or distant replica would be, then one person writes.
    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    response = writer.post("/feedback/new/", {"channel": "hotline", "text": MARK})
    out["entry_status"] = response.status_code
    out["writer_pinned"] = dbrouter.PIN_COOKIE in response.cookies

    page, replica_queries = feedback_page(writer, pinned=True)
    out["writer_sees_own_write"] = MARK in page
    out["writer_replica_queries"] = replica_queries
    page, replica_queries = feedback_page(reader, pinned=False)
    out["reader_sees_write_while_replica_behind"] = MARK in page
    out["reader_replica_queries"] = replica_queries

    time.sleep(2)
    out["lag_while_paused"] = doctor_replica()

    with replica.cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")
    out["caught_up_after"] = replica_has_caught_up()
    page, replica_queries = feedback_page(reader, pinned=False)
    out["reader_sees_write_after_catch_up"] = MARK in page
    out["reader_replica_queries_after"] = replica_queries
    out["lag_after"] = doctor_replica()
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
