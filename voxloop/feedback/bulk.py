"""Fast bulk paths for feedback and the customers it creates, bypassing the ORM's per-value compilation
(it dominated import time).

SQLite: one executemany of INSERT ... ON CONFLICT DO NOTHING. PostgreSQL: ids are taken from the table's
sequence up front and the rows are COPYed straight into the table inside a savepoint; if a concurrent
writer stored one of the same (source, external_id) meanwhile, the savepoint is rolled back and the rows
go through a staging table, from which only the keys not stored yet are inserted. Either way a concurrent or
repeated import can never double a row. On PostgreSQL the feedback table is partitioned by month and its
unique key lives in a table of its own, kept by triggers in the same statement (voxloop.feedback.keys): keys
are looked up there.

Lookups take the whole chunk's keys as one array parameter (`= ANY(%s)`), bound server-side: one round
trip and one plan per chunk instead of one per 500 keys, and no client-side quoting of thousands of values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from django.db import connection, transaction
from django.db.models import Field, ForeignObjectRel, Model
from django.utils import timezone

from voxloop.feedback.keys import KEY_TABLE

# Table and column names below come from the models, never from input: the S608 warnings are false alarms.
from voxloop.feedback.models import Customer, Feedback

# Columns we write; the rest take their database defaults through the values below.
COLUMNS = [
    "created_at", "updated_at", "channel", "source", "external_id", "customer_id", "contact_name", "contact_email",
    "contact_phone", "received_at", "title", "text", "rating", "rating_scale", "product_id", "order_ref", "order_id",
    "raw_payload", "attachments", "batch_id", "thread_key", "created_by_id", "language", "sentiment",
    "sentiment_score", "kind", "urgency", "analysis_status", "model_version", "search_text",
]  # fmt: skip
JSON_COLUMNS = {"raw_payload", "attachments"}
TIME_COLUMNS = {"created_at", "updated_at", "received_at"}
LOOKUP_CHUNK = 500  # keys per IN (...) on SQLite, well under its variable limit


def _columns() -> list[str]:
    present = {f.column for f in Feedback._meta.concrete_fields}
    return [c for c in COLUMNS if c in present]


class JsonText(str):
    """A value already serialised to JSON (e.g. by the import's read-ahead thread, off the writer's path)."""


def json_text(value: Any) -> JsonText:
    return JsonText(_dump_json(value))


# The standard library's encoder for what orjson refuses (integers beyond 64 bits, exotic types).
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _encode_json(value: Any) -> str:
    # orjson: ~8x faster than json on a row's payload, which every imported row pays for.
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return _JSON_ENCODER.encode(value)


def _dump_json(value: Any) -> str:
    # PostgreSQL's jsonb and text types cannot hold NUL; the rest of the payload is kept as received.
    dumped = _encode_json(value)
    return _encode_json(_strip_nul(value)) if "\\u0000" in dumped else dumped


def _adapt(column: str, value: Any, vendor: str) -> Any:
    if value is None:
        return None
    if column in JSON_COLUMNS:
        return str(value) if isinstance(value, JsonText) else _dump_json(value)
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "")
    if column in TIME_COLUMNS and vendor == "sqlite":
        return str(timezone.make_naive(value, UTC) if timezone.is_aware(value) else value)
    if isinstance(value, Decimal) and vendor == "sqlite":
        return str(value)
    return value


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    if isinstance(value, dict):
        return {_strip_nul(k): _strip_nul(v) for k, v in value.items()}
    return value


# COPY text format, written by hand: psycopg's write_row adapts every value through its dumper registry,
# which cost more than all of the row's validation. Only these types reach COPY; anything else is an error.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value or "\x00" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"A naive datetime cannot be stored: {value!r}.")
    return value.isoformat()


_COPY_FORMAT: dict[type, Callable[[Any], str]] = {
    str: _copy_text,
    int: str,
    float: repr,
    bool: lambda v: "t" if v else "f",
    Decimal: str,
    datetime: _copy_datetime,
}


def copy_field(value: Any) -> str:
    """One value in COPY text format (\\N is NULL)."""
    if value is None:
        return "\\N"
    return _COPY_FORMAT[value.__class__](value)


# The columns whose values come from the incoming record alone (no lookup): a bulk caller may format them
# ahead of time, off the writer's critical path (`copy_fragment`, stored in a row as FRAGMENT). The string
# columns come first: on a usual row none of them needs escaping, and they are then one join.
FRAGMENT_TEXT_COLUMNS = (
    "channel", "source", "external_id", "contact_name", "contact_email", "contact_phone", "title", "text",
    "order_ref", "thread_key", "raw_payload", "attachments",
)  # fmt: skip
FRAGMENT_COLUMNS = (*FRAGMENT_TEXT_COLUMNS, "received_at", "rating", "rating_scale")
FRAGMENT = "_copy_fragment"
_NEEDS_ESCAPE = re.compile(r"[\\\n\r\x00]")


def copy_fragment(texts: Sequence[str], received_at: datetime, rating: Decimal | None, rating_scale: int | None) -> str:
    """FRAGMENT_COLUMNS of a row in COPY text format, tab-separated. `texts` are the FRAGMENT_TEXT_COLUMNS' values
    in that order, the JSON ones already serialised (`json_text`)."""
    joined = "\t".join(texts)
    if joined.count("\t") != len(texts) - 1 or _NEEDS_ESCAPE.search(joined):
        joined = "\t".join(map(_copy_text, texts))
    return f"{joined}\t{_copy_datetime(received_at)}\t{copy_field(rating)}\t{copy_field(rating_scale)}"


_COPY_UNESCAPE = re.compile(r"\\(.)")
_COPY_UNESCAPED = {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}


def read_fragment(fragment: str) -> dict[str, Any]:
    """The values of a `copy_fragment` by column (JSON ones still serialised, missing numbers None): an ingest
    screen that must rewrite an input formatted ahead of time reads it back with this."""
    parts = [_COPY_UNESCAPE.sub(lambda m: _COPY_UNESCAPED.get(m.group(1), m.group(1)), p) for p in fragment.split("\t")]
    values: dict[str, Any] = dict(zip(FRAGMENT_TEXT_COLUMNS, parts, strict=False))
    received_at, rating, rating_scale = parts[len(FRAGMENT_TEXT_COLUMNS) :]
    values["received_at"] = datetime.fromisoformat(received_at)
    values["rating"] = None if rating == "N" else Decimal(rating)
    values["rating_scale"] = None if rating_scale == "N" else int(rating_scale)
    return values


def _copy_value(value: Any, is_json: bool) -> str:
    if value is None:
        return "\\N"
    if is_json:
        return _copy_text(value if value.__class__ is JsonText else _dump_json(value))
    return _COPY_FORMAT[value.__class__](value)


def _pg_line_builder(
    columns: list[str], given: set[str], now: datetime
) -> tuple[list[str], Callable[[dict[str, Any]], str]]:
    """The COPY column order and a function turning a row dict into a COPY line (without the id), with the
    per-column decisions taken once per call. Columns no row gives (`given` are those some row does) are the
    same on every line: they go last, formatted once. Rows that all carry a FRAGMENT have it appended as is."""
    fragments = FRAGMENT in given
    if fragments:
        given = given - set(FRAGMENT_COLUMNS) - {FRAGMENT}
    plan: list[tuple[str, Any, str, bool]] = []
    tail = ""
    for column in columns:
        if fragments and column in FRAGMENT_COLUMNS:
            continue
        default = now if column in ("created_at", "updated_at") else _DEFAULTS.get(column)
        is_json = column in JSON_COLUMNS
        formatted = copy_field(_dump_json(default) if is_json and default is not None else default)
        if column in given:
            plan.append((column, default, formatted, is_json))
        else:
            tail += "\t" + formatted
    order = [p[0] for p in plan]
    if fragments:
        order += FRAGMENT_COLUMNS
    order += [c for c in columns if c not in given and c not in order]

    def build(row: dict[str, Any]) -> str:
        out = []
        for column, default, formatted, is_json in plan:
            value = row.get(column, default)
            out.append(formatted if value is default else _copy_value(value, is_json))
        if fragments:
            out.append(row[FRAGMENT])
        return "\t".join(out) + tail

    return order, build


class _UnpreparedCursor(psycopg.Cursor):
    """Server-side binding, but never server-side prepared statements (psycopg prepares a query after five
    runs): those break behind a transaction-pooling PgBouncer, and a chunk's plan is cheap next to its work."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("prepare", False)
        return super().execute(query, params, **kwargs)


def _raw_cursor() -> Any:
    """A psycopg cursor with server-side parameter binding on Django's connection (same transaction).
    Django's own cursors bind client-side, which quotes every array element in Python."""
    connection.ensure_connection()
    return _UnpreparedCursor(connection.connection)


def _take_ids(cursor: Any, table: str, count: int) -> list[int]:
    """Reserve `count` ids from the table's id sequence (identity column) in one round trip."""
    # The sequence's name is looked up once, not once per id (that doubled the cost of this query).
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    (sequence,) = cursor.fetchone()
    cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
    return [row[0] for row in cursor.fetchall()]


def existing_feedback(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """{(source, external_id): id} of the given keys that are already stored."""
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    found: dict[tuple[str, str], int] = {}
    if not by_source:
        return found
    table = Feedback._meta.db_table
    if connection.vendor == "postgresql":
        with _raw_cursor() as cursor:
            for source, ids in by_source.items():
                cursor.execute(
                    f"SELECT feedback_id, external_id FROM {KEY_TABLE} "  # noqa: S608
                    f"WHERE source = %s AND external_id = ANY(%s)",
                    [source, ids],
                )
                for pk, external_id in cursor.fetchall():
                    found[(source, external_id)] = pk
        return found
    with connection.cursor() as cursor:
        for source, ids in by_source.items():
            for start in range(0, len(ids), LOOKUP_CHUNK):
                part = ids[start : start + LOOKUP_CHUNK]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"SELECT id, external_id FROM {table} WHERE source = %s AND external_id IN ({marks})",  # noqa: S608
                    [source, *part],
                )
                for pk, external_id in cursor.fetchall():
                    found[(source, external_id)] = pk
    return found


def customer_ids_by(key: str, values: set[str]) -> dict[str, int]:
    """{value: customer id} for customers whose `key` (external_id, phone, email or handle) is one of `values`.
    Where several customers share a value, the oldest one wins (as it always has)."""
    if not values:
        return {}
    if connection.vendor == "postgresql":
        table = Customer._meta.db_table
        column = "handles ->> 'handle'" if key == "handle" else connection.ops.quote_name(key)
        with _raw_cursor() as cursor:
            cursor.execute(
                f"SELECT {column}, id FROM {table} WHERE {column} = ANY(%s) ORDER BY id DESC",  # noqa: S608
                [list(values)],
            )
            return dict(cursor.fetchall())
    lookup = "handles__handle__in" if key == "handle" else f"{key}__in"
    found: dict[str, int] = {}
    listed = list(values)
    for start in range(0, len(listed), LOOKUP_CHUNK):
        customers = Customer.objects.filter(**{lookup: listed[start : start + LOOKUP_CHUNK]}).order_by("-id")
        if key == "handle":
            found.update((c.handles.get("handle"), c.pk) for c in customers.only("id", "handles"))
        else:
            found.update(customers.values_list(key, "id"))
    return found


def insert_customers(rows: Sequence[dict[str, Any]]) -> list[int]:
    """Create customers from dicts of field values (the rest take the model's defaults); their ids in order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = Customer.objects.bulk_create([Customer(**row) for row in rows], batch_size=500)
        return [c.pk for c in created]
    now = timezone.now()
    fields = {f.attname: f for f in Customer._meta.concrete_fields if not f.primary_key}
    json_columns = {name for name, f in fields.items() if f.get_internal_type() == "JSONField"}
    given = list(dict.fromkeys(name for row in rows for name in row))
    rest = [name for name in fields if name not in given]

    def formatted(name: str, value: Any) -> str:
        if name in json_columns and value is not None:
            return _copy_text(_dump_json(value))
        return copy_field(value)

    # The columns no row gives are the same on every line: formatted once.
    tail = "".join("\t" + formatted(name, _field_default(fields[name], now)) for name in rest)
    table = Customer._meta.db_table
    column_sql = ", ".join(connection.ops.quote_name(_column(fields[name])) for name in [*given, *rest])
    with _raw_cursor() as cursor:
        ids = _take_ids(cursor, table, len(rows))
        lines = []
        for pk, row in zip(ids, rows, strict=True):
            values = [str(pk)]
            for name in given:
                value = row[name] if name in row else _field_default(fields[name], now)
                values.append(formatted(name, value))
            lines.append("\t".join(values) + tail)
        with cursor.copy(f"COPY {table} (id, {column_sql}) FROM STDIN") as copy:
            copy.write("\n".join(lines) + "\n")
    return ids


def _column(field: Field[Any, Any] | ForeignObjectRel) -> str:
    # Only concrete fields are passed here; a reverse relation (or a field without a column) is a wrong name.
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{field} has no column")
    return field.column


def _field_default(field: Field[Any, Any], now: datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


class DuplicateFeedback(Exception):
    """A row's (source, external_id) is stored already (insert_feedback with on_duplicate="raise")."""


def insert_feedback(rows: Sequence[dict[str, Any]], *, on_duplicate: str = "skip") -> dict[tuple[str, str], int]:
    """Insert rows (dicts keyed by column) and return {(source, external_id): id} of those inserted.
    A row whose key is stored already is skipped; with on_duplicate="raise" (PostgreSQL only) nothing is
    inserted and DuplicateFeedback is raised instead."""
    if not rows:
        return {}
    columns = _columns()
    vendor = connection.vendor
    now: datetime = timezone.now()
    if vendor == "postgresql":
        return _insert_postgresql(rows, columns, now, on_duplicate)
    values = [
        tuple(_adapt(c, row.get(c, now if c in ("created_at", "updated_at") else _DEFAULTS.get(c)), vendor)
              for c in columns)
        for row in rows
    ]  # fmt: skip
    column_sql = ", ".join(connection.ops.quote_name(c) for c in columns)
    table = Feedback._meta.db_table
    with connection.cursor() as cursor:
        # Ids only grow (AUTOINCREMENT): a key found afterwards with an id at or below this one was already
        # stored, so it is a duplicate, not one of ours.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608
        (floor,) = cursor.fetchone()
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders}) ON CONFLICT (source, external_id) DO NOTHING",
            values,
        )
        keys = [(row["source"], row["external_id"]) for row in rows]
        return {key: pk for key, pk in _ids_for(cursor, table, keys).items() if pk > floor}


def _insert_postgresql(
    rows: Sequence[dict[str, Any]], columns: list[str], now: datetime, on_duplicate: str
) -> dict[tuple[str, str], int]:
    table = Feedback._meta.db_table
    given = set().union(*rows)  # the keys of any row
    if FRAGMENT in given and not all(FRAGMENT in row for row in rows):
        # A fragment replaces its row's other FRAGMENT_COLUMNS, which such a row need not carry.
        raise ValueError("COPY fragments are given for all rows or none (see ingest._store_fresh).")
    order, build = _pg_line_builder(columns, given, now)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in order)
    lines = [build(row) for row in rows]
    keys = [(row["source"], row["external_id"]) for row in rows]
    if len(set(keys)) != len(keys) and on_duplicate == "raise":
        raise DuplicateFeedback("The rows repeat a key.")
    if len(set(keys)) == len(keys):
        try:
            # The savepoint keeps the surrounding transaction usable if COPY hits a duplicate key.
            with transaction.atomic(), _raw_cursor() as cursor:
                ids = _take_ids(cursor, table, len(lines))
                with cursor.copy(f"COPY {table} (id, {column_sql}) FROM STDIN") as copy:
                    copy.write("".join(f"{pk}\t{line}\n" for pk, line in zip(ids, lines, strict=True)))
            return dict(zip(keys, ids, strict=True))
        except psycopg.errors.UniqueViolation as exc:
            if on_duplicate == "raise":
                raise DuplicateFeedback(str(exc)) from exc
            # another writer stored some of these keys meanwhile: let ON CONFLICT sort them out
    # One transaction from CREATE to DROP: behind a transaction-pooling PgBouncer the temporary table exists only
    # on the server connection of the transaction that made it.
    with transaction.atomic(), _raw_cursor() as cursor:
        # Without constraints (the id comes from the real table's sequence on INSERT).
        cursor.execute("DROP TABLE IF EXISTS feedback_staging")
        cursor.execute(f"CREATE TEMP TABLE feedback_staging AS SELECT {column_sql} FROM {table} WITH NO DATA")  # noqa: S608
        with cursor.copy(f"COPY feedback_staging ({column_sql}) FROM STDIN") as copy:
            copy.write("".join(f"{line}\n" for line in lines))
        inserted = _insert_new_keys(cursor, table, column_sql)
        cursor.execute("DROP TABLE feedback_staging")
    return inserted


#: How often the staging insert is retried when a concurrent writer stores one of its keys in between.
STAGING_ATTEMPTS = 10


def _insert_new_keys(cursor: Any, table: str, column_sql: str) -> dict[tuple[str, str], int]:
    """Insert the staged rows whose keys are not stored yet (the first of a repeated key): {key: id}.

    The partitioned table has no unique index for ON CONFLICT. A key another transaction stores between the
    check and the insert fails the statement (the key table's unique index waits for that transaction, as ON
    CONFLICT did): the savepoint undoes it, and the next try, seeing that key stored, leaves it out."""
    select = ", ".join(f"s.{c}" for c in column_sql.split(", "))
    for attempt in range(STAGING_ATTEMPTS):
        try:
            with transaction.atomic():
                cursor.execute(
                    f"INSERT INTO {table} ({column_sql}) "  # noqa: S608
                    f"SELECT {select} FROM (SELECT DISTINCT ON (source, external_id) ctid AS position, * "
                    f"FROM feedback_staging ORDER BY source, external_id, ctid) s WHERE NOT EXISTS (SELECT FROM "
                    f"{KEY_TABLE} k WHERE k.source = s.source AND k.external_id = s.external_id) "
                    # in the rows' own order, so that ids grow with it as they did
                    f"ORDER BY s.position RETURNING id, source, external_id"
                )
                return {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}
        except psycopg.errors.UniqueViolation:
            if attempt == STAGING_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _ids_for(cursor: Any, table: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for source, external_id in keys:
        by_source.setdefault(source, []).append(external_id)
    for source, ids in by_source.items():
        for start in range(0, len(ids), LOOKUP_CHUNK):
            part = ids[start : start + LOOKUP_CHUNK]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT id, external_id FROM {table} WHERE source = %s AND external_id IN ({marks})", [source, *part]
            )
            for pk, external_id in cursor.fetchall():
                found[(source, external_id)] = pk
    return found


_DEFAULTS: dict[str, Any] = {
    "contact_name": "", "contact_email": "", "contact_phone": "", "title": "", "order_ref": "", "thread_key": "",
    "language": "", "sentiment": "", "kind": "", "urgency": "", "analysis_status": "pending", "model_version": "",
    "search_text": "", "raw_payload": {}, "attachments": [],
}  # fmt: skip


class PlannerStatistics:
    """Keeps PostgreSQL's row estimates of the tables a long import grows in step with their real size.

    Without it the planner still believes the table holds what it held before the import (autovacuum's
    analyze runs late, or not at all where it is off) and looks a chunk's 10,000 keys up by reading every
    row of the source instead of probing the (source, external_id) index: measured 0.6 s per chunk at
    1,000,000 rows, against 0.05 s. Only the columns the import looks rows up by are analysed (0.2 s at a
    million rows, against 0.8 s for all of them), each time the first table has doubled: a handful of
    runs per import. Autovacuum still analyses the rest as usual."""

    MIN_ROWS = 20_000

    def __init__(self, tables: Sequence[tuple[type[Model], Sequence[str]]]) -> None:
        self.targets = [
            (model._meta.db_table, [_column(model._meta.get_field(f)) for f in fields]) for model, fields in tables
        ]
        self.added = 0
        self.known: float | None = None

    def added_rows(self, count: int) -> None:
        if connection.vendor != "postgresql":
            return
        self.added += count
        if self.known is None:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [self.targets[0][0]]
                )
                row = cursor.fetchone()
                self.known = float(row[0]) if row else 0.0
        if self.added < max(self.MIN_ROWS, self.known):
            return
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for table, columns in self.targets:
                cursor.execute(f"ANALYZE {quote(table)} ({', '.join(quote(c) for c in columns)})")
                if table == Feedback._meta.db_table:
                    cursor.execute(f"ANALYZE {KEY_TABLE}")  # the import looks its keys up there
        self.known += self.added
        self.added = 0
