"""The read replica for real (docs/operations.md, "Read replica"): a PostgreSQL primary and its streaming replica.

The test starts both with Debian's own binaries (/usr/lib/postgresql/<version>/bin) in temporary folders on spare
ports, as the ``postgres`` OS user when run as root: the primary is ``initdb``-ed and loaded with a copy of the
migrated test database (``pg_dump``, seconds instead of a minute of migrations), the replica is made from it by
``pg_basebackup -R`` and waits in recovery. A VoxLoop process configured with DATABASE_URL (the primary) and
DATABASE_REPLICA_URL (the replica) then shows, with the replica's replay paused as a lagging replica would be, that
the metrics pages read from the replica, that a person who has just written reads their write from the primary,
and that ``voxloop doctor`` reports the replica's lag (voxloop/core/tests/replica_session.py). Both clusters are
stopped and removed afterwards. Runs in the PostgreSQL run of ``make test``; skipped only where the PostgreSQL
server binaries are not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

from voxloop.core.tests import pgpair
from voxloop.core.tests.session_process import run_session

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def primary_and_replica() -> Iterator[pgpair.Pair]:
    if connection.vendor != "postgresql":
        pytest.skip("copies the PostgreSQL test database: runs in the PostgreSQL run of make test")
    if pgpair.bin_dir() is None:
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    with pgpair.streaming_pair(connection.settings_dict) as pair:
        yield pair


def test_reports_read_the_replica_and_a_writer_reads_their_write(primary_and_replica, tmp_path):
    seen = run_session(
        "voxloop.core.tests.replica_session", tmp_path, 120,
        DATABASE_URL=primary_and_replica.primary_url, DATABASE_REPLICA_URL=primary_and_replica.replica_url,
        REPLICA_PIN_SECONDS="15", ALLOWED_HOSTS="testserver",
    )  # fmt: skip

    assert seen["replica_in_recovery"] is True
    assert seen["caught_up_before"] is True
    # The person who wrote is sent on to the item and kept on the primary: they see their own feedback at once.
    assert seen["entry_status"] == 302
    assert seen["writer_pinned"] is True
    assert seen["writer_sees_own_write"] is True
    assert seen["writer_replica_queries"] == 0
    # Someone else's metrics page is read from the replica, which has not yet replayed the write.
    assert seen["reader_replica_queries"] > 0
    assert seen["reader_sees_write_while_replica_behind"] is False
    # Once the replica has caught up, they see it too, still from the replica.
    assert seen["caught_up_after"] is True
    assert seen["reader_sees_write_after_catch_up"] is True
    assert seen["reader_replica_queries_after"] > 0

    # voxloop doctor reports the replica's lag: small when in step, growing while it is held back.
    for key in ("lag_before", "lag_while_paused", "lag_after"):
        assert [c["name"] for c in seen[key]] == ["lag"], seen[key]
    assert seen["lag_before"][0]["status"] == "ok" and seen["lag_before"][0]["data"]["lag_s"] < 10
    assert seen["lag_while_paused"][0]["data"]["lag_s"] >= 2
    assert seen["lag_after"][0]["status"] == "ok" and seen["lag_after"][0]["data"]["lag_s"] < 10
