"""Feedback in monthly partitions on PostgreSQL (voxloop.feedback.keys, voxloop.core.partitions; docs/operations.md,
"Monthly partitions"): the migration converts a table that already holds feedback, imports still refuse
duplicates through the key table, and dropping a month removes that month's feedback and what hangs on it, and
nothing else. SQLite keeps its plain table with the unique key."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from voxloop.accounts.models import Department, User
from voxloop.actions.models import ImprovementAction
from voxloop.analysis.models import Correction, FeedbackAnalysis
from voxloop.automation.models import FeedbackTag
from voxloop.cases.models import Case, CaseFeedback
from voxloop.core import partitions
from voxloop.core.tasks import ensure_partitions_task
from voxloop.feedback import keys
from voxloop.feedback.bulk import insert_feedback
from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
from voxloop.feedback.models import Feedback
from voxloop.surveys.models import Response, Survey

NOW = datetime.now(UTC)


def month(shift: int) -> date:
    return partitions._month(NOW.date(), shift)


def at(shift: int, day: int = 10) -> datetime:
    moment = datetime.combine(month(shift).replace(day=day), datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    # Imports refuse times in the future: this month's items are dated a moment ago.
    return min(moment, NOW.replace(microsecond=0) - timedelta(seconds=1))


@pytest.fixture
def postgres(db) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("partitions are a PostgreSQL feature; SQLite keeps plain tables")


def _sql(query: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall() if cursor.description else []


def _ingest(source: str, *items: tuple[str, datetime]) -> list[int]:
    inputs = [
        prepare_feedback({"text": f"反馈 {ext}", "external_id": ext, "received_at": when.isoformat()},
                         channel="review", source=source)
        for ext, when in items
    ]  # fmt: skip
    return ingest_feedback(inputs).created


def _keys() -> set[tuple[str, str, int]]:
    return set(_sql(f"SELECT source, external_id, feedback_id FROM {keys.KEY_TABLE}"))  # noqa: S608


def _hang_everything_on(feedback: Feedback, tag: str) -> dict[str, Any]:
    """One of each kind of row that refers to feedback (its analysis, a correction, a tag, a case link, an
    improvement action, a survey response)."""
    FeedbackAnalysis.objects.create(feedback=feedback, model_version="t", analysed_at=NOW)
    Correction.objects.create(feedback=feedback, field="sentiment", new_value="negative")
    FeedbackTag.objects.create(feedback=feedback, tag=tag)
    case = Case.objects.create(title=f"case {tag}")
    CaseFeedback.objects.create(case=case, feedback=feedback)
    owner = User.objects.create_user(f"owner-{tag}", password=f"pw-{tag}-1")
    department = Department.objects.create(name=f"dept {tag}")
    action = ImprovementAction.objects.create(title=f"fix {tag}", due_date=NOW.date(), owner=owner,
                                              department=department)  # fmt: skip
    action.feedback.add(feedback)
    survey = Survey.objects.create(name=f"survey {tag}")
    response = Response.objects.create(survey=survey, feedback=feedback, submitted_at=NOW, channel="email",
                                       editable_until=NOW, comment=tag)  # fmt: skip
    return {"case": case, "action": action, "response": response}


def test_feedback_is_a_monthly_partitioned_table_and_listed(postgres):
    assert partitions.is_partitioned("feedback_feedback")
    months = [p.start for p in partitions.partitions("feedback_feedback")]
    assert months[-1] is None
    assert {month(s) for s in range(partitions.MONTHS_AHEAD + 1)} <= set(months)
    (pk,) = _ingest("shop", ("A-1", at(0)))
    assert _sql(f"SELECT count(*) FROM feedback_feedback_p{month(0):%Y%m} WHERE id = %s", [pk]) == [(1,)]  # noqa: S608
    out = StringIO()
    call_command("partitions", "--table", "feedback_feedback", stdout=out)
    listing = out.getvalue()
    assert listing.startswith("feedback_feedback: ")
    assert f"{month(0):%Y-%m}  feedback_feedback_p{month(0):%Y%m}" in listing
    assert "default  feedback_feedback_pdefault" in listing


def test_imports_of_duplicates_still_count_as_duplicates(postgres):
    first = _ingest("shop", ("D-1", at(0)), ("D-2", at(-1)))
    assert len(first) == 2
    # A retry, and the same key re-sent with a corrected time (another month): still one row each.
    inputs = [
        prepare_feedback({"text": "again", "external_id": ext, "received_at": when.isoformat()}, channel="review",
                         source="shop")
        for ext, when in (("D-1", at(0)), ("D-2", at(-3)), ("D-3", at(-3)), ("D-3", at(-3)))
    ]  # fmt: skip
    again = ingest_feedback(inputs)
    assert again.duplicates == [0, 1, 3]
    assert again.existing_ids == {0: first[0], 1: first[1]}
    assert len(again.created) == 1
    assert Feedback.objects.filter(source="shop").count() == 3
    # Every writer is held to the key, the ORM too, as the unique index held it.
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(channel="review", source="shop", external_id="D-2", received_at=at(-5), text="x")
    # The bulk path's fallback (a chunk repeating a key) keeps the first of each key and skips the stored ones.
    row = {"channel": "review", "source": "shop", "text": "bulk", "received_at": at(-2)}
    inserted = insert_feedback([{**row, "external_id": "D-1"}, {**row, "external_id": "D-4"},
                                {**row, "external_id": "D-4", "text": "second"}])  # fmt: skip
    assert list(inserted) == [("shop", "D-4")]
    assert Feedback.objects.get(pk=inserted[("shop", "D-4")]).text == "bulk"
    # Ids still grow with the rows' order through that path.
    rows = [{**row, "external_id": ext} for ext in ("D-9", "D-5", "D-1", "D-7", "D-5")]
    inserted = insert_feedback(rows)
    assert list(inserted) == [("shop", "D-9"), ("shop", "D-5"), ("shop", "D-7")]
    assert sorted(inserted.values()) == list(inserted.values())
    assert {e for _, e, _ in _keys()} == {"D-1", "D-2", "D-3", "D-4", "D-5", "D-7", "D-9"}


def test_a_key_follows_its_row_when_edited_and_is_freed_when_the_row_is_deleted(postgres):
    (pk,) = _ingest("shop", ("E-1", at(0)))
    # A corrected time moves the row to another month's partition; its key follows.
    Feedback.objects.filter(pk=pk).update(received_at=at(-2))
    assert _sql(f"SELECT feedback_id, received_at FROM {keys.KEY_TABLE} WHERE external_id = 'E-1'") == [  # noqa: S608
        (pk, at(-2))
    ]
    Feedback.objects.filter(pk=pk).delete()  # as a privacy erasure does
    assert _keys() == set()
    assert len(_ingest("shop", ("E-1", at(0)))) == 1, "an erased item's key is free again"


def test_dropping_a_month_removes_its_feedback_and_what_hangs_on_it_and_nothing_else(postgres):
    old = _ingest("shop", ("M-1", at(-14, 3)), ("M-2", at(-14, 20)))
    kept = _ingest("shop", ("M-3", at(-13)), ("M-4", at(0)))
    old_rows = {pk: _hang_everything_on(Feedback.objects.get(pk=pk), f"old{pk}") for pk in old}
    kept_rows = {pk: _hang_everything_on(Feedback.objects.get(pk=pk), f"kept{pk}") for pk in kept}
    # Imported history waits in the default partition until the daily task makes its months.
    assert f"feedback_feedback_p{month(-14):%Y%m}" in ensure_partitions_task()

    out = StringIO()
    call_command("partitions", "--drop-before", month(-13).isoformat(), "--table", "feedback_feedback",
                 "--dry-run", stdout=out)  # fmt: skip
    assert out.getvalue().splitlines() == [f"would drop feedback_feedback_p{month(-14):%Y%m} (2 rows)"]
    assert Feedback.objects.filter(pk__in=old).count() == 2

    out = StringIO()
    call_command("partitions", "--drop-before", month(-13).isoformat(), "--table", "feedback_feedback", stdout=out)
    assert out.getvalue().splitlines() == [f"dropped feedback_feedback_p{month(-14):%Y%m} (2 rows)"]
    assert set(Feedback.objects.values_list("pk", flat=True)) == set(kept)
    for model in (FeedbackAnalysis, Correction, FeedbackTag, CaseFeedback):
        assert set(model.objects.values_list("feedback_id", flat=True)) == set(kept), model.__name__
    for pk, rows in old_rows.items():
        assert rows["action"].feedback.count() == 0
        response = Response.objects.get(pk=rows["response"].pk)
        assert response.feedback_id is None and response.comment == f"old{pk}", "the answers stay, unlinked"
        assert Case.objects.filter(pk=rows["case"].pk).exists(), "cases stay; only their link goes"
    for pk, rows in kept_rows.items():
        assert list(rows["action"].feedback.values_list("pk", flat=True)) == [pk]
        assert Response.objects.get(pk=rows["response"].pk).feedback_id == pk
    assert {e for _, e, _ in _keys()} == {"M-3", "M-4"}, "the dropped month's keys went with it"
    assert len(_ingest("shop", ("M-1", at(-14, 3)))) == 1, "a dropped item imported again is new"


def _back_to_a_plain_table() -> None:
    """The feedback table as it was before the migration: plain, unique (source, external_id), a real foreign key
    from case links, an identity id."""
    (last,) = _sql("SELECT last_value FROM feedback_feedback_id_seq")[0]
    statements = [
        "SET CONSTRAINTS ALL IMMEDIATE",  # pending checks of deferred keys would forbid altering the tables
        "CREATE TABLE fb_plain (LIKE feedback_feedback INCLUDING CONSTRAINTS)",
        "INSERT INTO fb_plain SELECT * FROM feedback_feedback",
        "DROP TABLE feedback_feedback CASCADE",
        f"DROP TABLE {keys.KEY_TABLE}",
        *(f"DROP FUNCTION feedback_keys_{op}()" for op in ("insert", "delete", "update", "truncate")),
        "ALTER TABLE fb_plain RENAME TO feedback_feedback",
        "ALTER TABLE feedback_feedback ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY",
        "ALTER TABLE feedback_feedback ADD CONSTRAINT feedback_feedback_pkey PRIMARY KEY (id)",
        "ALTER TABLE feedback_feedback ADD CONSTRAINT feedback_source_external_id UNIQUE (source, external_id)",
        "CREATE INDEX feedback_recent ON feedback_feedback (received_at DESC, id DESC)",
        "ALTER TABLE cases_casefeedback ADD CONSTRAINT probe_casefeedback_fk FOREIGN KEY (feedback_id) "
        "REFERENCES feedback_feedback (id) DEFERRABLE INITIALLY DEFERRED",
    ]
    for statement in statements:
        _sql(statement)
    _sql("SET CONSTRAINTS ALL DEFERRED")
    _sql("SELECT setval(pg_get_serial_sequence('feedback_feedback', 'id'), %s)", [last])


def test_the_migration_converts_a_table_that_holds_feedback(postgres):
    ids = _ingest("shop", ("X-1", at(-14)), ("X-2", at(-1)), ("X-3", at(0)))
    _ingest("shop", ("X-gone", at(0)))
    Feedback.objects.filter(external_id="X-gone").delete()  # the newest id was used: the next one is above it
    links = {pk: _hang_everything_on(Feedback.objects.get(pk=pk), f"x{pk}") for pk in ids}
    _back_to_a_plain_table()
    assert not partitions.is_partitioned("feedback_feedback")

    assert keys.partition(connection)
    assert not keys.partition(connection), "run twice, it does nothing"
    assert partitions.is_partitioned("feedback_feedback")
    assert [p.start for p in partitions.partitions("feedback_feedback")][0] == month(-14)
    assert set(Feedback.objects.values_list("pk", "external_id")) == {(pk, f"X-{n}") for n, pk in enumerate(ids, 1)}
    assert {e: f for _, e, f in _keys()} == {f"X-{n}": pk for n, pk in enumerate(ids, 1)}
    # Indexes and the key keep their names; the foreign key to feedback is the application's now.
    assert _sql("SELECT relkind FROM pg_class WHERE relname = 'feedback_recent'") == [("I",)]
    assert _sql("SELECT conrelid::regclass::text FROM pg_constraint WHERE conname = 'feedback_source_external_id'") == [
        (keys.KEY_TABLE,)
    ]
    assert _sql("SELECT count(*) FROM pg_constraint WHERE conname = 'probe_casefeedback_fk'") == [(0,)]
    for pk, rows in links.items():
        assert CaseFeedback.objects.get(case=rows["case"]).feedback_id == pk
    # De-duplication holds across the conversion, and ids carry on.
    again = _ingest("shop", ("X-1", at(-14)), ("X-3", at(0)), ("X-4", at(0)))
    assert len(again) == 1 and again[0] > max(ids) + 1


@pytest.mark.django_db
def test_sqlite_keeps_a_plain_feedback_table_with_its_unique_key():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite run shows that nothing changes there")
    assert not partitions.is_partitioned("feedback_feedback")
    assert not keys.partition(connection)
    _ingest("shop", ("S-1", at(0)))
    with pytest.raises(IntegrityError), transaction.atomic():
        Feedback.objects.create(channel="review", source="shop", external_id="S-1", received_at=at(-5), text="x")
