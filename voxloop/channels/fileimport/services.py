"""File imports: store the file, then stream it in committed chunks with a resume checkpoint.

Every row ends up counted exactly once: accepted, duplicate, or quarantined with its reason. A crash or
kill part-way loses nothing — the checkpoint (`rows_processed`) is committed with each chunk, so a
re-run continues after the last committed row and (source, external_id) keeps anything from doubling.
"""

from __future__ import annotations

import codecs
import gc
import hashlib
import os
import queue
import re
import secrets
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.core.files import File
from django.db import DataError, IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from voxloop.channels.fileimport import preparer
from voxloop.channels.fileimport.mapping import (
    PRESETS,
    apply_mapping,
    missing_required,
    preset_mapping,
    suggest_mapping,
)
from voxloop.channels.fileimport.readers import (
    FileFormatError,
    SourceRow,
    count_data_rows,
    detect_encoding,
    detect_format,
    iter_rows,
    read_headers,
)
from voxloop.core.messages import LocalizedError, StoredMessage, english, stored
from voxloop.feedback.bulk import PlannerStatistics
from voxloop.feedback.history import OPTION as HISTORY
from voxloop.feedback.history import HistoryMode
from voxloop.feedback.ingest import ingest_feedback, preformat, prepare_feedback
from voxloop.feedback.models import (
    BatchStatus,
    ColumnMapping,
    Customer,
    Feedback,
    ImportBatch,
    ImportKind,
    Order,
    QuarantinedRow,
)
from voxloop.feedback.normalize import RowError
from voxloop.feedback.records import prepare_customer, prepare_order, upsert_customers, upsert_orders

CHUNK_ROWS = 2000  # rows per committed chunk (and checkpoint) on SQLite
# PostgreSQL: each chunk costs a few round trips and a commit whatever its size; 10,000 rows amortise them
# (measured: 2,000 -> 10,000 rows per chunk) while a chunk's rows still take only a few tens of MB.
CHUNK_ROWS_BY_VENDOR = {"postgresql": 10_000}
RAW_TEXT_LIMIT = 100_000  # what we keep of one rejected row's original text


class ImportRefused(LocalizedError):
    """The file cannot be imported at all (format, header, required columns); nothing was stored."""


class BatchBusy(LocalizedError):
    """Another process is running this batch (it holds the batch's lease): this one did nothing."""


PREVIEW_SCAN_ROWS = 100  # rows read to learn the columns and show a few


@dataclass
class Preview:
    file_format: str
    encoding: str
    headers: list[str]
    rows: list[dict[str, Any]]
    suggested: dict[str, str]
    readable: bool = True  # some row of the preview could be read (JSON: else its columns are unknown)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def preview_file(path: Path, *, kind: str = ImportKind.FEEDBACK, file_format: str = "", encoding: str = "",
                 preset: str = "") -> Preview:  # fmt: skip
    fmt = detect_format(path, file_format)
    enc = encoding or (detect_encoding(path) if fmt in {"csv", "json", "jsonl"} else "")
    # The columns of the readable rows (JSON objects may differ in keys): a bad first row must not hide them.
    # One row at a time, keeping only five: a web worker previews the upload.
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    columns: dict[str, None] = {}
    for row in iter_rows(path, fmt, encoding=enc, limit=PREVIEW_SCAN_ROWS):
        if row.error_code:
            if len(bad) < 5:
                bad.append(row.values)
            continue
        columns.update(dict.fromkeys(row.values))
        if len(good) < 5:
            good.append(row.values)
    headers = list(columns) or read_headers(path, fmt, enc)
    suggested = preset_mapping(preset, headers) if preset else suggest_mapping(headers, kind)
    return Preview(fmt, enc, headers, good or bad, suggested, readable=bool(good))


def create_batch(
    path: Path,
    *,
    kind: str = ImportKind.FEEDBACK,
    channel: str = "",
    source: str = "",
    mapping: dict[str, str] | None = None,
    mapping_name: str = "",
    preset: str = "",
    encoding: str = "",
    file_format: str = "",
    timezone_name: str = "",
    original_name: str = "",
    created_by: Any = None,
    history: str = "",
) -> ImportBatch:
    """Keep a copy of the file and check it can be imported (format, header, required columns).
    ``history``: which rows are history, not news (voxloop.feedback.history; default ``auto``).
    Raises ImportRefused with a specific message before anything is stored when it cannot."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise ImportRefused("empty_file", gettext_noop("The file is empty."))
    try:
        preview = preview_file(path, kind=kind, file_format=file_format, encoding=encoding, preset=preset)
    except FileFormatError as exc:
        raise ImportRefused(exc.code, exc.template, **exc.params) from exc
    if (history or HistoryMode.AUTO) not in HistoryMode.values:
        raise ImportRefused(
            "unknown_history",
            gettext_noop("Unknown choice for history '%(value)s'. Use one of: %(choices)s."),
            value=history,
            choices=", ".join(HistoryMode.values),
        )
    options: dict[str, Any] = {"timezone": timezone_name or settings.TIME_ZONE, HISTORY: history or HistoryMode.AUTO}
    if mapping_name:
        saved = ColumnMapping.objects.filter(name=mapping_name).first()
        if saved is None:
            raise ImportRefused(
                "unknown_mapping", gettext_noop("There is no saved mapping named '%(name)s'."), name=mapping_name
            )
        mapping = mapping or saved.columns
        channel = channel or saved.channel
        source = source or saved.source
        options.update(saved.options)
    if preset:
        if preset not in PRESETS:
            raise ImportRefused(
                "unknown_preset",
                gettext_noop("Unknown preset '%(preset)s'. Use one of: %(choices)s."),
                preset=preset,
                choices=", ".join(PRESETS),
            )
        channel = channel or PRESETS[preset].channel
        source = source or PRESETS[preset].source
    mapping = dict(mapping) if mapping else dict(preview.suggested)
    # A JSON file whose first rows are all broken does not say its keys: those rows are quarantined as usual.
    columns_known = preview.readable or preview.file_format not in {"json", "jsonl"}
    unknown_columns = [h for h in mapping.values() if h not in preview.headers] if columns_known else []
    if unknown_columns:
        raise ImportRefused(
            "unknown_column",
            gettext_noop("The mapping names columns the file does not have: %(columns)s."),
            columns=", ".join(unknown_columns),
        )
    missing = missing_required(mapping, kind)
    if missing:
        raise ImportRefused(
            "missing_columns",
            gettext_noop("No column for required field(s): %(missing)s. Columns in the file: %(columns)s."),
            missing=", ".join(missing),
            columns=", ".join(preview.headers),
        )
    if kind == ImportKind.FEEDBACK and not channel and "channel" not in mapping:
        raise ImportRefused(
            "missing_channel", gettext_noop("Say which channel this feedback came from (e.g. --channel review).")
        )
    options["unmapped_columns"] = [h for h in preview.headers if h not in mapping.values()]
    name = original_name or path.name
    batch = ImportBatch(
        kind=kind,
        origin="file",
        source=(source or f"file:{name}")[:100],
        channel=channel,
        file_name=name[:255],
        file_size=path.stat().st_size,
        file_sha256=_sha256(path),
        file_format=preview.file_format,
        encoding=preview.encoding,
        mapping=mapping,
        options=options,
        total_rows=count_data_rows(path, preview.file_format),
        created_by=created_by,
    )
    with path.open("rb") as fh:
        batch.file.save(name, File(fh), save=False)
    batch.save()
    return batch


def save_mapping(name: str, *, kind: str, columns: dict[str, str], channel: str = "", source: str = "",
                 options: dict[str, Any] | None = None, created_by: Any = None) -> ColumnMapping:  # fmt: skip
    mapping, _ = ColumnMapping.objects.update_or_create(
        name=name,
        defaults={"kind": kind, "columns": columns, "channel": channel, "source": source,
                  "options": options or {}, "created_by": created_by},
    )  # fmt: skip
    return mapping


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: Any) -> str:
    """Text any database keeps: NUL removed, lone surrogates (a JSON "\\ud800") shown as U+FFFD."""
    text = str(value)
    return (
        _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text) if _UNSTORABLE.search(text) else text
    )


def _quarantine(
    batch: ImportBatch, row: SourceRow, code: str, reason: str, i18n: StoredMessage, field: str = ""
) -> QuarantinedRow:
    raw = {_storable(k): ("" if v is None else _storable(v)) for k, v in row.values.items()}
    return QuarantinedRow(
        batch_id=batch.pk,  # the id, not the object: a chunk may travel from the reader process as a pickle
        row_number=row.number,
        raw=raw,
        raw_text=_storable(row.raw_text[:RAW_TEXT_LIMIT]),
        reason_code=code,
        reason=_storable(reason),
        reason_i18n=i18n,
        field=field,
        line=row.line,
        line_count=row.lines if row.line else 0,
    )


_JSON_TYPES = frozenset({str, int, float, bool, type(None), list, dict})


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        # Exact types: a set lookup is several times cheaper than isinstance over a union, per cell.
        out[key if key.__class__ is str else str(key)] = (
            value
            if value.__class__ in _JSON_TYPES or isinstance(value, str | int | float | list | dict)
            else str(value)
        )
    return out


@dataclass
class PreparedChunk:
    """One chunk of rows read and validated, not yet stored."""

    last_row: int  # the number of its last row: the checkpoint once it is stored
    items: list[Any]  # FeedbackInput / CustomerInput / OrderInput, in file order
    quarantined: list[QuarantinedRow]
    numbers: list[int]  # the row number of each item (to quarantine one the database refuses)


def prepare_chunk(
    batch: ImportBatch, rows: list[SourceRow], text_max_chars: int | None = None, vendor: str = ""
) -> PreparedChunk:
    """Validate one chunk in Python only (no database): it may run in the read-ahead thread. `vendor` (the
    database's) says how to preformat rows for storage."""
    quarantined: list[QuarantinedRow] = []
    prepared: list[Any] = []
    numbers: list[int] = []
    tz = batch.options.get("timezone") or settings.TIME_ZONE
    text_max_chars = text_max_chars or settings.FEEDBACK_TEXT_MAX_CHARS
    kind, mapping, channel, source = batch.kind, batch.mapping, batch.channel, batch.source
    vendor = vendor or connection.vendor
    for row in rows:
        if row.error_code:
            quarantined.append(
                _quarantine(
                    batch,
                    row,
                    row.error_code,
                    english(row.error, row.error_params),
                    stored(row.error, row.error_params),
                )
            )
            continue
        data = apply_mapping(row.values, mapping)
        raw_payload = _jsonable(row.values)
        try:
            if kind == ImportKind.FEEDBACK:
                item = prepare_feedback(data, channel=channel, source=source, default_tz=tz, raw_payload=raw_payload,
                                        text_max_chars=text_max_chars)  # fmt: skip
                preformat(item, vendor)  # here, not on the writer's critical path
                prepared.append(item)
            elif kind == ImportKind.CUSTOMERS:
                prepared.append(prepare_customer(data, raw_payload=raw_payload))
            else:
                prepared.append(prepare_order(data, default_tz=tz, raw_payload=raw_payload))
            numbers.append(row.number)
        except RowError as exc:
            column = mapping.get(exc.field, exc.field)
            quarantined.append(
                _quarantine(
                    batch, row, exc.code, f"Row {row.number}, column '{column}': {exc.message}", exc.stored, column
                )
            )
        except Exception as exc:  # noqa: BLE001 - one row that breaks validation must not end the whole file
            quarantined.append(_quarantine(batch, row, "unreadable_row", *_unexpected(row.number, exc)))
    return PreparedChunk(rows[-1].number, prepared, quarantined, numbers)


def _unexpected(number: int, exc: BaseException) -> tuple[str, StoredMessage]:
    template = gettext_noop("Row %(row)s could not be stored: %(error)s.")
    params = {"row": number, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return english(template, params), stored(template, params)


# What the database (or its driver) raises for one bad value: the row is quarantined, not the whole chunk. A
# lost connection, a full disk and the like are not here: they stop the batch, which resumes later.
ROW_ERRORS = (DataError, IntegrityError, psycopg.DataError, psycopg.IntegrityError, ValueError, TypeError)


def _store_items(batch: ImportBatch, items: list[Any]) -> tuple[int, int]:
    """Store validated items; returns (accepted, duplicates)."""
    if not items:
        return 0, 0
    if batch.kind == ImportKind.FEEDBACK:
        # Until a duplicate turns up, a file brings new feedback: no need to look each key up first.
        result = ingest_feedback(items, batch=batch, created_by_id=batch.created_by_id,
                                 expect_new=batch.duplicate_count == 0)  # fmt: skip
        return len(result.created), len(result.duplicates)
    if batch.kind == ImportKind.CUSTOMERS:
        upserted = upsert_customers(items, batch=batch)
    else:
        upserted = upsert_orders(items, batch=batch)
    return upserted.created + upserted.updated, 0


def _store_chunk(batch: ImportBatch, chunk: PreparedChunk) -> tuple[int, int, int]:
    """Store one validated chunk; returns (accepted, duplicates, rejected). If the database refuses the chunk
    because of some row in it, the chunk is stored in halves down to single rows, and only the rows it
    refuses are quarantined, with the database's reason: one row never fails a whole batch."""
    try:
        with transaction.atomic():  # a savepoint: a refused chunk leaves the transaction usable
            accepted, duplicates = _store_items(batch, chunk.items)
    except ROW_ERRORS:
        accepted, duplicates, refused = _store_apart(batch, chunk.items, chunk.numbers)
        chunk.quarantined.extend(_quarantine_refused(batch, refused))
    QuarantinedRow.objects.bulk_create(chunk.quarantined, ignore_conflicts=True)
    return accepted, duplicates, len(chunk.quarantined)


def _store_apart(batch: ImportBatch, items: list[Any], numbers: list[int]) -> tuple[int, int, dict[int, Exception]]:
    try:
        with transaction.atomic():
            accepted, duplicates = _store_items(batch, items)
        return accepted, duplicates, {}
    except ROW_ERRORS as exc:
        if len(items) == 1:
            return 0, 0, {numbers[0]: exc}
    half = len(items) // 2
    first = _store_apart(batch, items[:half], numbers[:half])
    second = _store_apart(batch, items[half:], numbers[half:])
    return first[0] + second[0], first[1] + second[1], {**first[2], **second[2]}


def _quarantine_refused(batch: ImportBatch, refused: dict[int, Exception]) -> list[QuarantinedRow]:
    """The rows the database refused, read again from the file (only the prepared values crossed over)."""
    if not refused:
        return []
    rows = {}
    source = iter_rows(Path(batch.file.path), batch.file_format, encoding=batch.encoding, start_after=min(refused) - 1)
    for row in source:
        if row.number in refused:
            rows[row.number] = row
        if row.number >= max(refused):
            break
    return [
        _quarantine(batch, rows.get(number, SourceRow(number)), "refused_by_database", *_unexpected(number, exc))
        for number, exc in sorted(refused.items())
    ]


_END = object()
# The writer waits on the database a few times per chunk and each time needs the GIL back from the read-ahead
# thread, which may keep it for a whole switch interval (5 ms by default). At 1 ms a 200,000-row import into
# PostgreSQL took 22.1 s instead of 31.5 s on two cores. Set while an import runs, then put back.
READ_AHEAD_SWITCH_INTERVAL = 0.001


def _read_ahead(batch: ImportBatch, source: Iterator[SourceRow], size: int) -> Generator[PreparedChunk, None, None]:
    """Chunks of `size` rows, read and validated in a background thread one chunk ahead of the caller.

    Reading and validating is pure Python; storing mostly waits on the database (which releases the GIL),
    so the two overlap and use both cores: the next chunk is ready when the previous commit returns.
    Nothing here touches the database, so the checkpoint guarantee is unchanged: only the caller stores and
    commits, chunk by chunk, in file order. An error in the thread is raised in the caller. Close the
    generator (contextlib.closing) to stop the thread when the caller stops early."""
    handoff: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()
    text_max_chars = settings.FEEDBACK_TEXT_MAX_CHARS
    vendor = connection.vendor

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            rows: list[SourceRow] = []
            for row in source:
                rows.append(row)
                if len(rows) >= size:
                    if not put(prepare_chunk(batch, rows, text_max_chars, vendor)):
                        return
                    rows = []
            if rows and not put(prepare_chunk(batch, rows, text_max_chars, vendor)):
                return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            put(exc)

    thread = threading.Thread(target=work, name=f"import-{batch.pk}-read-ahead", daemon=True)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, READ_AHEAD_SWITCH_INTERVAL))
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(switch_interval)


# Collections during an import: one per 100,000 new objects instead of per 700 (a chunk makes hundreds of
# thousands of short-lived ones that are never in a cycle).
IMPORT_GC_THRESHOLD = (100_000, 50, 1000)


@contextmanager
def garbage_collector_eased() -> Iterator[None]:
    """Keep the garbage collector from walking the same objects over and over during an import. The objects
    that existed before it (Django's own, the analysis models'...) are frozen: each full collection walked
    all of them again, several times per chunk, which was about a third of the writer's Python time.
    Collections also run less often (both together: the writer's Python went from 17-20 to 9 µs per row).
    Everything is handed back to the collector afterwards; nothing is lost, only not looked at meanwhile."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*IMPORT_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def chunk_rows() -> int:
    return CHUNK_ROWS_BY_VENDOR.get(connection.vendor, CHUNK_ROWS)


def _prepared_chunks(batch: ImportBatch) -> Generator[PreparedChunk, None, None]:
    """The batch's remaining rows, read and validated ahead of the writer: in a process of its own for a large
    feedback import into PostgreSQL (preparer.py), in a thread otherwise. Both give the same chunks. Customers
    and orders keep the thread: their inputs are not preformatted, so they would cross over whole."""
    size = chunk_rows()
    remaining = (batch.total_rows or 0) - batch.rows_processed
    large = remaining >= preparer.MIN_ROWS
    if batch.kind == ImportKind.FEEDBACK and connection.vendor in preparer.VENDORS and large:
        return preparer.prepared_chunks(
            preparer.params_for(batch, size, settings.FEEDBACK_TEXT_MAX_CHARS, connection.vendor)
        )
    source = iter_rows(
        Path(batch.file.path), batch.file_format, encoding=batch.encoding, start_after=batch.rows_processed
    )
    return _read_ahead(batch, source, size)


# How long a batch's lease lasts without a committed chunk renewing it. Matches stalled_batches' 10 minutes: a
# batch whose runner died elsewhere is taken over by the resumer once both have run out. On the runner's own
# host a dead runner's lease is taken over at once (_holder_is_gone).
LEASE_SECONDS = 600


def _new_lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


def _holder_is_gone(owner: str) -> bool:
    """The lease's holder was a process on this host that no longer exists (killed, crashed)."""
    host, _, pid_text = owner.rpartition(":")[0].rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this very process (another thread, or a run not finished): alive by definition
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # someone else's live process
    return False


def _update_when_unlocked(rows: Any, values: dict[str, Any], *, wait_s: float = 5.0) -> int:
    """``rows.update(**values)``, waiting while SQLite says the table is locked by another connection's write.
    A file database waits by itself (its busy timeout); a shared-cache database, such as the in-memory one,
    answers SQLITE_LOCKED at once instead, which here only means that the other runner is writing a chunk."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return rows.update(**values)
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def acquire_lease(batch_id: int) -> str:
    """Make this process the batch's only runner, or raise BatchBusy. One conditional UPDATE: on SQLite
    writers take turns and on PostgreSQL the second UPDATE re-checks the row after the first commits, so
    of two runners starting at once exactly one gets it."""
    owner = _new_lease_owner()
    now = timezone.now()
    lease = {"lease_owner": owner, "lease_expires_at": now + timedelta(seconds=LEASE_SECONDS)}
    free = Q(lease_owner="") | Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    if _update_when_unlocked(ImportBatch.objects.filter(free, pk=batch_id), lease):
        return owner
    holder = ImportBatch.objects.filter(pk=batch_id).values("lease_owner", "lease_expires_at", "rows_processed").first()
    if holder is None:
        raise ImportBatch.DoesNotExist(f"There is no import batch {batch_id}.")
    gone = _holder_is_gone(holder["lease_owner"])
    if gone and ImportBatch.objects.filter(pk=batch_id, lease_owner=holder["lease_owner"]).update(**lease):
        return owner
    raise BatchBusy(
        "batch_running",
        gettext_noop(
            "Import batch %(batch)s is already running in another process (%(owner)s), at row %(row)s. Nothing"
            " was done here. If that process has died, the batch can be resumed after %(until)s UTC."
        ),
        batch=batch_id,
        owner=holder["lease_owner"].rpartition(":")[0],
        row=holder["rows_processed"],
        until=f"{holder['lease_expires_at']:%Y-%m-%d %H:%M:%S}" if holder["lease_expires_at"] else "-",
    )


def release_lease(batch_id: int, owner: str) -> None:
    ImportBatch.objects.filter(pk=batch_id, lease_owner=owner).update(lease_owner="", lease_expires_at=None)


class LeaseLost(BatchBusy):
    """This runner stalled past its lease and another took the batch over: this one's last chunk is undone."""


def run_batch(batch_id: int, *, progress: Callable[[ImportBatch], None] | None = None) -> ImportBatch:
    """Import (or resume importing) a stored batch. Safe to call again on a finished or half-done batch.
    Only one process runs a batch at a time: another one gets BatchBusy and changes nothing."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
        return batch
    owner = acquire_lease(batch_id)
    try:
        batch = _run_leased(batch_id, owner, progress)
    finally:
        release_lease(batch_id, owner)
    batch.refresh_from_db(fields=["lease_owner", "lease_expires_at"])
    return batch


def _run_leased(batch_id: int, owner: str, progress: Callable[[ImportBatch], None] | None) -> ImportBatch:
    mine = ImportBatch.objects.filter(pk=batch_id, lease_owner=owner)
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.CANCELLED):
        return batch  # finished by the runner that held the lease just before us
    now = timezone.now()
    mine.update(
        status=BatchStatus.RUNNING,
        started_at=batch.started_at or now,
        heartbeat_at=now,
        error_message="",
        error_i18n={},
    )
    batch.refresh_from_db()
    batch.lease_owner = owner
    try:
        customers = (Customer, ["external_id", "phone", "email"])
        statistics = PlannerStatistics(
            [(Feedback, ["source", "external_id"]), customers]
            if batch.kind == ImportKind.FEEDBACK
            else [customers, (Order, ["external_id"])]
        )
        with garbage_collector_eased(), closing(_prepared_chunks(batch)) as chunks:
            for chunk in chunks:
                _commit_chunk(batch, chunk)
                statistics.added_rows(len(chunk.items))
                if progress:
                    progress(batch)
        mine.update(status=BatchStatus.COMPLETED, finished_at=timezone.now(), total_rows=F("rows_processed"))
    except LeaseLost:
        raise  # the batch is another runner's now: its state is not ours to write
    except FileFormatError as exc:
        mine.update(status=BatchStatus.FAILED, error_message=exc.message, error_i18n=exc.stored)
    except Exception as exc:
        mine.update(status=BatchStatus.FAILED, error_message=f"{type(exc).__name__}: {exc}")
        raise
    batch.refresh_from_db()
    if progress:
        progress(batch)
    return batch


def _commit_chunk(batch: ImportBatch, chunk: PreparedChunk) -> None:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Don't wait for this commit's WAL flush. Safe for the resume guarantee: the rows and their
            # checkpoint (rows_processed) are one transaction, and PostgreSQL never applies a transaction
            # partly, so a server crash can at worst forget the last few commits *as a whole* - rows and
            # checkpoint together - and a resume re-imports exactly those rows. A killed importer (the usual
            # crash) loses nothing: the server already has every commit. Only this transaction is affected.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        accepted, duplicates, rejected = _store_chunk(batch, chunk)
        now = timezone.now()
        # The checkpoint is written only while this runner holds the lease, and renews it: a runner that lost
        # it (it stalled, another took over) undoes this chunk instead of counting its rows a second time.
        counted = ImportBatch.objects.filter(pk=batch.pk, lease_owner=batch.lease_owner).update(
            rows_processed=chunk.last_row,
            accepted_count=F("accepted_count") + accepted,
            duplicate_count=F("duplicate_count") + duplicates,
            rejected_count=F("rejected_count") + rejected,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=LEASE_SECONDS),
        )
        if not counted:
            raise LeaseLost(
                "lease_lost",
                gettext_noop(
                    "Import batch %(batch)s was taken over by another process while this one was stalled;"
                    " this one stopped without counting its last rows twice."
                ),
                batch=batch.pk,
            )
    batch.refresh_from_db(
        fields=["rows_processed", "accepted_count", "duplicate_count", "rejected_count", "total_rows"]
    )


def file_lines(batch: ImportBatch, first: int, last: int) -> Iterator[bytes]:
    """The header line and physical lines `first`..`last` of a batch's CSV file, byte for byte as stored (same
    encoding, line breaks and undecodable bytes). Where the file is gone, the rows' stored text instead."""
    if not batch.file or not Path(batch.file.path).exists():
        for quarantined in batch.quarantined_rows.filter(line__gte=first, line__lte=last).order_by("line"):
            yield (quarantined.raw_text + "\n").encode("utf-8")
        return
    encoding = batch.encoding or "utf-8"
    encoder = codecs.getincrementalencoder(encoding)(errors="surrogateescape")  # one BOM, where it had one
    with Path(batch.file.path).open("r", encoding=encoding, errors="surrogateescape", newline="") as fh:
        number = 1  # the line the next piece belongs to
        while piece := fh.readline(1 << 20):
            if number == 1 or first <= number <= last:
                yield encoder.encode(piece)
            if piece.endswith(("\n", "\r")):
                number += 1
                if number > last:
                    return


def stalled_batches(minutes: int = 10) -> list[int]:
    cutoff = timezone.now() - timedelta(minutes=minutes)
    return list(
        ImportBatch.objects.filter(origin="file", status=BatchStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    ) + list(
        ImportBatch.objects.filter(origin="file", status=BatchStatus.PENDING, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )


def copy_upload_to_temp(uploaded: Any, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / Path(uploaded.name).name
    with target.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return target


def remove_temp(path: Path) -> None:
    shutil.rmtree(path.parent, ignore_errors=True)
