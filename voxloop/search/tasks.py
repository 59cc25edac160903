from celery import shared_task

from voxloop.search import services


@shared_task(acks_late=True)  # type: ignore[untyped-decorator]  # celery ships no types
def index_feedback_task(feedback_ids: list[int]) -> int:
    return services.index_feedback(feedback_ids)
