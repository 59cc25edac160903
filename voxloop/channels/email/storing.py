"""Storing email messages: each message becomes one Feedback (channel "email").

external_id is the Message-ID (a content hash when there is none), source is "email:<mailbox or file>",
the customer is found or created by the From address, and replies share a `thread_key`: the thread's
first Message-ID (from References / In-Reply-To), or, without those, the earlier message with the same
normalised subject from the same sender. A message that answers a case joins it (threading.py). Files
(files.py) and IMAP mailboxes (imap.py) both end here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from voxloop.channels.email.parsing import ParsedMail, message_from_bytes, normalize_subject, parse_message
from voxloop.channels.email.threading import join_replies
from voxloop.core.messages import StoredMessage, english, stored
from voxloop.feedback.ingest import FeedbackInput, ingest_feedback, prepare_feedback
from voxloop.feedback.models import Channel, Feedback, ImportBatch, QuarantinedRow
from voxloop.feedback.normalize import RowError

CHUNK = 200  # messages stored per transaction
RAW_TEXT_LIMIT = 100_000

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
            mails: list[ParsedMail] = []
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
                mails.append(mail)
            result = ingest_feedback(inputs, batch=batch, created_by_id=batch.created_by_id)
            duplicates = set(result.duplicates)
            fresh = [mail for position, mail in enumerate(mails) if position not in duplicates]
            join_replies(list(zip(fresh, result.created, strict=True)))
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
