"""Hand-made bad files (issue 15): each is generated here, never committed. Every row of a file ends up
accepted, a duplicate or quarantined with its reason; no file fails whole for one row."""

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from openpyxl import Workbook

from voxloop.channels.fileimport import readers, services
from voxloop.channels.fileimport.tasks import run_import_task
from voxloop.feedback.models import BatchStatus, Feedback, ImportBatch, QuarantinedRow

pytestmark = pytest.mark.django_db

HEADER = "评价ID,评价内容,评价时间,评分\n"
TEN_MIB = 10 * 1024 * 1024


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def run(path: Path, **kwargs) -> ImportBatch:
    kwargs.setdefault("channel", "review")
    kwargs.setdefault("source", "shop")
    batch = services.create_batch(path, **kwargs)
    return services.run_batch(batch.pk)


def counts(batch: ImportBatch) -> tuple:
    return batch.total_rows, batch.accepted_count, batch.duplicate_count, batch.rejected_count


# --- 15.1: a cell over the CSV field limit ---------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["one line", "quoted, over many lines"])
def test_a_ten_mebibyte_cell_is_quarantined_and_every_row_after_it_is_read(tmp_path, cell):
    rows = [f"R{i},第{i}条评价,2025-03-05 10:00,4" for i in range(1, 101)]
    huge = "长" * TEN_MIB if cell == "one line" else '"' + "第一行\n" * (TEN_MIB // 4) + '"'
    rows[4] = f"R5,{huge},2025-03-05 10:00,1"
    batch = run(write(tmp_path, "huge.csv", HEADER + "\n".join(rows) + "\n"))
    assert batch.status == BatchStatus.COMPLETED
    assert counts(batch) == (100, 99, 0, 1)
    assert Feedback.objects.filter(batch=batch).count() == 99
    assert Feedback.objects.filter(external_id="R100").exists()
    row = QuarantinedRow.objects.get(batch=batch)
    assert (row.row_number, row.reason_code, row.line) == (5, "row_too_large", 6)
    assert row.raw_text.startswith("R5,")  # a bounded excerpt of what the file holds
    assert readers.EXCERPT_CHARS - 2 <= len(row.raw_text) <= readers.EXCERPT_CHARS
    assert row.line_count == (1 if cell == "one line" else TEN_MIB // 4 + 1)
    assert row.reason.startswith("Row 5, which starts at line 6, has 10,485,7")
    assert "characters, more than the 8,388,608 a row may have" in row.reason
    with translation.override("zh-hans"):
        assert "超过了一行允许的 8,388,608 个字符" in row.reason_display


@pytest.mark.parametrize("last", [False, True])
def test_a_ten_mebibyte_jsonl_line_is_quarantined_and_every_line_after_it_is_read(tmp_path, last):
    keys = ["评价ID", "评价内容", "评价时间", "评分"]
    lines = [
        json.dumps(dict(zip(keys, [f"R{i}", f"第{i}条评价", "2025-03-05 10:00", 4], strict=True)))
        for i in range(1, 101)
    ]
    big = 100 if last else 5
    lines[big - 1] = json.dumps({"评价ID": f"R{big}", "评价内容": "长" * TEN_MIB}, ensure_ascii=False)
    # The last line without its line break: the file's end closes the oversized line too.
    batch = run(write(tmp_path, "huge.jsonl", "\n".join(lines) + ("" if last else "\n")))
    assert batch.status == BatchStatus.COMPLETED
    assert counts(batch) == (100, 99, 0, 1)
    assert Feedback.objects.filter(batch=batch, external_id="R100").exists() != last
    row = QuarantinedRow.objects.get(batch=batch)
    assert (row.row_number, row.reason_code) == (big, "row_too_large")
    assert row.raw_text.startswith('{"评价ID": "R') and len(row.raw_text) == readers.EXCERPT_CHARS
    chars = len(lines[big - 1])
    assert row.reason == (
        f"Line {big} has {chars:,} characters, more than the 8,388,608 a line may have; only its beginning is kept"
        " here. Shorten the text or split it, and import the line again."
    )
    with translation.override("zh-hans"):
        assert f"第 {big} 行有 {chars:,} 个字符" in row.reason_display


def test_an_oversized_unclosed_quote_swallows_to_the_end_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ROW_CHARS", 1000)
    rows = [f"R{i},第{i}条评价,2025-03-05,4" for i in range(1, 101)]
    rows[49] = 'R50,"没有结束的引号' + "很长" * 600 + ",2025-03-05,1"
    batch = run(write(tmp_path, "q.csv", HEADER + "\n".join(rows) + "\n"))
    assert counts(batch) == (50, 49, 0, 1)
    row = QuarantinedRow.objects.get(batch=batch)
    assert (row.row_number, row.reason_code, row.line, row.line_count) == (50, "row_too_large", 51, 51)
    assert "never closed" in row.reason


# --- 15.2: UTC offsets no database keeps -----------------------------------------------------------------------


def test_a_utc_offset_beyond_1559_quarantines_only_its_row(tmp_path):
    rows = []
    for i in range(1, 101):
        offset = {7: "+16:00", 20: "-16:30", 33: "+23:59", 50: "+16:00", 90: "+18:00"}.get(i, "+08:00")
        rows.append(f"R{i},第{i}条评价,2025-03-05T10:00:00{offset},4")
    rows.append("R101,最东边的时区,2025-03-05T10:00:00+14:00,5")  # real zones reach +14:00
    rows.append("R102,最西边的时区,2025-03-05T10:00:00-12:00,5")
    batch = run(write(tmp_path, "tz.csv", HEADER + "\n".join(rows) + "\n"))
    assert batch.status == BatchStatus.COMPLETED
    assert counts(batch) == (102, 97, 0, 5)
    bad = QuarantinedRow.objects.filter(batch=batch).order_by("row_number")
    assert [r.row_number for r in bad] == [7, 20, 33, 50, 90]
    assert {r.reason_code for r in bad} == {"invalid_utc_offset"}
    assert bad[0].reason == (
        "Row 7, column '评价时间': The UTC offset +16:00 is out of range: it must be between -15:59 and +15:59."
    )
    assert bad[1].reason.endswith("The UTC offset -16:30 is out of range: it must be between -15:59 and +15:59.")
    with translation.override("zh-hans"):
        assert bad[0].reason_display == "列“评价时间”：UTC 偏移 +16:00 超出范围：必须在 -15:59 与 +15:59 之间。"
    # A rerun (resume) has nothing left to trip on.
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, rows_processed=0)
    again = services.run_batch(batch.pk)
    assert again.status == BatchStatus.COMPLETED


def test_an_offset_in_a_json_file_and_an_excel_text_cell_is_checked_too(tmp_path):
    path = tmp_path / "tz.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"id": f"J{i}", "text": "好评", "time": f"2025-03-05 10:00{tz}"}, ensure_ascii=False)
            for i, tz in enumerate(["+16:00", "+08:00", "Z"])
        ),
        encoding="utf-8",
    )
    batch = run(path, mapping={"external_id": "id", "text": "text", "received_at": "time"})
    assert (batch.accepted_count, batch.rejected_count) == (2, 1)
    assert QuarantinedRow.objects.get(batch=batch).reason_code == "invalid_utc_offset"


# --- 15.6: xlsx zip bombs --------------------------------------------------------------------------------------


def _workbook_bytes(rows: int = 11) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["评价内容", "评价时间"])
    for i in range(rows):
        sheet.append([f"第{i}条评价", "2025-03-05 10:00"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _bomb(tmp_path: Path, expanded_mib: int = 64) -> Path:
    """A real workbook with 11 normal rows whose shared strings part is padded with blanks: a few hundred KB
    that would expand to `expanded_mib` MiB."""
    normal = zipfile.ZipFile(io.BytesIO(_workbook_bytes()))
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in normal.infolist():
            data = normal.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", b" " * (expanded_mib * 1024 * 1024) + b"</worksheet>")
            out.writestr(info.filename, data)
    return path


def test_a_zip_bomb_workbook_is_refused_before_it_is_opened(tmp_path):
    path = _bomb(tmp_path)
    assert path.stat().st_size < 200_000
    with pytest.raises(services.ImportRefused) as refused:
        services.create_batch(path, channel="review", source="bomb")
    assert refused.value.code == "xlsx_bomb"
    assert "expands" in refused.value.message and "save the sheet as CSV (UTF-8)" in refused.value.message
    assert ImportBatch.objects.count() == 0
    with translation.override("zh-hans"):
        assert "另存为 CSV（UTF-8）" in refused.value.localized()


def test_a_workbook_over_the_size_limit_is_refused_at_import_time_too(tmp_path, monkeypatch):
    path = tmp_path / "normal.xlsx"
    path.write_bytes(_workbook_bytes())
    batch = services.create_batch(path, channel="review", source="big")  # fine under the limit then
    monkeypatch.setattr(readers, "XLSX_MAX_EXPANDED_BYTES", 1000)
    batch = services.run_batch(batch.pk)
    assert batch.status == BatchStatus.FAILED
    assert batch.error_message.startswith("This workbook expands to 0 MiB when unpacked, more than the 0 MiB")
    assert Feedback.objects.count() == 0


def test_a_zip_bomb_uploaded_on_the_import_page_is_refused_in_the_readers_language(agent_client, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    upload = SimpleUploadedFile("bomb.xlsx", _bomb(tmp_path).read_bytes())
    response = agent_client.post(reverse("fileimport:upload"), {"file": upload}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "zip 炸弹" in response.content.decode()


# --- 15.7: one runner per batch --------------------------------------------------------------------------------


def _pending_batch(tmp_path: Path, rows: int = 30) -> ImportBatch:
    lines = "".join(f"R{i},第{i}条评价,2025-03-05,4\n" for i in range(rows))
    return services.create_batch(write(tmp_path, "a.csv", HEADER + lines), channel="review", source="lease")


def test_a_second_runner_is_told_the_batch_is_running_and_counts_nothing(tmp_path):
    batch = _pending_batch(tmp_path)
    owner = services.acquire_lease(batch.pk)  # the first runner, still at work
    with pytest.raises(services.BatchBusy) as busy:
        services.run_batch(batch.pk)
    assert f"Import batch {batch.pk} is already running in another process" in busy.value.message
    with pytest.raises(CommandError, match="already running"):
        call_command("import", "--resume", str(batch.pk), verbosity=0)
    assert run_import_task.apply(args=[batch.pk]).get() == "busy"  # a redelivered task, the stalled resumer
    batch.refresh_from_db()
    assert counts(batch)[1:] == (0, 0, 0) and Feedback.objects.count() == 0
    services.release_lease(batch.pk, owner)
    batch = services.run_batch(batch.pk)
    assert counts(batch) == (30, 30, 0, 0)
    assert batch.lease_owner == ""


def test_a_runner_that_lost_its_lease_undoes_its_chunk_instead_of_counting_it_twice(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "CHUNK_ROWS_BY_VENDOR", {})
    monkeypatch.setattr(services, "CHUNK_ROWS", 10)
    batch = _pending_batch(tmp_path)
    original = services._commit_chunk
    calls = {"n": 0}

    def stalled_then_taken_over(b, chunk):
        calls["n"] += 1
        if calls["n"] == 2:  # meanwhile the lease ran out and another runner took the batch
            ImportBatch.objects.filter(pk=b.pk).update(lease_owner="elsewhere:1:abc")
        return original(b, chunk)

    monkeypatch.setattr(services, "_commit_chunk", stalled_then_taken_over)
    with pytest.raises(services.LeaseLost):
        services.run_batch(batch.pk)
    batch.refresh_from_db()
    assert (batch.rows_processed, batch.accepted_count) == (10, 10)  # its second chunk was undone
    assert Feedback.objects.count() == 10
    assert batch.lease_owner == "elsewhere:1:abc"  # not released: it is not this runner's


def test_a_dead_runners_lease_on_this_host_is_taken_over_at_once(tmp_path):
    batch = _pending_batch(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = f"{services.socket.gethostname()}:{dead.stdout.strip()}:0a1b2c"
    far = timezone.now() + timezone.timedelta(hours=1)
    ImportBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, lease_owner=owner,
                                                   lease_expires_at=far)  # fmt: skip
    assert counts(services.run_batch(batch.pk)) == (30, 30, 0, 0)


def test_an_expired_lease_is_taken_over(tmp_path):
    batch = _pending_batch(tmp_path)
    past = timezone.now() - timezone.timedelta(seconds=1)
    ImportBatch.objects.filter(pk=batch.pk).update(lease_owner="elsewhere:1:abc", lease_expires_at=past)
    assert counts(services.run_batch(batch.pk)) == (30, 30, 0, 0)


# --- a row the database itself refuses ------------------------------------------------------------------------


def test_a_lone_surrogate_in_json_is_quarantined_with_its_reason(tmp_path):
    lines = [json.dumps({"id": f"J{i}", "text": f"第{i}条", "time": "2025-03-05"}) for i in range(1, 21)]
    lines[11] = '{"id": "J12", "text": "lone surrogate \\ud800 here", "time": "2025-03-05"}'
    lines[12] = '{"id": "J13", "\\udc00key": "x", "text": "in a key", "time": "2025-03-05"}'
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = run(path, mapping={"external_id": "id", "text": "text", "received_at": "time"})
    assert batch.status == BatchStatus.COMPLETED
    assert counts(batch) == (20, 18, 0, 2)
    rows = list(QuarantinedRow.objects.filter(batch=batch).order_by("row_number"))
    assert [(r.row_number, r.reason_code) for r in rows] == [(12, "invalid_unicode"), (13, "invalid_unicode")]
    assert rows[0].raw_text == lines[11]  # kept as it was in the file


def test_a_row_the_database_refuses_is_quarantined_and_the_rest_stored(tmp_path):
    """Validation passes each order, but PostgreSQL refuses the second 999,999,999,999 order of one customer:
    the customer's lifetime value would overflow its numeric(14, 2) column. SQLite stores it."""
    from django.db import connection

    lines = [f"O{i},C{i},2025-03-05,{i}.50" for i in range(1, 11)]
    lines[3:3] = ["BIG1,C0,2025-03-05,999999999999", "BIG2,C0,2025-03-06,999999999999"]
    path = write(tmp_path, "orders.csv", "订单号,客户ID,下单时间,金额\n" + "\n".join(lines) + "\n")
    batch = run(path, kind="orders", channel="", source="erp")
    assert batch.status == BatchStatus.COMPLETED
    if connection.vendor == "postgresql":
        assert counts(batch) == (12, 11, 0, 1)
        row = QuarantinedRow.objects.get(batch=batch)
        assert (row.row_number, row.reason_code, row.raw["订单号"]) == (5, "refused_by_database", "BIG2")
        assert "numeric field overflow" in row.reason
    else:
        assert counts(batch) == (12, 12, 0, 0)


# --- 15.8: a row that swallowed lines, shown and downloadable --------------------------------------------------


def test_the_batch_page_says_how_many_lines_a_row_swallowed_and_offers_them(agent_client, tmp_path):
    from django.urls import reverse

    rows = [f"R{i},第{i}条评价,2025-03-05,4" for i in range(1, 101)]
    rows[49] = 'R50,"没有结束的引号,2025-03-05,1'
    path = tmp_path / "quote.csv"
    path.write_bytes((HEADER + "\r\n".join(rows) + "\r\n").encode("gbk"))
    batch = run(path)
    assert counts(batch) == (50, 49, 0, 1)
    row = QuarantinedRow.objects.get(batch=batch)
    assert (row.row_number, row.reason_code, row.line, row.line_count) == (50, "unclosed_quote", 51, 51)
    url = reverse("fileimport:batch", args=[batch.pk])
    chinese = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "第 51–101 行：文件中共 51 行" in chinese
    assert "第 50 行的引号没有闭合" in chinese
    assert "下载这些行去修改" in chinese
    english = agent_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "lines 51–101: 51 lines in the file" in english
    assert "swallowed 51 lines" in english
    download = reverse("fileimport:row_lines", args=[batch.pk, 50])
    assert download in english
    body = b"".join(agent_client.get(download).streaming_content)
    # Byte for byte what the file holds: its header, then the 51 lines from the unclosed quote on.
    assert body == (HEADER + "\r\n".join(rows[49:]) + "\r\n").encode("gbk")


# --- 15.11: formulas in exported cells -------------------------------------------------------------------------


def test_rejected_rows_csv_defuses_formulas(agent_client, tmp_path):
    from django.urls import reverse

    rows = ['R1,"=HYPERLINK(""http://evil.example"",""点我"")",昨天,1', "R2,\t=1+2,昨天,1", "R3,@SUM(A1),昨天,1"]
    batch = run(write(tmp_path, "f.csv", HEADER + "\n".join(rows) + "\n"))
    assert batch.rejected_count == 3
    body = b"".join(agent_client.get(reverse("fileimport:rejected_csv", args=[batch.pk])).streaming_content)
    cells = [r["评价内容"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))]
    assert cells == ['\'=HYPERLINK("http://evil.example","点我")', "'\t=1+2", "'@SUM(A1)"]


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1+2", "@SUM(A1)", "\t=1+2", "\r=1+2"])
def test_every_export_defuses_a_formula_cell(value):
    from openpyxl import load_workbook

    from voxloop.metrics import exports

    csv_text = exports.to_csv(["a", "b"], [[value, 3]]).decode("utf-8-sig")
    assert csv_text.split("\r\n")[1] in (f"'{value},3", f'"\'{value}",3')
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(["a", "b"], [[value, -3]], "t"))).active
    # (XML reads a carriage return back as a line feed)
    assert sheet["A2"].value == "'" + value.replace("\r", "\n") and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -3  # numbers stay numbers


@pytest.mark.django_db(transaction=True)
def test_two_runners_started_together_count_every_row_once(tmp_path, monkeypatch):
    """Two `voxloop import --resume N` at once (or the resumer and a redelivered task): one runs the batch, the
    other is told it is running; the counts add up to the rows, not twice as many."""
    import threading

    from django.db import connection

    monkeypatch.setattr(services, "CHUNK_ROWS_BY_VENDOR", {})
    monkeypatch.setattr(services, "CHUNK_ROWS", 100)
    batch = _pending_batch(tmp_path, rows=3000)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def runner() -> None:
        start.wait()
        try:
            outcomes.append(services.run_batch(batch.pk).status)
        except services.BatchBusy:
            outcomes.append("busy")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcomes.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batch.refresh_from_db()
    assert sorted(outcomes) in (["busy", "completed"], ["completed", "completed"])  # the later one found it done
    assert counts(batch) == (3000, 3000, 0, 0)
    assert Feedback.objects.count() == 3000
