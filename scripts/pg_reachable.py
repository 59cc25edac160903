"""Exit 0 if the PostgreSQL server in the URL accepts a connection (its database need not exist)."""

import sys

import psycopg

url = sys.argv[1]
# Connect to the maintenance database: pytest-django creates the test database itself.
base = url.rsplit("/", 1)[0] + "/postgres"
try:
    with psycopg.connect(base, connect_timeout=3) as conn:
        conn.execute("SELECT 1")
except Exception:  # noqa: BLE001 - any failure means "not reachable"
    sys.exit(1)
