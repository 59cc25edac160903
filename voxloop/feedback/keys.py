"""The import key of feedback on PostgreSQL, kept apart from the partitioned feedback table.

On PostgreSQL feedback is a table partitioned by month of ``received_at`` (voxloop.core.partitions;
docs/operations.md, "Monthly partitions"), and a partitioned table's unique indexes must contain that column.
A unique ``(source, external_id, received_at)`` would let a row re-sent with a corrected time be stored twice, so
the key that makes ingestion idempotent lives in a small table of its own, ``feedback_feedbackkey``:
``(source, external_id)`` → feedback id and ``received_at``, unique on ``(source, external_id)`` under the name
the feedback table's constraint had (``feedback_source_external_id``).

Triggers on the feedback table keep it, so every writer (the bulk COPY path, the ORM, raw SQL) is held to it in
the same transaction as the row itself, exactly as the unique index held them before:

- after each INSERT statement, the new rows' keys are added (one statement for the whole COPY, from its
  transition table); a key stored already fails the statement with a unique violation, as before;
- after each DELETE statement (the ORM's cascade, a privacy erasure), the rows' keys go with them;
- before a row's key or time is edited (rare: feedback is not edited in place), its key row follows;
- TRUNCATE empties the key table too.

Dropping a month's partition fires none of these: ``partitions.drop_before`` deletes that month's key rows itself
(``partitions.KEYED``). SQLite keeps the unique constraint on the feedback table; nothing here runs there.
"""

from __future__ import annotations

from datetime import datetime

from django.db.backends.base.base import BaseDatabaseWrapper

from voxloop.core import partitions

TABLE = "feedback_feedback"
KEY_TABLE = "feedback_feedbackkey"
#: The unique constraint's name, on the feedback table before the partitions and on the key table after.
KEY_NAME = "feedback_source_external_id"

_INSTALL = [
    f"""CREATE TABLE {KEY_TABLE} (
        source varchar(100) NOT NULL,
        external_id varchar(200) NOT NULL,
        feedback_id bigint NOT NULL,
        received_at timestamp with time zone NOT NULL
    )""",
    # Filled from the rows already stored, before their constraint goes: they are unique.
    f"INSERT INTO {KEY_TABLE} (source, external_id, feedback_id, received_at) "  # noqa: S608
    f"SELECT source, external_id, id, received_at FROM {TABLE}",
    f"ALTER TABLE {TABLE} DROP CONSTRAINT {KEY_NAME}",
    f"ALTER TABLE {KEY_TABLE} ADD CONSTRAINT {KEY_NAME} PRIMARY KEY (source, external_id)",
]

_TRIGGERS = [
    f"""CREATE FUNCTION feedback_keys_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {KEY_TABLE} (source, external_id, feedback_id, received_at)
        SELECT source, external_id, id, received_at FROM new_rows;
        RETURN NULL;
    END $$""",  # noqa: S608 (table names are the constants above)
    f"""CREATE TRIGGER feedback_keys_insert AFTER INSERT ON {TABLE}
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION feedback_keys_insert()""",
    f"""CREATE FUNCTION feedback_keys_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM {KEY_TABLE} k USING old_rows o
        WHERE k.source = o.source AND k.external_id = o.external_id AND k.feedback_id = o.id;
        RETURN NULL;
    END $$""",  # noqa: S608
    f"""CREATE TRIGGER feedback_keys_delete AFTER DELETE ON {TABLE}
        REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION feedback_keys_delete()""",
    # BEFORE, per row: a row whose new time moves it to another month is deleted and re-inserted inside the
    # partitions, which fires no AFTER UPDATE trigger, but the BEFORE UPDATE one always runs. The WHEN clause
    # keeps the usual updates (analysis results) from calling it at all.
    f"""CREATE FUNCTION feedback_keys_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE {KEY_TABLE} SET source = NEW.source, external_id = NEW.external_id, feedback_id = NEW.id,
            received_at = NEW.received_at
        WHERE source = OLD.source AND external_id = OLD.external_id AND feedback_id = OLD.id;
        RETURN NEW;
    END $$""",  # noqa: S608
    f"""CREATE TRIGGER feedback_keys_update BEFORE UPDATE ON {TABLE} FOR EACH ROW
        WHEN (OLD.source IS DISTINCT FROM NEW.source OR OLD.external_id IS DISTINCT FROM NEW.external_id
              OR OLD.received_at IS DISTINCT FROM NEW.received_at OR OLD.id IS DISTINCT FROM NEW.id)
        EXECUTE FUNCTION feedback_keys_update()""",
    f"""CREATE FUNCTION feedback_keys_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE {KEY_TABLE};
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER feedback_keys_truncate AFTER TRUNCATE ON {TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION feedback_keys_truncate()""",
]


def partition(conn: BaseDatabaseWrapper, now: datetime | None = None) -> bool:
    """Move feedback's key into its own table and partition the feedback table by month, keeping every row, id,
    index name and reference (the migration's work). Nothing on SQLite or when done already."""
    if not partitions.supported(conn) or partitions.is_partitioned(TABLE, conn):
        return False
    with conn.cursor() as cursor:
        # Checks of deferred keys pending in this transaction would forbid altering the table: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE")
        for statement in _INSTALL:
            cursor.execute(statement)
    partitions.convert(TABLE, now=now, conn=conn)
    with conn.cursor() as cursor:
        for statement in _TRIGGERS:
            cursor.execute(statement)
    return True
