"""VoxLoop behind PgBouncer in transaction pooling (docs/operations.md, "PgBouncer").

A real PgBouncer (Debian's package) is started on a spare port in front of the test database, with fewer server
connections than clients, and a VoxLoop process configured for it (DB_TRANSACTION_POOLING=1) runs the paths that
keep state on the server beyond one statement: the import's COPY with repeated statements, the staging table,
analysis, the roll-up rebuild with its advisory locks, a re-analysis folded in by deltas, QuerySet.iterator() in
several threads, and the doctor (voxloop/core/tests/pgbouncer_session.py). Skipped on SQLite and where PgBouncer
is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from voxloop.core.tests.session_process import run_session

PGBOUNCER = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if Path(p).exists()), None)
SERVER_CONNECTIONS = 2

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def bouncer() -> Iterator[tuple[int, Path]]:
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer sits in front of PostgreSQL")
    if PGBOUNCER is None:
        pytest.skip("PgBouncer is not installed (apt-get install pgbouncer)")
    db = connection.settings_dict
    port = _free_port()
    # PgBouncer refuses to run as root and then reads its files as the user it switches to: a folder all may read.
    folder = Path(tempfile.mkdtemp(prefix="voxloop-pgbouncer-"))
    folder.chmod(0o777)
    server = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432}"
    if db.get("PASSWORD"):
        server += f" password={db['PASSWORD']}"
    (folder / "users.txt").write_text(f'"{db["USER"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = {server}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\npool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmax_client_conn = 50\n"
        f"ignore_startup_parameters = extra_float_digits,options\n"
    )  # fmt: skip
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(folder / "pgbouncer.ini")]
    log = open(folder / "pgbouncer.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(f"PgBouncer did not start:\n{(folder / 'pgbouncer.log').read_text()[-2000:]}")
            time.sleep(0.1)
    try:
        yield port, folder / "pgbouncer.log"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_paths_that_keep_server_state_work_through_transaction_pooling(bouncer, tmp_path):
    port, log = bouncer
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    seen = run_session(
        "voxloop.core.tests.pgbouncer_session", tmp_path, 300,
        DATABASE_URL=f"postgres://{db['USER']}{password}@127.0.0.1:{port}/{db['NAME']}",
        DB_TRANSACTION_POOLING="1", DB_CONN_MAX_AGE="60",
    )  # fmt: skip

    assert seen["server_side_cursors_off"] is True
    assert seen["ingested"] == 40
    assert seen["staged"] == 2  # the repeated key stored once
    # Every item counted once in the roll-ups, and the re-analysed ones by their new label.
    assert seen["rolled_up"] == seen["feedback_rows"] == 42
    assert seen["rolled_up_negative"] == seen["negative"]
    assert seen["errors"] == []
    assert seen["iterated"] == [42, 42, 42, 42]
    assert seen["doctor_checks"] > 0
    # It all went through the bouncer, multiplexed onto its few server connections.
    text = log.read_text()
    assert text.count("login attempt") >= 4
    assert 1 <= text.count("new connection to server") <= SERVER_CONNECTIONS
