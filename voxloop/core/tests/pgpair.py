"""A throw-away PostgreSQL primary and its streaming replica, for the read-replica test and benchmark.

Debian's server binaries (/usr/lib/postgresql/<version>/bin) make both in a temporary folder on spare ports, as
the ``postgres`` OS user when run as root (the server refuses root): the primary is ``initdb``-ed and loaded with
a copy of an existing database (``pg_dump``), the replica is made from it by ``pg_basebackup -R`` and is up once
it answers in recovery. Both are stopped and removed on leaving the block.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NEEDED = ("initdb", "pg_ctl", "pg_basebackup", "pg_dump", "psql")
# For tests: durability off, small buffers; a benchmark passes its own.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "16MB"}


@dataclass
class Pair:
    primary_url: str
    replica_url: str


def bin_dir() -> Path | None:
    """The newest installed PostgreSQL's binaries, if they are all there."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    return next((d for d in found if all((d / name).exists() for name in NEEDED)), None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], *, as_postgres: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool; the server tools refuse root, so as root they run as the ``postgres`` user."""
    if as_postgres and os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


@contextlib.contextmanager
def streaming_pair(source: Mapping[str, Any], settings: dict[str, str] | None = None) -> Iterator[Pair]:
    """A primary holding a copy of the database that Django settings ``source`` describe, and its replica."""
    binaries = bin_dir()
    if binaries is None:
        raise RuntimeError("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="voxloop-replica-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    primary, replica = folder / "primary", folder / "replica"
    ports = {primary: _free_port(), replica: _free_port()}
    started: list[Path] = []
    extra = " ".join(f"-c {k}={v}" for k, v in (FAST_SETTINGS if settings is None else settings).items())

    def start(data: Path) -> None:
        options = (f"-p {ports[data]} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder} "
                   f"-c max_wal_senders=4 -c wal_level=replica {extra}")  # fmt: skip
        started.append(data)
        _run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / f"{data.name}.log"),
              "-w", "-t", "30", "start"], as_postgres=True)  # fmt: skip

    def psql(port: int, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return _run([str(binaries / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", *args], **kwargs)

    try:
        # initdb's access file trusts local connections, replication ones included.
        _run([str(binaries / "initdb"), "-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync"], as_postgres=True)  # fmt: skip
        start(primary)
        psql(ports[primary], "-q", "-c", "CREATE DATABASE voxloop")
        dump = _run([str(binaries / "pg_dump"), "--no-owner", "--no-privileges", "-h", source["HOST"] or "127.0.0.1",
                     "-p", str(source["PORT"] or 5432), "-U", source["USER"], source["NAME"]],
                    env={**os.environ, "PGPASSWORD": source.get("PASSWORD") or ""})  # fmt: skip
        psql(ports[primary], "-q", "-v", "ON_ERROR_STOP=1", "-d", "voxloop", input=dump.stdout)
        _run([str(binaries / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(ports[primary]), "-U", "postgres",
              "-D", str(replica), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"], as_postgres=True)  # fmt: skip
        start(replica)
        deadline = time.monotonic() + 20
        while psql(ports[replica], "-At", "-c", "SELECT pg_is_in_recovery()").stdout.strip() != "t":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not come up in recovery")
            time.sleep(0.2)
        yield Pair(f"postgres://postgres@127.0.0.1:{ports[primary]}/voxloop",
                   f"postgres://postgres@127.0.0.1:{ports[replica]}/voxloop")  # fmt: skip
    finally:
        for data in reversed(started):
            subprocess.run([*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []),
                            str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)
