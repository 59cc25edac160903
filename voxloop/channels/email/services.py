"""Email in: .eml/.mbox files and IMAP mailboxes, each message becoming one Feedback (channel "email").

external_id is the Message-ID (a content hash when there is none), source is "email:<mailbox or file>",
the customer is found or created by the From address, and replies share a `thread_key`: the thread's
first Message-ID (from References / In-Reply-To), or, without those, the earlier message with the same
normalised subject from the same sender.
"""

from __future__ import annotations

import base64
import hashlib
import imaplib
import mailbox as mailbox_lib
import re
import ssl
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from voxloop.channels.email.models import Mailbox
from voxloop.channels.email.parsing import ParsedMail, message_from_bytes, normalize_subject, parse_message
from voxloop.core.messages import StoredMessage, english, stored
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback, prepare_feedback
from voxloop.feedback.models import BatchStatus, Channel, Feedback, ImportBatch, ImportKind, QuarantinedRow
from voxloop.feedback.normalize import RowError

CHUNK = 200  # messages stored per transaction
RAW_TEXT_LIMIT = 100_000
IMAP_TIMEOUT_S = 30
POLL_LEASE = timedelta(minutes=15)  # a poll holding the lease longer than this is presumed dead

Progress = Callable[[ImportBatch], None]


class MailImportError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- storing parsed messages


def _store_attachments(mail: ParsedMail) -> list[dict[str, Any]]:
    """Attachment bytes go to MEDIA_ROOT/attachments/<sha256>/<name>; the feedback keeps a reference."""
    refs = []
    for attachment in mail.attachments:
        digest = attachment.sha256
        safe_name = re.sub(r"[^\w.\-]+", "_", attachment.name, flags=re.UNICODE).strip("._")[:120] or "file"
        relative = f"attachments/{digest[:2]}/{digest}/{safe_name}"
        target = Path(settings.MEDIA_ROOT) / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(attachment.data)
        refs.append(
            {
                "name": attachment.name,
                "content_type": attachment.content_type,
                "size": len(attachment.data),
                "sha256": digest,
                "path": relative,
                "url": f"{settings.MEDIA_URL}{relative}",
            }
        )
    return refs


class _Threads:
    """Finds the thread of each message: among messages stored earlier and those of this import."""

    def __init__(self) -> None:
        self.by_message_id: dict[str, str] = {}
        self.by_subject: dict[tuple[str, str], str] = {}

    def preload(self, mails: list[ParsedMail]) -> None:
        wanted = {ref for m in mails for ref in [m.in_reply_to, *m.references] if ref} - set(self.by_message_id)
        if wanted:
            for ext, key in Feedback.objects.filter(channel=Channel.EMAIL, external_id__in=wanted).values_list(
                "external_id", "thread_key"
            ):
                self.by_message_id.setdefault(ext, key or ext)
        senders = {m.from_email for m in mails if m.from_email and not (m.in_reply_to or m.references)}
        senders -= {s for s, _ in self.by_subject}
        if senders:
            # Through the customer (indexed by email), not contact_email, which has no index.
            rows = (
                Feedback.objects.filter(channel=Channel.EMAIL, customer__email__in=senders)
                .order_by("received_at")
                .values_list("customer__email", "title", "thread_key")
            )
            for sender, title, key in rows.iterator():
                if key:
                    self.by_subject.setdefault((sender, normalize_subject(title)), key)

    def key_for(self, mail: ParsedMail, own_key: str) -> str:
        key = ""
        if mail.in_reply_to and mail.in_reply_to in self.by_message_id:
            key = self.by_message_id[mail.in_reply_to]
        elif mail.references:
            key = next((self.by_message_id[r] for r in mail.references if r in self.by_message_id), mail.references[0])
        elif mail.in_reply_to:
            key = mail.in_reply_to
        subject_key = (mail.from_email, normalize_subject(mail.subject))
        if not key and mail.from_email and subject_key[1]:
            key = self.by_subject.get(subject_key, "")
        key = (key or own_key)[:200]
        if mail.message_id:
            self.by_message_id.setdefault(mail.message_id, key)
        if mail.from_email and subject_key[1]:
            self.by_subject.setdefault(subject_key, key)
        return key


def _without_nul(value: Any) -> Any:
    """PostgreSQL stores NUL characters neither in text nor in jsonb; broken mail does contain them."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _raw_payload(mail: ParsedMail, extra: dict[str, Any]) -> dict[str, Any]:
    return _without_nul(
        {
            "message_id": mail.message_id,
            "from": f"{mail.from_name} <{mail.from_email}>".strip(),
            "to": mail.to,
            "cc": mail.cc,
            "subject": mail.subject,
            "date": mail.date.isoformat() if mail.date else None,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "body_text": mail.body_text,  # the full body, quotes included
            "body_html": mail.body_html[:RAW_TEXT_LIMIT],
            **extra,
        }
    )


def _to_input(mail: ParsedMail, raw: bytes, source: str, extra: dict[str, Any]) -> FeedbackInput:
    text = mail.text or mail.subject  # a message with only a subject still says something
    if not text and mail.attachments:
        text = ", ".join(a.name for a in mail.attachments)
    data = {
        "text": text,
        "title": mail.subject,
        "received_at": mail.date,
        # Without a Message-ID, the message's own bytes identify it, so importing it again finds it.
        "external_id": mail.message_id or f"sha256:{hashlib.sha256(raw).hexdigest()[:40]}",
        "email": mail.from_email,
        "customer_name": mail.from_name,
    }
    data = _without_nul(data)
    try:
        return prepare_feedback(data, channel=Channel.EMAIL, source=source, raw_payload=_raw_payload(mail, extra))
    except RowError as exc:
        if exc.field == "email":  # a strange From address: keep the message, anonymously, with the address raw
            data["email"] = ""
            return prepare_feedback(data, channel=Channel.EMAIL, source=source, raw_payload=_raw_payload(mail, extra))
        raise


def _quarantine(
    batch: ImportBatch, row_number: int, raw: bytes, code: str, message: StoredMessage, field: str = ""
) -> None:
    QuarantinedRow.objects.update_or_create(
        batch=batch,
        row_number=row_number,
        defaults={
            "raw_text": raw[:RAW_TEXT_LIMIT].decode("utf-8", errors="replace").replace("\x00", ""),
            "reason_code": code,
            "reason": english(message["template"], message["params"]),
            "reason_i18n": message,
            "field": field,
        },
    )


def ingest_messages(
    batch: ImportBatch,
    messages: Iterable[tuple[int, bytes, dict[str, Any]]],
    *,
    source: str,
    progress: Progress | None = None,
    after_chunk: Callable[[list[dict[str, Any]]], None] | None = None,
) -> ImportBatch:
    """Store (row number, raw message bytes, extra raw-payload fields) in chunks, counting every message
    on the batch: accepted, duplicate, or quarantined with its reason. `after_chunk` runs inside each
    chunk's transaction (the IMAP poller advances its checkpoint there)."""
    threads = _Threads()
    chunk: list[tuple[int, bytes, dict[str, Any]]] = []

    def flush() -> None:
        parsed: list[tuple[int, bytes, ParsedMail, dict[str, Any]]] = []
        with transaction.atomic():
            for row_number, raw, extra in chunk:
                try:
                    parsed.append((row_number, raw, parse_message(message_from_bytes(raw)), extra))
                except Exception as exc:  # noqa: BLE001 - a message we cannot read is quarantined, never lost
                    _quarantine(
                        batch,
                        row_number,
                        raw,
                        "unreadable_message",
                        stored(gettext_noop("The message cannot be read: %(error)s"), {"error": exc}),
                    )
                    batch.rejected_count += 1
            threads.preload([p[2] for p in parsed])
            inputs: list[FeedbackInput] = []
            for row_number, raw, mail, extra in parsed:
                try:
                    item = _to_input(mail, raw, source, extra)
                except RowError as exc:
                    _quarantine(batch, row_number, raw, exc.code, exc.stored, exc.field)
                    batch.rejected_count += 1
                    continue
                item.attachments = _store_attachments(mail)
                item.thread_key = threads.key_for(mail, item.external_id)
                inputs.append(item)
            result = ingest_feedback(inputs, batch=batch, created_by_id=batch.created_by_id)
            batch.accepted_count += len(result.created)
            batch.duplicate_count += len(result.duplicates)
            batch.rows_processed += len(chunk)
            batch.heartbeat_at = timezone.now()
            batch.save(
                update_fields=[
                    "accepted_count", "duplicate_count", "rejected_count", "rows_processed", "heartbeat_at",
                    "updated_at",
                ]
            )  # fmt: skip
            if after_chunk:
                after_chunk([extra for _, _, extra in chunk])
        chunk.clear()
        if progress:
            progress(batch)

    for message in messages:
        chunk.append(message)
        if len(chunk) >= CHUNK:
            flush()
    if chunk:
        flush()
    return batch


# --- files


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


# --- IMAP


def _connect(box: Mailbox) -> imaplib.IMAP4:
    if box.use_ssl:
        return imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(), timeout=IMAP_TIMEOUT_S)
    return imaplib.IMAP4(box.host, box.port, timeout=IMAP_TIMEOUT_S)


def _check(status: str, data: Any, what: str) -> Any:
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise MailImportError("imap_error", f"{what} failed: {detail}")
    return data


def imap_utf7(name: str) -> str:
    """A folder name in IMAP's modified UTF-7 (RFC 3501 5.1.3), e.g. 收件箱 -> &NjZO9k7i-. ASCII names,
    including ones already written in that form, are sent as typed."""
    if name.isascii():
        return name
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).rstrip(b"=").replace(b"/", b",")
            out.append("&" + encoded.decode() + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _quote_folder(folder: str) -> str:
    folder = imap_utf7(folder)
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _acquire(mailbox_id: int) -> bool:
    now = timezone.now()
    return bool(
        Mailbox.objects.filter(pk=mailbox_id, enabled=True)
        .filter(Q(polling_since__isnull=True) | Q(polling_since__lt=now - POLL_LEASE))
        .update(polling_since=now)
    )


def poll_mailbox(mailbox_id: int, *, fetch_chunk: int = 50) -> ImportBatch | None:
    """Fetch the messages with UIDs above the mailbox's checkpoint and store them.

    Safe to run twice at once: the second run finds the lease taken and returns None. The checkpoint
    (last_uid) moves forward in the same transaction as the stored messages, so a crash repeats at
    most one chunk, and (source, Message-ID) makes that repeat harmless."""
    if not _acquire(mailbox_id):
        return None
    box = Mailbox.objects.get(pk=mailbox_id)
    batch: ImportBatch | None = None
    try:
        conn = _connect(box)
        try:
            _check(*conn.login(box.username, box.get_password()), "Login")
            _check(*conn.select(_quote_folder(box.folder), readonly=True), f"Opening folder {box.folder}")
            validity_data = conn.response("UIDVALIDITY")[1]
            validity = int(validity_data[0]) if validity_data and validity_data[0] else None
            if validity is not None and box.uidvalidity is not None and validity != box.uidvalidity:
                box.last_uid = 0  # the folder was renumbered: read it again; Message-IDs prevent doubles
            box.uidvalidity = validity
            Mailbox.objects.filter(pk=box.pk).update(uidvalidity=validity, last_uid=box.last_uid)
            search = conn.uid("SEARCH", None, "UID", f"{box.last_uid + 1}:*")  # type: ignore[arg-type]  # no charset
            data = _check(*search, "Searching for new mail")
            # "N:*" always matches the newest message, even when its UID is below N: filter again.
            uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > box.last_uid)
            if uids:
                batch = ImportBatch.objects.create(
                    kind=ImportKind.FEEDBACK,
                    origin="imap",
                    source=box.source,
                    channel=Channel.EMAIL,
                    file_name=f"{box.username}@{box.host}/{box.folder}"[:255],
                    status=BatchStatus.RUNNING,
                    started_at=timezone.now(),
                    total_rows=len(uids),
                    options={"mailbox_id": box.pk, "uids": [uids[0], uids[-1]]},
                )

                def advance(extras: list[dict[str, Any]]) -> None:
                    top = max(e["imap_uid"] for e in extras)
                    Mailbox.objects.filter(pk=box.pk, last_uid__lt=top).update(last_uid=top)

                ingest_messages(batch, _fetch(conn, uids, fetch_chunk, box), source=box.source, after_chunk=advance)
                batch.status = BatchStatus.COMPLETED
                batch.finished_at = timezone.now()
                batch.save(update_fields=["status", "finished_at", "updated_at"])
        finally:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                pass
        Mailbox.objects.filter(pk=box.pk).update(last_polled_at=timezone.now(), last_error="", polling_since=None)
    except (TimeoutError, imaplib.IMAP4.error, OSError, ssl.SSLError, MailImportError, ValueError) as exc:
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        Mailbox.objects.filter(pk=box.pk).update(
            last_polled_at=timezone.now(), last_error=message[:2000], polling_since=None
        )
        if batch is not None:
            ImportBatch.objects.filter(pk=batch.pk).update(
                status=BatchStatus.FAILED, error_message=message[:2000], finished_at=timezone.now()
            )
    except BaseException:
        Mailbox.objects.filter(pk=box.pk).update(polling_since=None)
        raise
    return batch


def _fetch(
    conn: imaplib.IMAP4, uids: list[int], size: int, box: Mailbox
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    for start in range(0, len(uids), size):
        wanted = uids[start : start + size]
        data = _check(*conn.uid("FETCH", ",".join(map(str, wanted)), "(UID BODY.PEEK[])"), "Fetching messages")
        got: dict[int, bytes] = {}
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                match = re.search(rb"UID (\d+)", item[0])
                if match:
                    got[int(match.group(1))] = item[1]
        for uid in wanted:
            if uid in got:  # a message deleted between SEARCH and FETCH is simply gone
                yield uid, got[uid], {"imap_uid": uid, "mailbox": box.name, "folder": box.folder}


def poll_all_mailboxes() -> list[int]:
    """Ids of the enabled mailboxes (each is polled by its own task)."""
    return list(Mailbox.objects.filter(enabled=True).values_list("pk", flat=True))


def mailbox_error_count() -> int:
    return Mailbox.objects.filter(enabled=True).exclude(last_error="").count()


__all__ = [
    "MailImportError",
    "import_mail_file",
    "ingest_messages",
    "poll_all_mailboxes",
    "poll_mailbox",
]
