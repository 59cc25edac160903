"""Large imports are read and validated in a separate process (preparer.py): what they store, what they
quarantine and how they fail or resume must be exactly what the read-ahead thread gives."""

from pathlib import Path

import pytest

from voxloop.channels.fileimport import preparer, services
from voxloop.feedback.models import BatchStatus, Feedback, ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db

HEADER = "评价ID,评价内容,评价时间,评分,手机号,商品名称,备注\n"
ROWS = (
    "R1,物流太慢了 😡,2025-03-05 10:00,1,13800138000,商品1,多余的列\n"
    'R2,"<script>alert(1)</script> 第二行\n换行\t制表\\反斜杠",2025/3/6 8:00,5,,商品2,\n'
    "R3,,2025-03-05,4,,,\n"  # empty text: quarantined
    "R4,日期不对,not a date,4,,,\n"  # quarantined
    "R5,太多列,2025-03-05,4,,,,x,y\n"  # ragged: quarantined
    "R1,同一个编号又来一次,2025-03-07,2,,,\n"  # a duplicate within the file
    "R6,Great value,2025年3月8日 14:02,4.5,+86 139-0000-0001,商品1,\n"
    "R7,质量不错,1741168800,3,13800138000,,\n"
)


def _import(path: Path, source: str) -> ImportBatch:
    return services.run_batch(services.create_batch(path, channel="review", source=source).pk)


def _stored(source: str) -> list[dict]:
    fields = ["channel", "external_id", "contact_name", "contact_email", "contact_phone", "received_at", "title",
              "text", "rating", "rating_scale", "order_ref", "raw_payload", "attachments", "thread_key",
              "customer_id", "product_id"]  # fmt: skip
    return list(Feedback.objects.filter(source=source).order_by("external_id").values(*fields))


def _quarantined(batch: ImportBatch) -> list[tuple]:
    return list(
        QuarantinedRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "reason_code", "reason", "field", "raw", "raw_text")
    )


def test_a_file_read_in_another_process_is_stored_exactly_as_through_the_thread(tmp_path, request):
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    threaded = _import(path, "thread")
    request.getfixturevalue("in_process")
    separate = _import(path, "process")
    counts = (separate.accepted_count, separate.duplicate_count, separate.rejected_count)
    assert counts == (threaded.accepted_count, threaded.duplicate_count, threaded.rejected_count) == (4, 1, 3)
    assert separate.status == BatchStatus.COMPLETED and separate.rows_processed == 8
    assert _stored("process") == _stored("thread")
    assert len(_stored("process")) == 4
    assert _quarantined(separate) == _quarantined(threaded)
    assert [q[1] for q in _quarantined(separate)] == ["empty_text", "invalid_date", "ragged_row"]


def test_only_large_postgresql_imports_use_a_reader_process(tmp_path, monkeypatch):
    from django.db import connection

    started = []

    def no_chunks(params):
        started.append(params)
        yield from ()

    monkeypatch.setattr(preparer, "prepared_chunks", no_chunks)
    path = tmp_path / "small.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    _import(path, "small")
    assert started == []  # a small file: the thread reads it
    monkeypatch.setattr(preparer, "MIN_ROWS", 5)
    _import(path, "large")
    assert len(started) == (1 if connection.vendor == "postgresql" else 0)
    customers = tmp_path / "customers.csv"
    customers.write_text("客户ID,姓名,手机号\n" + "".join(f"C{i},客户{i},1380000{i:04d}\n" for i in range(10)))
    batch = services.run_batch(services.create_batch(customers, kind="customers").pk)
    assert batch.accepted_count == 10
    assert len(started) == (1 if connection.vendor == "postgresql" else 0)  # customers: the thread


def test_an_unexpected_error_in_the_reader_process_is_named_on_the_batch_without_a_traceback(
    tmp_path, in_process, capfd
):
    path = tmp_path / "gone.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    batch = services.create_batch(path, channel="review", source="gone")
    Path(batch.file.path).unlink()  # the stored copy disappears before the import runs
    with pytest.raises(preparer.PreparerFailed):
        services.run_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert batch.error_message.startswith("PreparerFailed: The import's reader process failed: FileNotFoundError:")
    assert "Traceback" not in batch.error_message
    assert "Traceback" in capfd.readouterr().err  # the worker's log keeps it
    assert Feedback.objects.count() == 0
