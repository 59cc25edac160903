"""The import's invariant, tested over generated files (hypothesis): whatever a CSV, Excel or JSON Lines file
holds, every row of it is accepted, a duplicate or quarantined with its reason and its text, per batch, and no
good row is lost for a bad one next to it. Bounded (a fixed seed, a few dozen files) so that it fits CI: a
few seconds per database."""

import csv
import io
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from voxloop.channels.fileimport import readers, services
from voxloop.feedback.models import BatchStatus, Feedback, QuarantinedRow

pytestmark = pytest.mark.django_db

HEADER = ["评价ID", "评价内容", "评价时间", "评分"]
MAPPING = {"external_id": "评价ID", "text": "评价内容", "received_at": "评价时间", "rating": "评分"}
ROW_LIMIT = 3000  # readers.MAX_ROW_CHARS for these files: "huge" cells without writing megabytes each time
TEXT_LIMIT = 2000  # FEEDBACK_TEXT_MAX_CHARS
KINDS = ["good", "good", "good", "duplicate", "bad_date", "far_offset", "empty_text", "huge", "ragged", "bad_bytes",
         "surrogate"]  # fmt: skip
EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # a fixed seed: the same files on every run and machine
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Text a person might write, with what makes CSV hard: delimiters, quotes, line breaks, emoji.
TEXT = st.text(alphabet=st.sampled_from(list("好评差物流快慢客服，。！ abcXYZ019,;\"'\n\r\t😀=+-@")), max_size=40).map(
    lambda t: "评价" + t
)
files = itertools.count()


@pytest.fixture
def small_limits(monkeypatch, settings):
    monkeypatch.setattr(readers, "MAX_ROW_CHARS", ROW_LIMIT)
    monkeypatch.setattr(services, "CHUNK_ROWS_BY_VENDOR", {})
    monkeypatch.setattr(services, "CHUNK_ROWS", 7)  # several chunks per file, so bad rows meet chunk edges
    settings.FEEDBACK_TEXT_MAX_CHARS = TEXT_LIMIT


def _rows(kinds: list[str], texts: list[str], fmt: str, n: int) -> tuple[list[tuple[str, list]], set[str]]:
    """[(kind, cells)] for the file and the ids of the good rows, which must all be stored."""
    rows: list[tuple[str, list[str]]] = []
    good: set[str] = set()
    for i, (kind, text) in enumerate(zip(kinds, texts, strict=False)):
        row_id = f"F{n}-{i}"
        cells = [row_id, text, "2025-03-05 10:00", str(1 + i % 5)]
        if kind == "duplicate" and good:
            cells = next(cells for k, cells in reversed(rows) if k == "good")
        elif kind == "duplicate":
            kind = "good"
        elif kind == "bad_date":
            cells[2] = "昨天下午"
        elif kind == "far_offset":
            cells[2] = "2025-03-05T10:00:00+16:00"
        elif kind == "empty_text":
            cells[1] = ""
        elif kind == "huge":
            cells[1] = ('很长的"评价"\n' if i % 2 else "长") * ROW_LIMIT
        elif kind == "ragged" and fmt == "jsonl":
            cells = ["not", "an", "object"]
        elif kind == "ragged":
            cells = [*cells, "多余的列"]
        elif kind in ("bad_bytes", "surrogate") and fmt == "xlsx":
            kind = "good"
        if kind == "good":
            good.add(row_id)
        rows.append((kind, cells))
    return rows, good


def _write(tmp_path: Path, fmt: str, rows: list[tuple[str, list]], n: int) -> Path:
    path = tmp_path / f"f{n}.{fmt}"
    if fmt == "xlsx":
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(HEADER)
        for _kind, cells in rows:
            sheet.append(cells)
        workbook.save(path)
        return path
    out = io.BytesIO()
    if fmt == "csv":
        out.write((",".join(HEADER) + "\n").encode())
    for kind, cells in rows:
        if fmt == "csv":
            line = io.StringIO()
            csv.writer(line).writerow(cells)  # quotes \r and \n, as Excel does
            out.write(line.getvalue().encode("gbk" if kind == "bad_bytes" else "utf-8", errors="replace"))
        elif kind == "ragged":
            out.write(json.dumps(cells).encode() + b"\n")
        else:
            item = json.dumps(dict(zip(HEADER, cells, strict=True)), ensure_ascii=False).encode()
            if kind == "bad_bytes":
                item = item.replace("评价".encode(), "评价".encode("gbk"), 1)
            if kind == "surrogate":
                item = item.replace("评价".encode(), b"\\ud800", 1)
            out.write(item + b"\n")
    path.write_bytes(out.getvalue())
    return path


def _check_invariant(tmp_path: Path, fmt: str, kinds: list[str], texts: list[str], tally) -> None:
    n = next(files)
    rows, good = _rows(kinds, texts, fmt, n)
    tally.add("hypothesis invariant: generated files", **{"files": 1, "rows": len(rows), f"{fmt}_files": 1})
    path = _write(tmp_path, fmt, rows, n)
    batch = services.create_batch(path, channel="review", source="invariant", mapping=MAPPING,
                                  encoding="" if fmt == "xlsx" else "utf-8")  # fmt: skip
    batch = services.run_batch(batch.pk)
    assert batch.status == BatchStatus.COMPLETED, batch.error_message  # never failed whole for a row
    assert batch.total_rows == len(rows)
    assert batch.accepted_count + batch.duplicate_count + batch.rejected_count == len(rows)
    assert Feedback.objects.filter(batch=batch).count() == batch.accepted_count
    quarantined = list(QuarantinedRow.objects.filter(batch=batch))
    assert len(quarantined) == batch.rejected_count
    for row in quarantined:
        assert row.reason_code and row.reason and (row.raw or row.raw_text), row.row_number
    stored = set(
        Feedback.objects.filter(source="invariant", external_id__in=good).values_list("external_id", flat=True)
    )
    assert stored == good  # no good row lost for a bad one next to it


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_every_row_of_any_file_is_accepted_a_duplicate_or_quarantined(tmp_path, small_limits, fmt, tally):
    @EXAMPLES
    @given(kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=30), texts=st.lists(TEXT, min_size=30,
                                                                                         max_size=30))  # fmt: skip
    def check(kinds, texts):
        _check_invariant(tmp_path, fmt, kinds, texts, tally)

    check()
