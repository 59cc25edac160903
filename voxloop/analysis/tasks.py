from celery import Task, shared_task

from voxloop.analysis import refine, services

# Seconds before a few items' task looks again while another worker gathers: the load benchmark's items were
# all analysed well within its 60 s with this, each retry costing one indexed lookup.
GATHER_RETRY_SECONDS = 0.5


@shared_task(bind=True, acks_late=True, max_retries=None)  # type: ignore[untyped-decorator]  # celery ships no types
def analyze_feedback_task(self: Task, feedback_ids: list[int]) -> int:
    """A batch's items are analysed as sent; a few single items (an API POST, a form) are gathered with the other
    single items waiting after them, one gathering run at a time (services.analyze_gathered)."""
    if len(feedback_ids) > services.COALESCE_MAX:
        return services.analyze_feedback(feedback_ids)
    done = services.analyze_gathered(feedback_ids)
    if done is None:
        if self.request.is_eager:  # run inline (tests, CELERY_TASK_ALWAYS_EAGER): no later to wait for
            return services.analyze_feedback(feedback_ids)
        raise self.retry(countdown=GATHER_RETRY_SECONDS)
    return done


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def analyze_pending_task() -> int:
    """Catch-up: items left 'pending' by a crash or a lost message are analysed here."""
    done = 0
    while ids := services.pending_feedback_ids():
        done += services.analyze_feedback(ids)
    return done


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def run_job_task(job_id: int) -> None:
    """A retrain or reanalyze started from the web page (see jobs.py); progress goes to its row."""
    # imported here: jobs imports this module
    from voxloop.analysis import jobs

    jobs.run_job(job_id)


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def find_emerging_topics_task(run_id: int) -> None:
    """An emerging-topics run started from the insights page (see emerging.py); progress goes to its row."""
    # imported here: emerging imports this module
    from voxloop.analysis import emerging

    emerging.execute_run(run_id)


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def adapt_fast_lane_task() -> None:
    """Periodic (settings.ADAPT_EVERY_HOURS): refit the fast lane on this installation's own unlabelled
    feedback, kept only if not worse (see jobs.run_adapt); its AnalysisJob row records what it did."""
    # imported here: jobs imports this module
    from voxloop.analysis import jobs

    jobs.adapt_periodically()


@shared_task  # type: ignore[untyped-decorator]  # celery ships no types
def refine_drain_task() -> int:
    """Periodic (REFINE_EVERY_SECONDS), on the refine queue: the refine lane re-judges one bounded batch of
    recently analysed items, least certain first (voxloop.analysis.refine); returns how many it judged."""

    return refine.drain().judged
