"""IMAP mailboxes: new messages above each mailbox's UID checkpoint, stored through storing.ingest_messages."""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from voxloop.channels.email.models import Mailbox
from voxloop.channels.email.storing import MailImportError, ingest_messages
from voxloop.feedback.models import BatchStatus, Channel, ImportBatch, ImportKind

IMAP_TIMEOUT_S = 30
POLL_LEASE = timedelta(minutes=15)  # a poll holding the lease longer than this is presumed dead


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
