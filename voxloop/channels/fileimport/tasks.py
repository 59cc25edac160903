from celery import shared_task

from voxloop.channels.fileimport import services


@shared_task(acks_late=True)
def run_import_task(batch_id: int) -> str:
    return services.run_batch(batch_id).status


@shared_task
def resume_stalled_imports_task() -> int:
    """Imports whose worker died (no heartbeat for 10 minutes) continue from their checkpoint."""
    ids = services.stalled_batches()
    for batch_id in ids:
        run_import_task.delay(batch_id)
    return len(ids)
