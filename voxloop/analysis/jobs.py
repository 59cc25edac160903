"""`retrain` and `reanalyze` as services with progress: one code path for the command line (a tqdm bar)
and for the web page (a background job whose row the page polls).

A job runs in a Celery task; `run_job` records every step on the `AnalysisJob` row, and any error as
the job's error message, so the page always ends in "done" or "failed" with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from voxloop.analysis import services
from voxloop.analysis.model_switch import ensure_active_model, models_dir, switch_to
from voxloop.analysis.models import AnalysisJob
from voxloop.analysis.tasks import run_job_task
from voxloop.feedback.models import AnalysisStatus, Feedback
from voxloop_nlp import adapt, models_store
from voxloop_nlp.training import retrain

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
# A job whose row has not moved for this long is taken as lost (its worker died): it no longer blocks
# a new one. Training one model takes minutes, so this is far above any real step.
STALE_AFTER = timedelta(hours=2)
MAX_LIMIT_PER_DATASET = 100_000


class JobError(ValueError):
    pass


def _noop(step: str, done: int, total: int) -> None:
    return None


@dataclass
class RetrainOutcome:
    report: Any  # voxloop_nlp.training.RetrainReport
    switched: bool
    dry_run: bool

    def as_dict(self) -> dict[str, Any]:
        r = self.report
        rows = [
            {
                "name": name,
                "old": r.old_metrics.get(name, {}).get("accuracy"),
                "new": metrics.get("accuracy"),
                "n": metrics.get("n"),
            }
            for name, metrics in sorted(r.new_metrics.items())
        ]
        return {
            "summary": r.summary(),
            "old_version": r.old_version,
            "new_version": r.new_version,
            "old_accuracy": r.old_accuracy,
            "new_accuracy": r.new_accuracy,
            "not_worse": r.not_worse,
            "switched": self.switched,
            "dry_run": self.dry_run,
            "corrections_used": r.corrections_used,
            "corrections_held_out": r.corrections_held_out,
            "datasets": rows,
            "notes": list(r.notes),
        }


def run_retrain(
    *,
    dry_run: bool = False,
    data_dir: str | None = None,
    limit_per_dataset: int | None = None,
    progress: Progress = _noop,
) -> RetrainOutcome:
    """Train with the stored corrections; switch the product to the new model only if it is not worse
    (and this is not a dry run). Raises `voxloop_nlp.training.RetrainError` for bad data or input."""

    ensure_active_model()
    corrections = services.training_corrections("sentiment")
    topic_examples = [(text, codes) for text, codes in services.training_corrections("topics") if codes]
    version = models_store.next_version()
    out = Path(models_dir()) / version
    report = retrain(
        corrections,
        data_dir=data_dir or None,
        out_dir=out,
        base_dir=models_store.active().directory,
        topic_examples=topic_examples,
        taxonomy=services.current_taxonomy(),
        limit_per_dataset=limit_per_dataset,
        version=version,
        progress=progress,
    )
    switched = bool(report.not_worse and not dry_run)
    if switched:
        switch_to(out)
    return RetrainOutcome(report=report, switched=switched, dry_run=dry_run)


def reanalyze_ids(*, all_items: bool = False) -> tuple[list[int], str]:
    """Ids to re-analyse (those from another model version, or all) and the version now in use."""
    version = ensure_active_model()
    items = Feedback.objects.all()
    if not all_items:
        items = items.exclude(model_version=version)
    return list(items.order_by("id").values_list("id", flat=True)), version


def mark_pending(ids: list[int]) -> None:
    # Marking them pending first means a crash part-way leaves them to the catch-up task.
    for start in range(0, len(ids), 5000):
        Feedback.objects.filter(pk__in=ids[start : start + 5000]).update(analysis_status=AnalysisStatus.PENDING)


def run_reanalyze(*, all_items: bool = False, progress: Progress = _noop) -> dict[str, Any]:
    """Re-analyse stored feedback in this process, chunk by chunk, reporting items done."""
    ids, version = reanalyze_ids(all_items=all_items)
    mark_pending(ids)
    progress("reanalyze", 0, len(ids))
    done = 0
    for start in range(0, len(ids), services.ANALYSIS_CHUNK):
        chunk = ids[start : start + services.ANALYSIS_CHUNK]
        services.analyze_feedback(chunk)
        done += len(chunk)
        progress("reanalyze", done, len(ids))
    return {"count": done, "version": version}


def run_adapt(*, days: int | None = None, max_items: int | None = None, progress: Progress = _noop) -> dict[str, Any]:
    """Refit the fast lane on this installation's own recent feedback, unlabelled (self-training,
    `voxloop_nlp.adapt`), and switch to it only if it is not worse by more than 0.5 point on any shipped
    evaluation set nor on the people's sentiment corrections (held out: the adaptation never sees their
    labels). The adapted model is written under the data folder like a retrained one."""

    days = days or settings.ADAPT_DAYS
    max_items = max_items or settings.ADAPT_MAX_ITEMS
    ensure_active_model()
    base = models_store.active()
    progress("load", 0, 3)
    since = timezone.now() - timedelta(days=days)
    rows = (
        Feedback.objects.filter(received_at__gte=since)
        .order_by("-received_at")
        .values_list("channel", "title", "text")[:max_items]
    )
    texts = [services.customer_words(channel, title, text) for channel, title, text in rows]
    progress("train", 1, 3)
    report = adapt.adapt(
        texts, base=base, corrections=services.training_corrections("sentiment"), version=models_store.next_version()
    )
    progress("save", 2, 3)
    result: dict[str, Any] = {
        "summary": report.summary(),
        "old_version": base.version,
        "texts": report.texts,
        "used": report.used,
        "positives": report.positives,
        "negatives": report.negatives,
        "switched": report.adapted,
        "reason": report.reason,
        "worse": report.worse,
        "datasets": [
            {"name": name, "old": report.old_metrics.get(name, {}).get("accuracy"), "new": m.get("accuracy"),
             "n": m.get("n")}
            for name, m in sorted(report.new_metrics.items())
        ],
    }  # fmt: skip
    if report.model is not None:
        out = adapt.save(base, report.model, Path(models_dir()) / report.model.version)
        switch_to(out)
        result["new_version"] = report.model.version
    progress("done", 3, 3)
    return result


def adapt_periodically() -> AnalysisJob | None:
    """The beat's entry: an `adapt` job unless another analysis job is running (then the next period will do);
    run here, in the bulk worker that received the beat's message."""
    with transaction.atomic():
        if active_job() is not None:
            return None
        job = AnalysisJob.objects.create(kind=AnalysisJob.Kind.ADAPT, options={})
    run_job(job.pk)
    job.refresh_from_db()
    return job


# --- background jobs for the web page ---------------------------------------------------------------


def active_job() -> AnalysisJob | None:
    """The queued or running job, if any (lost ones, silent for STALE_AFTER, do not count)."""
    cutoff = timezone.now() - STALE_AFTER
    return (
        AnalysisJob.objects.filter(status__in=[AnalysisJob.Status.QUEUED, AnalysisJob.Status.RUNNING])
        .filter(updated_at__gte=cutoff)
        .first()
    )


def start_job(kind: str, *, user: Any, options: dict[str, Any] | None = None) -> AnalysisJob:
    """Queue a retrain or reanalyze job. One job at a time: both load models and write stored results."""
    if kind not in AnalysisJob.Kind.values:
        raise JobError(f"Unknown job kind '{kind}'.")
    options = _clean_options(kind, options or {})
    with transaction.atomic():
        running = active_job()
        if running is not None:
            raise JobError(f"Job #{running.pk} ({running.get_kind_display()}) is still running; wait for it to finish.")
        job = AnalysisJob.objects.create(kind=kind, options=options, created_by=user)
    transaction.on_commit(lambda: run_job_task.delay(job.pk))
    return job


def _clean_options(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    if kind == AnalysisJob.Kind.REANALYZE:
        return {"all": bool(options.get("all"))}
    if kind == AnalysisJob.Kind.ADAPT:
        return {}
    limit = options.get("limit_per_dataset")
    if limit in (None, ""):
        limit = None
    else:
        try:
            limit = int(limit)
        except (TypeError, ValueError):
            raise JobError(f"Sample size must be a whole number, not '{limit}'.") from None
        if not 1 <= limit <= MAX_LIMIT_PER_DATASET:
            raise JobError(f"Sample size must be between 1 and {MAX_LIMIT_PER_DATASET:,}.")
    return {"dry_run": bool(options.get("dry_run")), "limit_per_dataset": limit}


def run_job(job_id: int) -> None:
    """Run a queued job (the Celery task's body). Idempotent: a job already finished is left alone."""
    job = AnalysisJob.objects.filter(pk=job_id).first()
    if job is None or not job.is_active:
        return
    job.status = AnalysisJob.Status.RUNNING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at", "updated_at"])

    def progress(step: str, done: int, total: int) -> None:
        AnalysisJob.objects.filter(pk=job.pk).update(step=step, done=done, total=total, updated_at=timezone.now())

    try:
        if job.kind == AnalysisJob.Kind.RETRAIN:
            outcome = run_retrain(
                dry_run=bool(job.options.get("dry_run")),
                limit_per_dataset=job.options.get("limit_per_dataset"),
                progress=progress,
            )
            result = outcome.as_dict()
        elif job.kind == AnalysisJob.Kind.ADAPT:
            result = run_adapt(progress=progress)
        else:
            result = run_reanalyze(all_items=bool(job.options.get("all")), progress=progress)
    except Exception as exc:  # noqa: BLE001 - any failure must end the job with its reason shown
        log.exception("analysis job %s (%s) failed", job.pk, job.kind)
        AnalysisJob.objects.filter(pk=job.pk).update(
            status=AnalysisJob.Status.FAILED,
            error=str(exc) or type(exc).__name__,
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return
    AnalysisJob.objects.filter(pk=job.pk).update(
        status=AnalysisJob.Status.DONE, result=result, finished_at=timezone.now(), updated_at=timezone.now()
    )
