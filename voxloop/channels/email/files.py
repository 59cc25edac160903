"""Email files: an .eml or .mbox file becomes one import batch, stored through storing.ingest_messages."""

from __future__ import annotations

import hashlib
import mailbox as mailbox_lib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_noop

from voxloop.channels.email.storing import MailImportError, Progress, ingest_messages
from voxloop.core.messages import english, stored
from voxloop.feedback.models import BatchStatus, Channel, ImportBatch, ImportKind


def _iter_file_messages(path: Path, file_format: str) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    if file_format == "eml":
        yield 1, path.read_bytes(), {"file": path.name}
        return
    box = mailbox_lib.mbox(str(path), create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield number, box.get_bytes(key), {"file": path.name}
    finally:
        box.close()


def detect_mail_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".mbox":
        return "mbox"
    if suffix == ".eml":
        return "eml"
    with path.open("rb") as fh:
        head = fh.read(5)
    return "mbox" if head == b"From " else "eml"


def create_mail_batch(
    path: Path | str,
    *,
    created_by: Any = None,
    source: str = "",
    file_name: str = "",
    keep_file: str = "",
) -> ImportBatch:
    """Check an .eml or .mbox file and create its batch (PENDING); ``run_mail_batch`` then imports it.
    ``keep_file`` (a path under MEDIA_ROOT) is recorded so a background worker can read the file."""
    path = Path(path)
    if not path.is_file():
        raise MailImportError("missing_file", f"No such file: {path}")
    file_format = detect_mail_format(path)
    name = file_name or path.name
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    if file_format == "mbox":
        box = mailbox_lib.mbox(str(path), create=False)
        total = len(box)
        box.close()
    else:
        total = 1
    return ImportBatch.objects.create(
        kind=ImportKind.FEEDBACK,
        origin="email",
        source=(source or f"email:{name}")[:100],
        channel=Channel.EMAIL,
        file=keep_file,
        file_name=name[:255],
        file_size=path.stat().st_size,
        file_sha256=digest.hexdigest(),
        file_format=file_format,
        total_rows=total,
        status=BatchStatus.PENDING,
        created_by=created_by if getattr(created_by, "pk", None) else None,
    )


def run_mail_batch(batch: ImportBatch, path: Path | str, *, progress: Progress | None = None) -> ImportBatch:
    """Import the messages of a batch's file. Each chunk commits with ``rows_processed``, so a run after a
    crash starts where the last one stopped (and deduplication covers the chunk in flight)."""
    if batch.status == BatchStatus.COMPLETED:
        return batch
    path = Path(path)
    batch.status = BatchStatus.RUNNING
    batch.started_at = batch.started_at or timezone.now()
    batch.save(update_fields=["status", "started_at", "updated_at"])
    done = batch.rows_processed
    messages = ((n, raw, extra) for n, raw, extra in _iter_file_messages(path, batch.file_format) if n > done)
    try:
        ingest_messages(batch, messages, source=batch.source, progress=progress)
    except Exception as exc:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED, error_message=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    batch.status = BatchStatus.COMPLETED
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "finished_at", "updated_at"])
    return batch


_FILE_GONE = gettext_noop("The uploaded file is gone.")


def run_stored_mail_batch(batch_id: int) -> ImportBatch | None:
    """Import an uploaded file kept under MEDIA_ROOT (the background task); the file is removed when done."""
    batch = ImportBatch.objects.filter(pk=batch_id, origin="email").first()
    if batch is None or batch.status == BatchStatus.COMPLETED or not batch.file:
        return batch
    path = Path(batch.file.path)
    if not path.is_file():
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=BatchStatus.FAILED,
            error_message=english(_FILE_GONE),
            error_i18n=stored(_FILE_GONE),
            finished_at=timezone.now(),
        )
        return batch
    run_mail_batch(batch, path)
    path.unlink(missing_ok=True)
    return batch


def stalled_mail_batches(minutes: int = 10) -> list[int]:
    """Uploaded mail files whose import stopped (worker killed) or never started: to be queued again."""
    cutoff = timezone.now() - timedelta(minutes=minutes)
    stored = ImportBatch.objects.filter(origin="email").exclude(file="")
    running = stored.filter(status=BatchStatus.RUNNING, heartbeat_at__lt=cutoff)
    waiting = stored.filter(status=BatchStatus.PENDING, created_at__lt=cutoff)
    return sorted(set(running.values_list("pk", flat=True)) | set(waiting.values_list("pk", flat=True)))


def import_mail_file(
    path: Path | str,
    *,
    created_by: Any = None,
    source: str = "",
    file_name: str = "",
    progress: Progress | None = None,
) -> ImportBatch:
    """Import one .eml or .mbox file now; the batch holds the counts and the unreadable messages."""
    batch = create_mail_batch(path, created_by=created_by, source=source, file_name=file_name)
    return run_mail_batch(batch, path, progress=progress)
