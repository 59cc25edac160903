from celery import shared_task

from voxloop.analysis import refine, services


@shared_task(acks_late=True)  # type: ignore[untyped-decorator]  # celery ships no types
def analyze_feedback_task(feedback_ids: list[int]) -> int:
    return services.analyze_feedback(feedback_ids)


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
