"""File import: formats, encodings, mapping, quarantine, idempotency and resume."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from voxloop.channels.fileimport import preparer, services
from voxloop.feedback.models import BatchStatus, Customer, Feedback, ImportBatch, Order, QuarantinedRow

pytestmark = pytest.mark.django_db

HEADER = "评价ID,评价内容,评价时间,评分,手机号\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, **kwargs) -> ImportBatch:
    kwargs.setdefault("channel", "review")
    batch = services.create_batch(path, **kwargs)
    return services.run_batch(batch.pk)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_each_common_encoding_imports_the_same_chinese_text(tmp_path, encoding):
    path = write(tmp_path, "reviews.csv", HEADER + "R1,物流很快，包装完好,2025-03-05 10:00,5,13800138000\n", encoding)
    batch = run(path, source=f"shop-{encoding}")
    assert batch.status == BatchStatus.COMPLETED
    assert batch.accepted_count == 1
    item = Feedback.objects.get(source=f"shop-{encoding}")
    assert item.text == "物流很快，包装完好"
    assert item.external_id == "R1"
    assert item.customer.phone == "13800138000"


def test_every_row_is_accepted_duplicate_or_quarantined_with_its_reason(tmp_path):
    rows = [
        "R1,质量很好,2025-03-05,5,",
        "R2,,2025-03-05,4,",  # empty text
        "R3,一般般,昨天下午,3,",  # unreadable date
        "R1,质量很好,2025-03-05,5,",  # duplicate id within the file
        'R4,"<script>alert(1)</script> 😀",2025-03-06 09:00,9,',  # rating 9 on a 5-point scale is fine: scale 10
        "R5,太多列,2025-03-06,5,,extra",  # ragged
    ]
    path = write(tmp_path, "mixed.csv", HEADER + "\n".join(rows) + "\n")
    batch = run(path, source="shop")
    assert (batch.accepted_count, batch.duplicate_count, batch.rejected_count) == (2, 1, 3)
    reasons = dict(QuarantinedRow.objects.filter(batch=batch).values_list("row_number", "reason_code"))
    assert reasons == {2: "empty_text", 3: "invalid_date", 6: "ragged_row"}
    quarantined = QuarantinedRow.objects.get(batch=batch, row_number=3)
    assert quarantined.raw["评价内容"] == "一般般"  # the original row is kept to fix and re-import
    assert "评价时间" in quarantined.reason
    assert Feedback.objects.get(external_id="R4").text == "<script>alert(1)</script> 😀"


def test_reimporting_the_same_file_duplicates_nothing(tmp_path):
    path = write(tmp_path, "a.csv", HEADER + "R1,好,2025-03-05,5,\nR2,差,2025-03-05,1,\n")
    run(path, source="shop")
    again = run(path, source="shop")
    assert (again.accepted_count, again.duplicate_count) == (0, 2)
    assert Feedback.objects.count() == 2


def test_rows_without_ids_are_not_duplicated_across_files(tmp_path):
    first = write(tmp_path, "one.csv", "内容,时间\n快递慢,2025-03-05 10:00\n")
    second = write(tmp_path, "two.csv", "内容,时间\n快递慢,2025-03-05 10:00\n客服好,2025-03-05 11:00\n")
    run(first, source="hotline-log")
    batch = run(second, source="hotline-log")
    assert (batch.accepted_count, batch.duplicate_count) == (1, 1)


def test_mixed_encoding_row_is_quarantined_not_garbled(tmp_path):
    path = tmp_path / "mixed-enc.csv"
    path.write_bytes((HEADER + "R1,质量很好,2025-03-05,5,\n").encode() + "R2,质量很差,2025-03-05,1,\n".encode("gbk"))
    batch = run(path, source="shop", encoding="utf-8")
    assert batch.accepted_count == 1
    assert QuarantinedRow.objects.get(batch=batch).reason_code == "wrong_encoding"


def test_unclosed_quote_is_reported_with_the_row(tmp_path):
    path = write(
        tmp_path,
        "quote.csv",
        HEADER + 'R1,好评,2025-03-05,5,\nR2,"没有结束的引号,2025-03-05,1,\nR3,中评,2025-03-05,3,\n',
    )
    batch = run(path, source="shop")
    assert batch.accepted_count == 1
    assert batch.rejected_count == 1
    row = QuarantinedRow.objects.get(batch=batch)
    assert row.reason_code == "unclosed_quote"  # said as such, with the lines it swallowed (rows R2 and R3)
    assert (row.row_number, row.line, row.line_count) == (2, 3, 2)


def test_missing_required_column_is_refused_before_anything_is_stored(tmp_path):
    path = write(tmp_path, "nocol.csv", "时间,评分\n2025-03-05,5\n")
    with pytest.raises(services.ImportRefused) as excinfo:
        services.create_batch(path, channel="review", source="shop")
    assert excinfo.value.code == "missing_columns"
    assert "text" in excinfo.value.message
    assert ImportBatch.objects.count() == 0


def test_unknown_columns_are_kept_in_the_raw_payload(tmp_path):
    path = write(tmp_path, "extra.csv", "内容,门店城市,会员卡\n不错,上海,金卡\n")
    batch = run(path, source="s")
    assert batch.options["unmapped_columns"] == ["门店城市", "会员卡"]
    assert Feedback.objects.get().raw_payload == {"内容": "不错", "门店城市": "上海", "会员卡": "金卡"}


def test_fake_xlsx_gets_a_clear_error(tmp_path):
    path = write(tmp_path, "report.xlsx", "<html><table><tr><td>not excel</td></tr></table></html>")
    with pytest.raises(services.ImportRefused) as excinfo:
        services.create_batch(path, channel="review")
    assert excinfo.value.code == "not_xlsx"


def test_real_xlsx_with_dates_imports(tmp_path):
    from datetime import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["订单号", "评价内容", "评价时间", "星级"])
    sheet.append(["D1", "安装师傅很专业", datetime(2025, 3, 5, 14, 30), 5])
    sheet.append(["D2", None, datetime(2025, 3, 6, 9, 0), 2])
    path = tmp_path / "jd.xlsx"
    workbook.save(path)
    batch = run(path, source="jd")
    assert (batch.accepted_count, batch.rejected_count) == (1, 1)
    item = Feedback.objects.get()
    assert item.order_ref == "D1"
    assert item.received_at.isoformat() == "2025-03-05T06:30:00+00:00"


def test_jsonl_with_a_broken_line_keeps_the_rest(tmp_path):
    lines = [json.dumps({"id": "j1", "text": "App keeps crashing", "date": "2025-03-05T10:00:00Z"}),
             '{"id": "j2", "text": "unterminated',
             json.dumps({"id": "j3", "text": "Love the new update", "date": "1741168800"})]  # fmt: skip
    path = write(tmp_path, "chat.jsonl", "\n".join(lines) + "\n")
    batch = run(path, source="app", channel="chat")
    assert (batch.accepted_count, batch.rejected_count) == (2, 1)
    bad = QuarantinedRow.objects.get(batch=batch)
    assert bad.reason_code == "invalid_json"
    assert bad.row_number == 2
    assert "unterminated" in bad.raw_text


def test_invalid_json_file_is_refused_with_position(tmp_path):
    path = write(tmp_path, "bad.json", '[{"text": "ok"}, {"text": ]')
    with pytest.raises(services.ImportRefused) as excinfo:
        services.create_batch(path, channel="api")
    assert excinfo.value.code == "invalid_json"
    assert "line 1" in excinfo.value.message


def test_one_megabyte_text_is_kept_whole(tmp_path):
    big = "很" * (1024 * 1024 // 3)
    path = write(tmp_path, "big.csv", f"内容\n{big}\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("django.conf.settings.FEEDBACK_TEXT_MAX_CHARS", 1_000_000)
        batch = run(path, source="s")
    assert batch.accepted_count == 1
    assert len(Feedback.objects.get().text) == len(big)


def test_text_over_the_limit_is_quarantined(tmp_path, settings):
    settings.FEEDBACK_TEXT_MAX_CHARS = 100
    path = write(tmp_path, "long.csv", "内容\n" + "长" * 101 + "\n短\n")
    batch = run(path, source="s")
    assert QuarantinedRow.objects.get(batch=batch).reason_code == "text_too_long"


def test_dates_in_many_formats_and_zones(tmp_path):
    rows = ["2025-03-05 10:00", "2025/3/5 10:00", "2025年3月5日 10:00", "2025-03-05T02:00:00Z", "1741140000"]
    path = write(tmp_path, "dates.csv", "内容,时间\n" + "\n".join(f"第{i}条,{d}" for i, d in enumerate(rows)) + "\n")
    batch = run(path, source="s", timezone_name="Asia/Shanghai")
    assert batch.accepted_count == 5
    moments = {f.received_at.isoformat() for f in Feedback.objects.all()}
    assert moments == {"2025-03-05T02:00:00+00:00"}  # all five are the same instant, read in their zones


def test_customers_then_orders_then_feedback_are_matched(tmp_path):
    customers = write(tmp_path, "c.csv", "客户编号,姓名,手机号,邮箱\nC1,王芳,13900001111,wf@example.com\n")
    orders = write(
        tmp_path,
        "o.csv",
        "订单号,客户编号,下单时间,订单金额,商品名称\nO1,C1,2025-01-02,199.00,空气净化器\nO2,,2025-02-03,99.5,滤芯\n",
    )
    services.run_batch(services.create_batch(customers, kind="customers").pk)
    batch = services.run_batch(services.create_batch(orders, kind="orders").pk)
    assert (batch.accepted_count, batch.rejected_count) == (1, 1)
    assert QuarantinedRow.objects.get(batch=batch).reason_code == "missing_customer_key"
    customer = Customer.objects.get(external_id="C1")
    assert customer.order_count == 1
    assert str(customer.lifetime_value) == "199.00"
    feedback = write(tmp_path, "f.csv", "内容,电话,订单号\n净化器噪音大,139-0000-1111,O1\n")
    run(feedback, source="hotline", channel="hotline")
    item = Feedback.objects.get()
    assert item.customer == customer
    assert item.order == Order.objects.get(external_id="O1")


def test_preset_maps_a_taobao_export(tmp_path):
    path = write(
        tmp_path,
        "tb.csv",
        "评价ID,买家昵称,宝贝名称,评价内容,评价时间,评分,订单号\n1,t***1,保温杯,保温效果好,2025-03-05,5,TB1\n",
    )
    batch = run(path, preset="taobao", channel="")
    assert batch.channel == "review"
    item = Feedback.objects.get()
    assert (item.source, item.external_id, item.product.name, item.order_ref) == ("taobao", "1", "保温杯", "TB1")


def test_command_line_import_prints_the_summary(tmp_path, capsys):
    path = write(tmp_path, "cli.csv", HEADER + "R1,好,2025-03-05,5,\nR2,,2025-03-05,5,\n", "gbk")
    call_command("import", str(path), "--channel", "review", "--source", "cli", verbosity=0)
    out = capsys.readouterr().out
    assert "1 accepted" in out and "1 rejected" in out
    with pytest.raises(CommandError, match="No column for required field"):
        call_command("import", str(write(tmp_path, "x.csv", "a,b\n1,2\n")), "--channel", "review", verbosity=0)


@pytest.mark.slow
def test_a_killed_import_resumes_without_losing_or_duplicating(tmp_path):
    """Kill a real `voxloop import` process mid-file (SIGKILL), resume it: every row stored exactly once."""
    import os
    import signal
    import sqlite3
    import time

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "voxloop.settings", "VOXLOOP_DATA_DIR": str(tmp_path / "data"),
           "ANALYZE_ON_INGEST": "0", "CELERY_BROKER_URL": "memory://"}  # fmt: skip
    env.pop("VOXLOOP_TEST_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    voxloop = [sys.executable, "-m", "voxloop.cli"]
    subprocess.run([*voxloop, "migrate", "-v", "0"], env=env, check=True)
    n = 20_000  # ten 2,000-row chunks on SQLite: killed after the second, it is still mid-file
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "".join(f"R{i},第{i}条：物流有点慢,2025-03-05,4,\n" for i in range(n)), encoding="utf-8")
    proc = subprocess.Popen([*voxloop, "import", str(path), "--channel", "review", "--source", "kill"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    db = tmp_path / "data" / "voxloop.sqlite3"

    def processed() -> int:
        try:
            with sqlite3.connect(db, timeout=30) as conn:
                row = conn.execute("SELECT rows_processed FROM feedback_importbatch").fetchone()
                return row[0] if row else 0
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 120
    while processed() < 4000 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = processed()
    assert 0 < killed_at < n, "the import should have been killed part-way"
    with sqlite3.connect(db) as conn:
        (batch_id,) = conn.execute("SELECT id FROM feedback_importbatch").fetchone()
        stored = conn.execute("SELECT COUNT(*) FROM feedback_feedback").fetchone()[0]
    assert stored == killed_at  # committed together with the checkpoint, nothing half-written
    subprocess.run([*voxloop, "import", "--resume", str(batch_id), "-v", "0"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    with sqlite3.connect(db) as conn:
        stored, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT external_id) FROM feedback_feedback"
        ).fetchone()
        status, accepted = conn.execute("SELECT status, accepted_count FROM feedback_importbatch").fetchone()
    assert (stored, distinct, status, accepted) == (n, n, "completed", n)


# A large import's reader process (preparer.py) killed after its first chunk: the real one, cut off there.
READER_KILLED_AFTER_ONE_CHUNK = (
    "import pickle, subprocess, sys, django; django.setup(); "
    "child = subprocess.Popen([sys.executable, '-m', 'voxloop.channels.fileimport.preparer'], "
    "stdin=sys.stdin, stdout=subprocess.PIPE); "
    "sys.stdout.buffer.write(pickle.dumps(pickle.load(child.stdout))); sys.stdout.flush(); "
    "child.kill(); sys.exit(9)"
)


@pytest.mark.parametrize("crash", ["writer", "reader process"])
def test_resume_from_checkpoint_skips_committed_rows(tmp_path, monkeypatch, request, crash):
    """Whichever side dies after the first chunk, the batch fails with that chunk stored and the rerun
    stores the rest, none twice."""
    monkeypatch.setattr(services, "CHUNK_ROWS_BY_VENDOR", {})  # 2,000-row chunks on every database
    rows = "".join(f"R{i},第{i}条反馈,2025-03-05,4,\n" for i in range(1, 5001))
    path = write(tmp_path, "big.csv", HEADER + rows)
    batch = services.create_batch(path, channel="review", source="shop")
    calls = {"n": 0}
    original = services._commit_chunk
    real_reader = preparer.COMMAND

    def crash_after_first_chunk(b, chunk):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return original(b, chunk)

    if crash == "writer":
        monkeypatch.setattr(services, "_commit_chunk", crash_after_first_chunk)
    else:
        request.getfixturevalue("in_process")
        monkeypatch.setattr(preparer, "COMMAND", [sys.executable, "-c", READER_KILLED_AFTER_ONE_CHUNK])
    with pytest.raises(RuntimeError, match="worker killed" if crash == "writer" else "stopped unexpectedly"):
        services.run_batch(batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert batch.rows_processed == services.CHUNK_ROWS
    assert Feedback.objects.count() == services.CHUNK_ROWS
    monkeypatch.setattr(services, "_commit_chunk", original)
    monkeypatch.setattr(preparer, "COMMAND", real_reader)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING)
    batch = services.run_batch(batch.pk)
    assert batch.status == BatchStatus.COMPLETED
    assert (batch.accepted_count, batch.duplicate_count, batch.rejected_count) == (5000, 0, 0)
    assert Feedback.objects.count() == 5000


def test_control_and_nul_characters_in_a_file_are_handled(tmp_path):
    path = write(tmp_path, "nul.csv", "内容,备注\n好\x00评\x07,x\x00y\n,\x00\n")
    batch = run(path, source="nul")
    assert (batch.accepted_count, batch.rejected_count) == (1, 1)
    assert Feedback.objects.get().text == "好评"


@pytest.mark.parametrize("reader", ["thread", "process"])
def test_a_read_error_stops_the_import_with_its_message(tmp_path, request, reader):
    """Rows are read ahead in a background thread, or a separate process for large imports (preparer.py): a
    file that fails there still fails the batch clearly."""
    if reader == "process":
        request.getfixturevalue("in_process")
    path = write(tmp_path, "ok.csv", HEADER + "R1,好评,2025-03-05,5,\n")
    batch = services.create_batch(path, channel="review", source="shop")
    ImportBatch.objects.filter(pk=batch.pk).update(encoding="no-such-encoding")
    batch = services.run_batch(batch.pk)
    assert batch.status == BatchStatus.FAILED
    assert batch.error_message == "Unknown encoding 'no-such-encoding'."
    with translation.override("zh-hans"):  # the batch page shows it in the reader's language
        assert batch.error_display == "未知编码“no-such-encoding”。"
    assert Feedback.objects.count() == 0


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="planner statistics are PostgreSQL's (VOXLOOP_TEST_DATABASE_URL)",
)
def test_a_growing_import_keeps_the_planners_row_estimate_current(tmp_path, monkeypatch):
    # Stale estimates made each chunk's duplicate check read the whole table: the estimate must follow.
    from django.db import connection

    from voxloop.feedback.bulk import PlannerStatistics

    monkeypatch.setattr(PlannerStatistics, "MIN_ROWS", 100)
    monkeypatch.setattr(services, "CHUNK_ROWS_BY_VENDOR", {"postgresql": 100})
    lines = [f"R{i},第{i}条评价,2025-03-05 10:00,5,138{i:08d}" for i in range(600)]
    batch = run(write(tmp_path, "big.csv", HEADER + "\n".join(lines) + "\n"), source="grow")
    assert batch.accepted_count == 600
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'feedback_feedback'::regclass")
        (estimate,) = cursor.fetchone()
    assert estimate >= 300  # analysed along the way (the last at 400 rows), not left at "never analysed"
