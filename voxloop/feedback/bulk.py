"""Fast bulk paths for feedback and the customers it creates, bypassing the ORM's per-value compilation
(it dominated import time).

SQLite: one executemany of INSERT ... ON CONFLICT DO NOTHING. PostgreSQL: ids are taken from the table's
sequence up front and the rows are COPYed straight into the table inside a savepoint; if a concurrent
writer stored one of the same (source, external_id) meanwhile, the savepoint is rolled back and the rows
go through a staging table with INSERT ... SELECT ... ON CONFLICT DO NOTHING instead. Either way a
concurrent or repeated import can never double a row.

Lookups take the whole chunk's keys as one array parameter (`= ANY(%s)`), bound server-side: one round
trip and one plan per chunk instead of one per 500 keys, and no client-side quoting of thousands of values.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

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


# One encoder for all rows: json.dumps(..., ensure_ascii=False) builds a new encoder on every call, which
# cost as much as the encoding itself. Output is identical.
_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _dump_json(value: Any) -> str:
    # PostgreSQL's jsonb and text types cannot hold NUL; the rest of the payload is kept as received.
    dumped = _JSON_ENCODER.encode(value)
    return _JSON_ENCODER.encode(_strip_nul(value)) if "\\u0000" in dumped else dumped


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


def _pg_line_builder(
    columns: list[str], given: set[str], now: datetime
) -> tuple[list[str], Callable[[dict[str, Any]], str]]:
    """The COPY column order and a function turning a row dict into a COPY line (without the id), with the
    per-column decisions taken once per call. Columns no row gives (`given` are those some row does) are the
    same on every line: they go last, formatted once."""
    plan: list[tuple[str, Any, str, bool]] = []
    tail = ""
    for column in columns:
        default = now if column in ("created_at", "updated_at") else _DEFAULTS.get(column)
        is_json = column in JSON_COLUMNS
        formatted = copy_field(_dump_json(default) if is_json and default is not None else default)
        if column in given:
            plan.append((column, default, formatted, is_json))
        else:
            tail += "\t" + formatted
    order = [p[0] for p in plan] + [c for c in columns if c not in given]
    fmt = _COPY_FORMAT

    def build(row: dict[str, Any]) -> str:
        out = []
        for column, default, formatted, is_json in plan:
            value = row.get(column, default)
            if value is default:
                out.append(formatted)
            elif value is None:
                out.append("\\N")
            elif is_json:
                out.append(_copy_text(value if value.__class__ is JsonText else _dump_json(value)))
            else:
                out.append(fmt[value.__class__](value))
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
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
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
                    f"SELECT id, external_id FROM {table} WHERE source = %s AND external_id = ANY(%s)",  # noqa: S608
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
    column_sql = ", ".join(connection.ops.quote_name(fields[name].column) for name in [*given, *rest])
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


def _field_default(field: Field, now: datetime) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def insert_feedback(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert rows (dicts keyed by column) and return {(source, external_id): id} of those inserted."""
    if not rows:
        return {}
    columns = _columns()
    vendor = connection.vendor
    now: datetime = timezone.now()
    if vendor == "postgresql":
        return _insert_postgresql(rows, columns, now)
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


def _insert_postgresql(rows: Sequence[dict[str, Any]], columns: list[str], now: datetime) -> dict:
    table = Feedback._meta.db_table
    order, build = _pg_line_builder(columns, set().union(*rows), now)  # the keys of every row
    column_sql = ", ".join(connection.ops.quote_name(c) for c in order)
    lines = [build(row) for row in rows]
    keys = [(row["source"], row["external_id"]) for row in rows]
    if len(set(keys)) == len(keys):
        try:
            # The savepoint keeps the surrounding transaction usable if COPY hits a duplicate key.
            with transaction.atomic(), _raw_cursor() as cursor:
                ids = _take_ids(cursor, table, len(lines))
                with cursor.copy(f"COPY {table} (id, {column_sql}) FROM STDIN") as copy:
                    copy.write("".join(f"{pk}\t{line}\n" for pk, line in zip(ids, lines, strict=True)))
            return dict(zip(keys, ids, strict=True))
        except psycopg.errors.UniqueViolation:
            pass  # another writer stored some of these keys meanwhile: let ON CONFLICT sort them out
    with _raw_cursor() as cursor:
        # Without constraints (the id comes from the real table's sequence on INSERT).
        cursor.execute("DROP TABLE IF EXISTS feedback_staging")
        cursor.execute(f"CREATE TEMP TABLE feedback_staging AS SELECT {column_sql} FROM {table} WITH NO DATA")  # noqa: S608
        with cursor.copy(f"COPY feedback_staging ({column_sql}) FROM STDIN") as copy:
            copy.write("".join(f"{line}\n" for line in lines))
        cursor.execute(
            f"INSERT INTO {table} ({column_sql}) SELECT {column_sql} FROM feedback_staging "  # noqa: S608
            f"ON CONFLICT (source, external_id) DO NOTHING RETURNING id, source, external_id"
        )
        inserted = {(source, external_id): pk for pk, source, external_id in cursor.fetchall()}
        cursor.execute("DROP TABLE feedback_staging")
    return inserted


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
