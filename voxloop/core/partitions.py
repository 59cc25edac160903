"""Monthly partitions of the append-only logs on PostgreSQL (docs/operations.md, "Monthly partitions").

The case timeline (``cases_caseevent``, by ``created_at``), the audit log (``accounts_auditlog``, by ``at``) and
feedback (``feedback_feedback``, by ``received_at``) grow without end and are (nearly) only ever appended to. On
PostgreSQL each is a table partitioned by month (declarative range partitioning, UTC months), so that retention
removes a whole old month by dropping its partition instead of deleting rows one by one, and the newest month's
indexes stay small. SQLite keeps plain tables: nothing here runs there.

- ``convert`` turns an existing table into a partitioned one, copying its rows (the migrations call it);
- ``ensure_ahead`` creates the partitions of the coming months (daily, by a beat task), and gives the rows that
  had landed in the catch-all default partition (dated before the first month, or far ahead) their own months;
- ``drop_before`` drops the partitions of months that ended before a date (``voxloop partitions --drop-before``).

A partitioned table's keys must contain the partition column, so its primary key becomes ``(id, <time>)`` and a
foreign key can no longer point at ``id`` alone: the references to these tables (to case events from
notifications, outgoing messages and webhook deliveries; to feedback from its analysis, topics, corrections, tags,
rule firings, case links, improvement actions, survey responses and fix notices) are kept by the application.
Django's ``on_delete`` keeps them when rows are deleted through the ORM, and ``drop_before`` does what it would
(``CASCADE`` deletes, ``SET_NULL`` empties, following the models) before it drops a month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.apps import apps
from django.db import connection, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

#: The partitioned logs: table → the time column it is partitioned by.
LOGS: dict[str, str] = {
    "cases_caseevent": "created_at",
    "accounts_auditlog": "at",
    "feedback_feedback": "received_at",
}
#: Logs whose unique key lives in a table of its own (a partitioned table cannot hold a unique key without its
#: time column): table → (key table, key columns, the key table's column holding the log's id). Dropping a month
#: deletes its key rows; triggers keep them otherwise (voxloop.feedback.keys).
KEYED: dict[str, tuple[str, tuple[str, ...], str]] = {
    "feedback_feedback": ("feedback_feedbackkey", ("source", "external_id"), "feedback_id"),
}
#: How deep drop_before follows CASCADE references (feedback → analysis → ...); the models go two levels deep.
_CASCADE_DEPTH = 4
#: Months created ahead of the current one (the beat task runs daily, so one would do; three leave room).
MONTHS_AHEAD = 3
# Table, column and partition names in the SQL below come from LOGS and the catalog, never from input: the S608
# warnings are false alarms.
_MONTH = re.compile(r"_p(\d{4})(\d{2})$")


@dataclass(frozen=True)
class Partition:
    name: str
    start: date | None  # None: the default partition, for rows outside every month
    rows: int


def _month(value: date, shift: int = 0) -> date:
    index = value.year * 12 + value.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def _bound(month: date) -> str:
    return f"{month.isoformat()} 00:00:00+00"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def supported(conn: BaseDatabaseWrapper | None = None) -> bool:
    return (conn or connection).vendor == "postgresql"


def is_partitioned(table: str, conn: BaseDatabaseWrapper | None = None) -> bool:
    if not supported(conn):
        return False
    with (conn or connection).cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row and row[0])


def references(table: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key that points at ``table``, from the models."""
    return sorted((model._meta.db_table, field.column) for model, field in _referring(table) if field.column)


def _referring(table: str) -> list[tuple[type[Model], Any]]:
    """(model, field) of every foreign key or one-to-one field that points at ``table``, including the tables
    Django makes for many-to-many fields."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for field in model._meta.concrete_fields:
            target = field.related_model if field.is_relation and (field.many_to_one or field.one_to_one) else None
            if isinstance(target, type) and target._meta.db_table == table:
                found.append((model, field))
    return found


def _clear_references(cursor: Any, table: str, ids: str, depth: int = 0) -> None:
    """Do to the rows referring to ``table``'s rows ``ids`` (an SQL query of ids) what Django's ``on_delete`` does
    when they are deleted through the ORM: CASCADE deletes them (their own references first), SET_NULL empties the
    reference, DO_NOTHING leaves it. Anything else (PROTECT, RESTRICT, SET_DEFAULT) is refused."""
    if depth > _CASCADE_DEPTH:
        raise ValueError(f"References to {table} go deeper than {_CASCADE_DEPTH} levels")
    for model, field in _referring(table):
        referring, column = model._meta.db_table, field.column
        on_delete = field.remote_field.on_delete
        where = f"{_q(column)} IN ({ids})"
        if on_delete is models.CASCADE:
            pk = _q(model._meta.pk.column if model._meta.pk and model._meta.pk.column else "id")
            _clear_references(cursor, referring, f"SELECT {pk} FROM {_q(referring)} WHERE {where}", depth + 1)  # noqa: S608
            cursor.execute(f"DELETE FROM {_q(referring)} WHERE {where}")  # noqa: S608
        elif on_delete is models.SET_NULL:
            cursor.execute(f"UPDATE {_q(referring)} SET {_q(column)} = NULL WHERE {where}")  # noqa: S608
        elif on_delete is not models.DO_NOTHING:
            raise ValueError(f"{referring}.{column} cannot follow rows of {table} removed with their month")


def _create_month(cursor: Any, table: str, column: str, month: date) -> str | None:
    """Create one month's partition unless it exists; rows of that month in the default partition move into it."""
    name = f"{table}_p{month:%Y%m}"
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
    if cursor.fetchone()[0]:
        return None
    start, end = _bound(month), _bound(_month(month, 1))
    # CHECK constraints too: ATTACH refuses a partition without the parent's (feedback's rating_scale >= 0).
    cursor.execute(f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    default = f"{table}_pdefault"
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
    if cursor.fetchone()[0]:
        cursor.execute(
            f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(column)} >= %s AND {_q(column)} < %s RETURNING *) "  # noqa: S608
            f"INSERT INTO {_q(name)} SELECT * FROM moved",
            [start, end],
        )
    cursor.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES FROM (%s) TO (%s)", [start, end])
    return name


def convert(
    table: str, now: datetime | None = None, conn: BaseDatabaseWrapper | None = None, column: str | None = None
) -> bool:
    """Turn ``table`` (a plain table of LOGS) into one partitioned by month, with every row copied over.

    Keeps its name, columns, indexes (by name), foreign keys out of it and its id sequence; drops the foreign key
    constraints that point at it. Does nothing on SQLite or when already done. Returns whether it converted."""
    conn = conn or connection
    if not supported(conn) or is_partitioned(table, conn):
        return False
    column = column or LOGS[table]
    now = now or datetime.now(UTC)
    old = f"{table}_unpartitioned"
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        # Checks of deferred keys still pending in this transaction would forbid altering the tables: run them now
        # (as Django's schema editor does), and defer again at the end.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {_q(table)} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid), x.indisunique FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
            [table],
        )
        indexes = cursor.fetchall()
        if any(unique for _name, _sql, unique in indexes):
            raise ValueError(f"{table} has a unique index without its time column: it cannot be partitioned")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'c')",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE confrelid = %s::regclass AND contype = 'f' AND conrelid <> confrelid",
            [table],
        )
        for referring, name in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {referring} DROP CONSTRAINT {_q(name)}")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
        last_id, called = cursor.fetchone()

        cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
        cursor.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING STORAGE) "
            f"PARTITION BY RANGE ({_q(column)})"
        )
        cursor.execute(f"CREATE TABLE {_q(table + '_pdefault')} PARTITION OF {_q(table)} DEFAULT")
        cursor.execute(f"SELECT min({_q(column)}), max(id) FROM {_q(old)}")  # noqa: S608
        first, max_id = cursor.fetchone()
        month = _month((first or now).astimezone(UTC).date())
        last = _month(now.astimezone(UTC).date(), MONTHS_AHEAD)
        while month <= last:
            _create_month(cursor, table, column, month)
            month = _month(month, 1)
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")  # noqa: S608
        cursor.execute(f"DROP TABLE {_q(old)}")

        seq = f"{table}_id_seq"
        cursor.execute(f"CREATE SEQUENCE {_q(seq)} AS bigint OWNED BY {_q(table)}.id")
        # The next id is the one the old sequence would have given.
        cursor.execute("SELECT setval(%s, %s, %s)", [seq, max(last_id, max_id or 0), called or max_id is not None])
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval(%s::regclass)", [seq])
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id, {_q(column)})")
        for name, definition in constraints:
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
        for _name, definition, _unique in indexes:
            cursor.execute(definition)  # CREATE INDEX on the parent: one index on every partition
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return True


def partitions(table: str) -> list[Partition]:
    """The months of a partitioned table, oldest first, then the default partition; rows as estimated by ANALYZE."""
    if not is_partitioned(table):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, greatest(c.reltuples, 0)::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [table],
        )
        rows = cursor.fetchall()
    found = []
    for name, estimate in rows:
        match = _MONTH.search(name)
        found.append(Partition(name, date(int(match[1]), int(match[2]), 1) if match else None, int(estimate)))
    return sorted(found, key=lambda p: (p.start is None, p.start or date.min))


def ensure_ahead(now: datetime | None = None, months: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of this month and the next ``months`` for every partitioned log; returns new names."""
    if not supported():
        return []
    current = _month((now or datetime.now(UTC)).astimezone(UTC).date())
    created = []
    for table, column in LOGS.items():
        if not is_partitioned(table):
            continue
        with transaction.atomic(), connection.cursor() as cursor:
            # Rows dated outside every month (an old case imported, a clock far off) wait in the default
            # partition: their months are made too, so retention can drop them like any other.
            cursor.execute(
                f"SELECT DISTINCT date_trunc('month', {_q(column)} AT TIME ZONE 'UTC')::date "  # noqa: S608
                f"FROM {_q(table + '_pdefault')}"
            )
            stray = sorted(row[0] for row in cursor.fetchall())
            for month in [*stray, *(_month(current, shift) for shift in range(months + 1))]:
                name = _create_month(cursor, table, column, month)
                if name:
                    created.append(name)
    return created


def drop_before(table: str, cutoff: date, *, dry_run: bool = False) -> list[Partition]:
    """Drop every month of ``table`` that ended on or before ``cutoff`` (rows and all), after doing to the rows
    that refer to it what their ``on_delete`` says (deleting a month of feedback deletes its analyses, tags, case
    links...; survey responses keep their answers and lose the link) and deleting its key rows. Returns the
    months dropped (or, for a dry run, that would be) with their exact rows."""
    doomed = [p for p in partitions(table) if p.start is not None and _month(p.start, 1) <= cutoff]
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        for part in doomed:
            cursor.execute(f"SELECT count(*) FROM {_q(part.name)}")  # noqa: S608
            rows = cursor.fetchone()[0]
            if not dry_run:
                _clear_references(cursor, table, f"SELECT id FROM {_q(part.name)}")  # noqa: S608
                if table in KEYED:
                    key_table, key, id_column = KEYED[table]
                    match = " AND ".join(f"k.{_q(c)} = p.{_q(c)}" for c in key)
                    cursor.execute(
                        f"DELETE FROM {_q(key_table)} k USING {_q(part.name)} p "  # noqa: S608
                        f"WHERE {match} AND k.{_q(id_column)} = p.id"
                    )
                cursor.execute(f"DROP TABLE {_q(part.name)}")
            dropped.append(Partition(part.name, part.start, rows))
    return dropped
