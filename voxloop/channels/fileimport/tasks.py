import logging

from celery import shared_task

from voxloop.channels.fileimport import services

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def run_import_task(batch_id: int) -> str:
    try:
        return services.run_batch(batch_id).status
    except services.BatchBusy as exc:
        # A redelivered task, or the stalled-import resumer, found the batch running elsewhere: nothing to do.
        logger.info("%s", exc.message)
        return "busy"


@shared_task
def resume_stalled_imports_task() -> int:
    """Imports whose worker died (no heartbeat for 10 minutes) continue from their checkpoint."""
    ids = services.stalled_batches()
    for batch_id in ids:
        run_import_task.delay(batch_id)
    return len(ids)
