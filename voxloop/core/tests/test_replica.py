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

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from voxloop.core.tests.session_process import run_session

NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql")

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db]


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries, if they are all there."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    return next((d for d in found if all((d / name).exists() for name in NEEDED)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Pair:
    primary_url: str
    replica_url: str


def _run(command: list[str], *, as_postgres: bool = False, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool; the server tools refuse root, so as root they run as the ``postgres`` user."""
    if as_postgres and os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


@pytest.fixture
def primary_and_replica() -> Iterator[Pair]:
    if connection.vendor != "postgresql":
        pytest.skip("copies the PostgreSQL test database: runs in the PostgreSQL run of make test")
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="voxloop-replica-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    primary, replica = folder / "primary", folder / "replica"
    ports = {primary: _free_port(), replica: _free_port()}
    started: list[Path] = []

    def start(data: Path) -> None:
        options = (f"-p {ports[data]} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB "
                   "-c max_wal_senders=4 -c wal_level=replica")  # fmt: skip
        started.append(data)
        _run([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / f"{data.name}.log"),
              "-w", "-t", "30", "start"], as_postgres=True)  # fmt: skip

    try:
        # initdb's access file trusts local connections, replication ones included.
        _run([str(bin_dir / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"], as_postgres=True)  # fmt: skip
        start(primary)
        primary_port = ports[primary]
        db = connection.settings_dict
        client_env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
        _run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres", "-q",
              "-c", "CREATE DATABASE voxloop"])  # fmt: skip
        dump = _run([str(bin_dir / "pg_dump"), "--no-owner", "--no-privileges", "-h", db["HOST"] or "127.0.0.1",
                     "-p", str(db["PORT"] or 5432), "-U", db["USER"], db["NAME"]], env=client_env)  # fmt: skip
        _run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres", "-q",
              "-v", "ON_ERROR_STOP=1", "-d", "voxloop"], input=dump.stdout)  # fmt: skip
        _run([str(bin_dir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
              "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"], as_postgres=True)  # fmt: skip
        start(replica)
        deadline = time.monotonic() + 20
        while True:
            probe = _run([str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(ports[replica]), "-U", "postgres",
                          "-At", "-c", "SELECT pg_is_in_recovery()"])  # fmt: skip
            if probe.stdout.strip() == "t":
                break
            if time.monotonic() > deadline:
                pytest.fail("the replica did not come up in recovery")
            time.sleep(0.2)
        yield Pair(f"postgres://postgres@127.0.0.1:{primary_port}/voxloop",
                   f"postgres://postgres@127.0.0.1:{ports[replica]}/voxloop")  # fmt: skip
    finally:
        for data in reversed(started):
            subprocess.run([*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                            str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


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
