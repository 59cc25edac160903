"""Celery tasks for email: thin, id-based and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from voxloop.channels.email import files, imap


@shared_task(acks_late=True)
def poll_mailbox_task(mailbox_id: int) -> int:
    """Poll one mailbox; returns how many messages were stored (0 if another poll holds the mailbox)."""
    batch = imap.poll_mailbox(mailbox_id)
    return batch.accepted_count if batch else 0


@shared_task
def poll_all_mailboxes_task() -> int:
    """Beat entry point: one poll task per enabled mailbox."""
    ids = imap.poll_all_mailboxes()
    for mailbox_id in ids:
        poll_mailbox_task.delay(mailbox_id)
    return len(ids)


@shared_task(acks_late=True)
def import_mail_file_task(batch_id: int) -> int:
    """Import an uploaded .eml/.mbox file in the background; a re-run resumes after the last committed chunk."""
    batch = files.run_stored_mail_batch(batch_id)
    return batch.accepted_count if batch else 0


@shared_task
def resume_stalled_mail_imports_task() -> int:
    """Beat entry point: queue uploaded mail files whose import a dead worker left unfinished."""
    ids = files.stalled_mail_batches()
    for batch_id in ids:
        import_mail_file_task.delay(batch_id)
    return len(ids)
