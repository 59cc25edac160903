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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes
from django.utils.translation import gettext_noop

from voxloop.core.messages import LocalizedError

csv.field_size_limit(8 * 1024 * 1024)

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
    for row in iter_rows(path, fmt, encoding=encoding, limit=1):
        return list(row.values.keys())
    return []


def iter_rows(
    path: Path, fmt: str, *, encoding: str = "", start_after: int = 0, limit: int | None = None
) -> Iterator[SourceRow]:
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


def _iter_csv(path: Path, encoding: str) -> Iterator[SourceRow]:
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
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header_row = next(reader)
        except StopIteration as exc:
            raise FileFormatError("empty_file", gettext_noop("The file is empty.")) from exc
        except csv.Error as exc:
            raise FileFormatError(
                "malformed_csv", gettext_noop("The header line cannot be read: %(error)s."), error=exc
            ) from exc
        if _SURROGATE.search("".join(header_row)):
            raise FileFormatError(
                "wrong_encoding",
                gettext_noop(
                    "The header is not valid %(encoding)s. Choose the file's encoding (e.g. GBK, UTF-8, UTF-16)."
                ),
                encoding=encoding,
            )
        headers = _unique_headers(header_row)
        number = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield SourceRow(
                    number,
                    error_code="malformed_csv",
                    error=gettext_noop("Line %(line)s: %(error)s."),
                    error_params={"line": reader.line_num, "error": str(exc)},
                )
                return
            number += 1
            raw_text = delimiter.join(fields)
            if not (fields and fields[0].strip()) and not any(f.strip() for f in fields):
                number -= 1  # blank lines are not rows
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
                    )
                    continue
            yield SourceRow(number, values=dict(zip(headers, fields, strict=False)), raw_text=raw_text)


def _iter_xlsx(path: Path) -> Iterator[SourceRow]:
    if not zipfile.is_zipfile(path):
        raise FileFormatError(
            "not_xlsx", gettext_noop("This file is not a real Excel .xlsx workbook (it may be renamed CSV or HTML).")
        )
    from openpyxl import load_workbook

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
            row = {h: ("" if v is None else v) for h, v in zip(headers, values, strict=False)}
            yield SourceRow(number, values=row, raw_text="\t".join("" if v is None else str(v) for v in values))
    finally:
        workbook.close()


def _iter_jsonl(path: Path, encoding: str) -> Iterator[SourceRow]:
    with path.open("r", encoding=encoding, errors="surrogateescape") as fh:
        for number, line in enumerate(fh, start=1):
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
            yield SourceRow(number, values=value, raw_text=text)


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
        if isinstance(value, dict):
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
