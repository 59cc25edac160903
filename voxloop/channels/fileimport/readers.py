"""Streaming readers for imported files: CSV (any common Chinese or Unicode encoding), Excel, JSON, JSONL.

Each reader yields `SourceRow`s one at a time (bounded memory) with the row number a person would see
in the file; a row that cannot be read becomes a SourceRow with an `error` instead of stopping the import.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
import zipfile
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext_noop
from openpyxl import load_workbook

from voxloop.core.messages import LocalizedError

# A CSV row (all its cells, every line it spans) may have up to this many characters; a longer one is
# quarantined with the first EXCERPT_CHARS of it and the rows after it are read as usual (_Lines). csv's own
# limit, which stopped the whole file, is set above it so that it never trips first.
MAX_ROW_CHARS = 8 * 1024 * 1024
EXCERPT_CHARS = 100_000
csv.field_size_limit(MAX_ROW_CHARS + 1)

SAMPLE_BYTES = 256 * 1024
_SURROGATE = re.compile(r"[\udc80-\udcff]")


class FileFormatError(LocalizedError):
    """The file as a whole cannot be read (wrong format, no header...)."""


@dataclass
class SourceRow:
    number: int  # 1-based data row number (the header is not counted); for JSONL, the line number
    values: dict[str, Any] = field(default_factory=dict)
    raw_text: str = ""
    error_code: str = ""
    error: str = ""  # an English template (see voxloop.core.messages) with its values in error_params
    error_params: dict[str, Any] = field(default_factory=dict)
    line: int = 0  # CSV: the physical line of the file where the row starts (the header is line 1)
    lines: int = 1  # CSV: how many physical lines it spans (quoted line breaks, an unclosed quote)


def detect_format(path: Path, declared: str = "") -> str:
    if declared:
        return declared.lower()
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"csv", "tsv", "txt"}:
        return "csv"
    if suffix in {"xlsx", "xlsm"}:
        return "xlsx"
    if suffix in {"json", "jsonl", "ndjson"}:
        return "jsonl" if suffix != "json" else "json"
    if suffix in {"eml", "mbox"}:
        return suffix
    if suffix == "xls":
        raise FileFormatError(
            "unsupported_format", gettext_noop("Old Excel .xls files are not supported: save it as .xlsx or CSV.")
        )
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.lstrip()[:1] in (b"[", b"{"):
        return "json" if head.lstrip()[:1] == b"[" else "jsonl"
    return "csv"


def detect_encoding(path: Path) -> str:
    """BOMs first; then strict UTF-8; then charset-normalizer on a sample (GB18030 covers GBK and GB2312)."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # the sample cut a multi-byte character in half
            return "utf-8"
    # Our users' files are mostly Chinese: GB18030 (a superset of GBK/GB2312) wins when it decodes the
    # sample cleanly into mostly Chinese characters; short samples otherwise look like Korean to detectors.
    for candidate in ("gb18030", "big5hkscs"):
        try:
            text = sample.decode(candidate)
        except UnicodeDecodeError as exc:
            if exc.start <= len(sample) - 4:
                continue
            text = sample[: exc.start].decode(candidate)
        non_ascii = [c for c in text if ord(c) > 127]
        if (
            non_ascii
            and sum(
                "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef" for c in non_ascii
            )
            / len(non_ascii)
            > 0.9
        ):
            return candidate
    best = from_bytes(sample).best()
    name = (best.encoding if best else "gb18030").lower().replace("_", "-")
    if name in {"gbk", "gb2312", "gb18030", "hz", "cp936"}:
        return "gb18030"
    if name in {"big5", "big5hkscs", "cp950"}:
        return "big5hkscs"
    return name


def count_data_rows(path: Path, fmt: str) -> int | None:
    """A cheap estimate of the number of data rows, for the progress bar (quoted newlines make it approximate)."""
    if fmt not in {"csv", "jsonl"}:
        return None
    lines = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk
    if last and not last.endswith(b"\n"):
        lines += 1
    return max(lines - 1, 0) if fmt == "csv" else lines


def read_headers(path: Path, fmt: str, encoding: str = "") -> list[str]:
    if fmt == "csv":  # the header line itself: the first row may be one that could not be read
        headers: list[str] = []
        with closing(_iter_csv(path, encoding or detect_encoding(path), headers_out=headers)) as rows:
            next(rows, None)
        return headers
    for row in iter_rows(path, fmt, encoding=encoding, limit=1):
        return list(row.values.keys())
    return []


def iter_rows(
    path: Path, fmt: str, *, encoding: str = "", start_after: int = 0, limit: int | None = None
) -> Iterator[SourceRow]:
    rows: Iterator[SourceRow]
    if fmt == "csv":
        rows = _iter_csv(path, encoding or detect_encoding(path))
    elif fmt == "xlsx":
        rows = _iter_xlsx(path)
    elif fmt == "json":
        rows = _iter_json_array(path, encoding or detect_encoding(path))
    elif fmt == "jsonl":
        rows = _iter_jsonl(path, encoding or detect_encoding(path))
    else:
        raise FileFormatError(
            "unsupported_format", gettext_noop("'%(format)s' files cannot be imported as rows."), format=fmt
        )
    produced = 0
    for row in rows:
        if row.number <= start_after:
            continue
        yield row
        produced += 1
        if limit is not None and produced >= limit:
            return


def _clean_header(name: Any, position: int) -> str:
    text = "" if name is None else str(name).replace("\ufeff", "").strip()
    return text or f"column_{position + 1}"


def _unique_headers(raw: list[Any]) -> list[str]:
    headers: list[str] = []
    for pos, name in enumerate(raw):
        header = _clean_header(name, pos)
        base, n = header, 2
        while header in headers:
            header = f"{base}_{n}"
            n += 1
        headers.append(header)
    return headers


class _RecordTooLarge(Exception):
    """A CSV record longer than MAX_ROW_CHARS, skipped to its end instead of being read (see _Lines)."""

    def __init__(self, first_line: int, lines: int, chars: int, excerpt: str, unclosed: bool):
        super().__init__(f"record at line {first_line} has {chars} characters")
        self.first_line = first_line
        self.lines = lines
        self.chars = chars
        self.excerpt = excerpt
        self.unclosed = unclosed


class _Lines:
    """Feeds csv.reader whole physical lines and remembers which lines the current record took, so that each
    row knows where it starts, how many lines it spans and its text as it was in the file.

    A record over MAX_ROW_CHARS (a giant cell, or a quote that is never closed) is not handed to csv: its
    remaining lines are skipped up to the line where its quotes balance (or the end of the file), reading
    at most a megabyte at a time, and _RecordTooLarge is raised in csv.reader's place. csv starts the next
    record afresh on the following line, so every row after it is still read. A class, not a generator: a
    generator that raises is finished, and the rows after the big one would be lost."""

    def __init__(self, fh: Any, quotechar: str = '"', limit: int = 0):
        self.fh = fh
        self._readline = fh.readline
        self.quotechar = quotechar
        self.limit = limit or MAX_ROW_CHARS
        self.line_no = 0  # physical lines read so far
        self._reset()

    def _reset(self) -> None:
        self.first_line = self.line_no + 1
        self.parts: list[str] = []
        self.chars = 0
        self.quotes = 0

    def __iter__(self) -> _Lines:
        return self

    # Called by csv for every line of the file: kept short (it costs about 2 µs a line in all).
    def __next__(self) -> str:
        room = self.limit - self.chars
        line = self._readline(room + 1)
        if len(line) > room:
            self._skip_rest(line)
        if not line:
            raise StopIteration
        self.line_no += 1
        self.parts.append(line)
        self.chars += len(line)
        if self.quotechar in line:
            self.quotes += line.count(self.quotechar)
        return line

    def take(self) -> tuple[int, int, str, bool]:
        """(first line, number of lines, text, quotes unbalanced) of the record csv has just returned."""
        parts, first, unbalanced = self.parts, self.first_line, self.quotes & 1
        self.first_line = self.line_no + 1
        self.parts = []
        self.chars = self.quotes = 0
        text = parts[0] if len(parts) == 1 else "".join(parts)
        if len(text) > EXCERPT_CHARS:
            text = text[:EXCERPT_CHARS]
        return first, len(parts), text.rstrip("\r\n"), bool(unbalanced)

    def _skip_rest(self, piece: str) -> None:
        """Read past the rest of an oversized record, keeping only its beginning, then raise _RecordTooLarge."""
        excerpt = ("".join(self.parts) + piece)[:EXCERPT_CHARS]
        chars, quotes, lines = self.chars, self.quotes, len(self.parts)
        open_line = False  # characters read since the last line break
        while piece:
            chars += len(piece)
            quotes += piece.count(self.quotechar)
            if piece.endswith(("\n", "\r")):
                lines += 1
                open_line = False
                if quotes % 2 == 0:
                    break  # the quotes balance at a line break: the record ends here
            else:
                open_line = True
            piece = self.fh.readline(1 << 20)
        lines += open_line
        first = self.first_line
        self.line_no = first - 1 + lines
        self._reset()
        raise _RecordTooLarge(first, lines, chars, excerpt.rstrip("\r\n"), quotes % 2 == 1)


def _iter_csv(path: Path, encoding: str, headers_out: list[str] | None = None) -> Generator[SourceRow, None, None]:
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise FileFormatError(
            "unknown_encoding", gettext_noop("Unknown encoding '%(encoding)s'."), encoding=encoding
        ) from exc
    # surrogateescape keeps undecodable bytes visible per row instead of failing the whole file.
    with path.open("r", encoding=encoding, errors="surrogateescape", newline="") as fh:
        sample = fh.read(64 * 1024)
        fh.seek(0)
        delimiter = ","
        if sample:
            first_line = sample.splitlines()[0] if sample.splitlines() else sample
            counts = {d: first_line.count(d) for d in [",", "\t", ";", "|"]}
            delimiter = max(counts, key=lambda d: counts[d]) if max(counts.values()) else ","
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header_row = next(reader)
        except StopIteration as exc:
            raise FileFormatError("empty_file", gettext_noop("The file is empty.")) from exc
        except _RecordTooLarge as exc:
            raise FileFormatError(
                "malformed_csv",
                gettext_noop("The header line is longer than %(limit)s characters: is this really a CSV file?"),
                limit=f"{MAX_ROW_CHARS:,}",
            ) from exc
        except csv.Error as exc:
            raise FileFormatError(
                "malformed_csv", gettext_noop("The header line cannot be read: %(error)s."), error=exc
            ) from exc
        lines.take()
        if _SURROGATE.search("".join(header_row)):
            raise FileFormatError(
                "wrong_encoding",
                gettext_noop(
                    "The header is not valid %(encoding)s. Choose the file's encoding (e.g. GBK, UTF-8, UTF-16)."
                ),
                encoding=encoding,
            )
        headers = _unique_headers(header_row)
        if headers_out is not None:
            headers_out.extend(headers)
        number = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except _RecordTooLarge as big:
                # csv starts afresh on the line after it: the rows that follow are read as usual.
                number += 1
                yield _too_large_row(number, big)
                continue
            except csv.Error as exc:
                number += 1
                line, count, raw_text, _unbalanced = lines.take()
                yield SourceRow(
                    number,
                    raw_text=_SURROGATE.sub("\ufffd", raw_text),
                    error_code="malformed_csv",
                    error=gettext_noop("Line %(line)s: %(error)s."),
                    error_params={"line": line, "error": str(exc)},
                    line=line,
                    lines=count,
                )
                continue
            line, count, raw_text, unbalanced = lines.take()
            if not (fields and fields[0].strip()) and not any(f.strip() for f in fields):
                continue  # blank lines are not rows
            number += 1
            if unbalanced:
                # The quote opened on this row is never closed: csv ran to the end of the file inside one cell,
                # swallowing every line after it. The row is kept whole, to be fixed, never stored as feedback.
                yield SourceRow(
                    number,
                    values=dict(zip(headers, (_SURROGATE.sub("\ufffd", f) for f in fields), strict=False)),
                    raw_text=_SURROGATE.sub("\ufffd", raw_text),
                    error_code="unclosed_quote",
                    error=UNCLOSED_QUOTE,
                    error_params={"row": number, "line": line, "last": line + count - 1, "lines": count},
                    line=line,
                    lines=count,
                )
                continue
            if _SURROGATE.search(raw_text):
                yield SourceRow(
                    number,
                    values=dict(zip(headers, (_SURROGATE.sub("\ufffd", f) for f in fields), strict=False)),
                    raw_text=_SURROGATE.sub("\ufffd", raw_text),
                    error_code="wrong_encoding",
                    error=gettext_noop(
                        "Row %(row)s contains bytes that are not valid %(encoding)s (mixed encodings?)."
                    ),
                    error_params={"row": number, "encoding": encoding},
                    line=line,
                    lines=count,
                )
                continue
            if len(fields) != len(headers):
                extra_empty = len(fields) > len(headers) and not any(f.strip() for f in fields[len(headers) :])
                if not extra_empty:
                    yield SourceRow(
                        number,
                        values=dict(zip(headers, fields, strict=False)),
                        raw_text=raw_text,
                        error_code="ragged_row",
                        error=gettext_noop(
                            "Row %(row)s has %(fields)s fields but the header has %(headers)s"
                            " (a stray delimiter or an unclosed quote?)."
                        ),
                        error_params={"row": number, "fields": len(fields), "headers": len(headers)},
                        line=line,
                        lines=count,
                    )
                    continue
            yield SourceRow(number, values=dict(zip(headers, fields, strict=False)), raw_text=raw_text, line=line,
                            lines=count)  # fmt: skip


UNCLOSED_QUOTE = gettext_noop(
    "Row %(row)s opens a quote that is never closed: it runs from line %(line)s to the end of the file"
    " (line %(last)s) and swallowed %(lines)s lines, which were not imported as rows of their own."
    " Download this row, close the quote and import its lines again."
)


def _too_large_row(number: int, big: _RecordTooLarge) -> SourceRow:
    if big.unclosed:
        template = gettext_noop(
            "Row %(row)s (from line %(line)s) is longer than %(limit)s characters: a quote opened there is never"
            " closed, so it swallowed %(lines)s lines up to the end of the file. Download this row, close the"
            " quote and import its lines again."
        )
    else:
        template = gettext_noop(
            "Row %(row)s, which starts at line %(line)s, has %(chars)s characters, more than the %(limit)s a row"
            " may have; only its beginning is kept here. Shorten the text or split it, and import the row again."
        )
    return SourceRow(
        number,
        raw_text=_SURROGATE.sub("\ufffd", big.excerpt),
        error_code="row_too_large",
        error=template,
        error_params={
            "row": number,
            "line": big.first_line,
            "lines": big.lines,
            "chars": f"{big.chars:,}",
            "limit": f"{MAX_ROW_CHARS:,}",
        },  # fmt: skip
        line=big.first_line,
        lines=big.lines,
    )


# An .xlsx is a zip of XML files; openpyxl holds some of them (shared strings, styles) whole in memory, and a
# "zip bomb" (a 1 MiB file that expands to 1 GiB) took 6.7 GB and minutes. The sizes the zip declares are
# checked before anything is opened: Python's zipfile never expands a member beyond its declared size.
XLSX_MAX_EXPANDED_BYTES = 1024 * 1024 * 1024  # all members together, uncompressed
XLSX_MAX_RATIO = 100  # uncompressed : compressed, for a member over XLSX_RATIO_FROM bytes (real sheets: 5-30)
XLSX_RATIO_FROM = 8 * 1024 * 1024
XLSX_MAX_MEMBERS = 10_000


def check_xlsx_expansion(path: Path) -> None:
    """Refuse a workbook that expands too much, before opening it (preview and import alike)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileFormatError(
            "not_xlsx", gettext_noop("The Excel workbook cannot be opened: %(error)s."), error=exc
        ) from exc
    total = sum(m.file_size for m in members)
    if len(members) > XLSX_MAX_MEMBERS or total > XLSX_MAX_EXPANDED_BYTES:
        raise FileFormatError(
            "xlsx_too_large",
            gettext_noop(
                "This workbook expands to %(size)s MiB when unpacked, more than the %(limit)s MiB allowed. Nothing"
                " was imported. If the workbook is genuine, open it in Excel or WPS, save the sheet as CSV (UTF-8)"
                " and import the CSV: it is read row by row, so every normal row gets in."
            ),
            size=f"{total / 1048576:,.0f}",
            limit=f"{XLSX_MAX_EXPANDED_BYTES / 1048576:,.0f}",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_RATIO_FROM and ratio > XLSX_MAX_RATIO:
            raise FileFormatError(
                "xlsx_bomb",
                gettext_noop(
                    "This workbook looks like a zip bomb: its part %(member)s expands %(ratio)s times (to %(size)s"
                    " MiB), more than the %(limit)s times a real workbook does. Nothing was imported. If the workbook"
                    " is genuine, open it in Excel or WPS, save the sheet as CSV (UTF-8) and import the CSV: it is"
                    " read row by row, so every normal row gets in."
                ),
                member=member.filename[:100],
                ratio=f"{ratio:,.0f}",
                size=f"{member.file_size / 1048576:,.0f}",
                limit=XLSX_MAX_RATIO,
            )


def _iter_xlsx(path: Path) -> Iterator[SourceRow]:
    if not zipfile.is_zipfile(path):
        raise FileFormatError(
            "not_xlsx", gettext_noop("This file is not a real Excel .xlsx workbook (it may be renamed CSV or HTML).")
        )
    check_xlsx_expansion(path)

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for broken workbooks
        raise FileFormatError(
            "not_xlsx", gettext_noop("The Excel workbook cannot be opened: %(error)s."), error=exc
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header_row = next(rows, None)
        if header_row is None:
            raise FileFormatError("empty_file", gettext_noop("The first sheet is empty."))
        headers = _unique_headers(list(header_row))
        number = 0
        for values in rows:
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            number += 1
            row = dict.fromkeys(headers, "")  # every column, even where the row stops short
            row.update((h, "" if v is None else v) for h, v in zip(headers, values, strict=False))
            yield SourceRow(number, values=row, raw_text="\t".join("" if v is None else str(v) for v in values))
    finally:
        workbook.close()


def _too_large_line(number: int, excerpt: str, chars: int) -> SourceRow:
    return SourceRow(
        number,
        raw_text=_SURROGATE.sub("\ufffd", excerpt[:EXCERPT_CHARS]),
        error_code="row_too_large",
        error=gettext_noop(
            "Line %(line)s has %(chars)s characters, more than the %(limit)s a line may have; only its beginning"
            " is kept here. Shorten the text or split it, and import the line again."
        ),
        error_params={"line": number, "chars": f"{chars:,}", "limit": f"{MAX_ROW_CHARS:,}"},
    )


def _iter_jsonl(path: Path, encoding: str) -> Iterator[SourceRow]:
    with path.open("r", encoding=encoding, errors="surrogateescape") as fh:
        number = 0
        # A line is read up to MAX_ROW_CHARS, like a CSV row: a longer one (a 1 GB line) is quarantined with
        # its beginning and skipped a megabyte at a time, instead of being held whole in memory.
        while line := fh.readline(MAX_ROW_CHARS + 1):
            number += 1
            if len(line) > MAX_ROW_CHARS and not line.endswith("\n"):
                chars = len(line)
                while piece := fh.readline(1 << 20):
                    chars += len(piece)
                    if piece.endswith("\n"):
                        break
                yield _too_large_line(number, line, chars - 1 if piece.endswith("\n") else chars)
                continue
            text = line.strip()
            if not text:
                continue
            if _SURROGATE.search(text):
                yield SourceRow(
                    number,
                    raw_text=_SURROGATE.sub("\ufffd", text),
                    error_code="wrong_encoding",
                    error=gettext_noop("Line %(line)s is not valid %(encoding)s."),
                    error_params={"line": number, "encoding": encoding},
                )
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield SourceRow(
                    number,
                    raw_text=text[:100_000],
                    error_code="invalid_json",
                    error=gettext_noop("Line %(line)s is not valid JSON: %(error)s at column %(column)s."),
                    error_params={"line": number, "error": exc.msg, "column": exc.colno},
                )
                continue
            if not isinstance(value, dict):
                yield SourceRow(
                    number,
                    raw_text=text[:100_000],
                    error_code="not_an_object",
                    error=gettext_noop("Line %(line)s is JSON but not an object with fields."),
                    error_params={"line": number},
                )
                continue
            if "\\u" in text and _has_lone_surrogate(value):
                yield _lone_surrogate_row(number, text)
                continue
            yield SourceRow(number, values=value, raw_text=text)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """JSON may escape half of a UTF-16 pair ("\\ud800"): Python keeps it, no database can store it."""
    if isinstance(value, str):
        return bool(_LONE_SURROGATE.search(value))
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _lone_surrogate_row(number: int, text: str) -> SourceRow:
    return SourceRow(
        number,
        raw_text=text[:100_000],
        error_code="invalid_unicode",
        error=gettext_noop(
            "Item %(item)s contains a lone UTF-16 surrogate (an escape such as \\ud800 without its pair), which"
            " is not text: fix the program that wrote the file."
        ),
        error_params={"item": number},
    )


def _iter_json_array(path: Path, encoding: str) -> Iterator[SourceRow]:
    try:
        with path.open("r", encoding=encoding) as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            "invalid_json",
            gettext_noop("The file is not valid JSON: %(error)s at line %(line)s, column %(column)s."),
            error=exc.msg,
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            "wrong_encoding", gettext_noop("The file is not valid %(encoding)s."), encoding=encoding
        ) from exc
    if isinstance(data, dict):
        for key in ("items", "data", "records", "feedback", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise FileFormatError(
            "invalid_json",
            gettext_noop("The JSON file must hold a list of objects (or JSON Lines: one object per line)."),
        )
    for number, value in enumerate(data, start=1):
        if isinstance(value, dict) and _has_lone_surrogate(value):
            yield _lone_surrogate_row(number, json.dumps(value)[:100_000])
        elif isinstance(value, dict):
            yield SourceRow(number, values=value, raw_text=json.dumps(value, ensure_ascii=False)[:100_000])
        else:
            yield SourceRow(
                number,
                raw_text=json.dumps(value, ensure_ascii=False)[:100_000],
                error_code="not_an_object",
                error=gettext_noop("Item %(item)s is not an object with fields."),
                error_params={"item": number},
            )


def open_text_preview(path: Path, encoding: str, lines: int = 5) -> str:
    with path.open("r", encoding=encoding, errors="replace") as fh:
        return "".join(next(fh, "") for _ in range(lines))
