"""Emerging topics: cluster the feedback the taxonomy covers poorly, and turn a cluster into a topic.

One code path for the command line (`voxloop find_emerging_topics`, a tqdm bar) and the web page (a Celery
task whose `EmergingRun` row the page polls):

1. select: analysed feedback received in the window (default the last 90 days), newest first, at most
   ``max_items`` (50,000), that has no topic with confidence >= ``threshold`` (a person's topic correction
   has confidence 1.0, so corrected items count as covered);
2. cluster with ``voxloop_nlp.clustering.cluster_texts`` on the PII-masked texts, with growth = the
   cluster's share of the last third of the window against its share before;
3. store every cluster (size, growth, keywords, examples, member ids).

Adopting a cluster creates a `Topic` from a form an admin checked; the analysis reads the taxonomy from the
database on every batch (services.current_taxonomy), so new feedback gets the topic at once, and the
cluster's own items can be re-analysed in the background.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from voxloop.analysis.jobs import mark_pending
from voxloop.analysis.models import EmergingCluster, EmergingRun, FeedbackTopic, Topic
from voxloop.analysis.services import ANALYSIS_CHUNK, customer_words, seed_default_taxonomy
from voxloop.analysis.tasks import analyze_feedback_task, find_emerging_topics_task
from voxloop.feedback.models import AnalysisStatus, Feedback
from voxloop_nlp import clustering

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]

DEFAULT_DAYS = 90
MAX_DAYS = 730
DEFAULT_THRESHOLD = 0.6  # one matching taxonomy phrase gives 0.7, so only weak classifier guesses fall below
DEFAULT_MAX_ITEMS = 50_000
MIN_ITEMS = 10  # fewer uncovered items than this make no clusters worth naming
STALE_AFTER = timedelta(hours=2)  # a run silent this long lost its worker: it no longer blocks a new one
LOAD_CHUNK = 5_000
EXAMPLE_CHARS = 300


class EmergingError(ValueError):
    pass


def _noop(step: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class Uncovered:
    ids: list[int]
    texts: list[str]
    received: list[datetime]


def uncovered_feedback(
    since: datetime, until: datetime, *, threshold: float = DEFAULT_THRESHOLD, limit: int = DEFAULT_MAX_ITEMS
) -> Uncovered:
    """Analysed items received in [since, until) with no topic of confidence >= threshold, newest first."""
    covered = FeedbackTopic.objects.filter(feedback=OuterRef("pk"), confidence__gte=threshold)
    rows = (
        Feedback.objects.filter(received_at__gte=since, received_at__lt=until, analysis_status=AnalysisStatus.DONE)
        .filter(~Exists(covered))
        .order_by("-received_at", "-id")
        .values_list("id", "received_at", "channel", "title", "text", "analysis__masked_text")[:limit]
    )
    ids, texts, received = [], [], []
    for pk, received_at, channel, title, text, masked in rows.iterator(chunk_size=LOAD_CHUNK):
        # the masked text (of what the analysis read) keeps phone numbers and e-mails out of keywords and examples
        ids.append(pk)
        texts.append(masked or customer_words(channel, title, text))
        received.append(received_at)
    return Uncovered(ids, texts, received)


# --- runs ------------------------------------------------------------------------------------------------


def active_run() -> EmergingRun | None:
    cutoff = timezone.now() - STALE_AFTER
    return (
        EmergingRun.objects.filter(status__in=[EmergingRun.Status.QUEUED, EmergingRun.Status.RUNNING])
        .filter(updated_at__gte=cutoff)
        .first()
    )


def latest_finished_run() -> EmergingRun | None:
    return EmergingRun.objects.filter(status=EmergingRun.Status.DONE).order_by("-finished_at", "-id").first()


def _checked(days: int, threshold: float, max_items: int) -> tuple[int, float, int]:
    if not 1 <= days <= MAX_DAYS:
        raise EmergingError(_("The window must be 1 to %(max)s days, not %(days)s.") % {"max": MAX_DAYS, "days": days})
    if not 0 < threshold <= 1:
        raise EmergingError(
            _("The confidence threshold must be above 0 and at most 1, not %(value)s.") % {"value": threshold}
        )
    if not MIN_ITEMS <= max_items <= DEFAULT_MAX_ITEMS:
        raise EmergingError(
            _("Between %(min)s and %(max)s items, not %(value)s.")
            % {"min": f"{MIN_ITEMS:,}", "max": f"{DEFAULT_MAX_ITEMS:,}", "value": f"{max_items:,}"}
        )
    return days, threshold, max_items


def create_run(
    *, user: Any = None, days: int = DEFAULT_DAYS, threshold: float = DEFAULT_THRESHOLD,
    max_items: int = DEFAULT_MAX_ITEMS,
) -> EmergingRun:  # fmt: skip
    """A queued run; one at a time (each holds up to 50,000 texts in memory while it clusters)."""
    days, threshold, max_items = _checked(days, threshold, max_items)
    with transaction.atomic():
        running = active_run()
        if running is not None:
            raise EmergingError(_("Run #%(run)s is still running; wait for it to finish.") % {"run": running.pk})
        return EmergingRun.objects.create(
            days=days, threshold=threshold, max_items=max_items, created_by=user if user and user.pk else None
        )


def start_run(*, user: Any = None, **options: Any) -> EmergingRun:
    """Queue a run for the background worker (the web page's path)."""
    run = create_run(user=user, **options)
    transaction.on_commit(lambda: find_emerging_topics_task.delay(run.pk))
    return run


def execute_run(run_id: int, progress: Progress = _noop) -> EmergingRun | None:
    """Run a queued run (the task's body, and the command's). Idempotent: a finished run is left alone.
    Any error ends the run as failed with its reason, so the page never spins for ever."""
    run = EmergingRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_active:
        return run
    now = timezone.now()
    run.status = EmergingRun.Status.RUNNING
    run.started_at = now
    run.window_end = now
    run.window_start = now - timedelta(days=run.days)
    # growth: the last third of the window (at least a week) against the rest
    run.recent_since = now - timedelta(days=max(7, run.days // 3))
    run.save(update_fields=["status", "started_at", "window_start", "window_end", "recent_since", "updated_at"])

    def report(step: str, done: int, total: int) -> None:
        EmergingRun.objects.filter(pk=run.pk).update(step=step, done=done, total=total, updated_at=timezone.now())
        progress(step, done, total)

    try:
        _cluster_and_store(run, report)
    except Exception as exc:  # noqa: BLE001 - any failure must end the run with its reason shown
        log.exception("emerging-topics run %s failed", run.pk)
        EmergingRun.objects.filter(pk=run.pk).update(
            status=EmergingRun.Status.FAILED, error=str(exc) or type(exc).__name__,
            finished_at=timezone.now(), updated_at=timezone.now(),
        )  # fmt: skip
    else:
        EmergingRun.objects.filter(pk=run.pk).update(
            status=EmergingRun.Status.DONE, finished_at=timezone.now(), updated_at=timezone.now()
        )
    run.refresh_from_db()
    return run


def _cluster_and_store(run: EmergingRun, report: Progress) -> None:
    assert run.window_start and run.window_end and run.recent_since
    report("load", 0, 3)
    items = uncovered_feedback(run.window_start, run.window_end, threshold=run.threshold, limit=run.max_items)
    EmergingRun.objects.filter(pk=run.pk).update(item_count=len(items.ids))
    if len(items.ids) < MIN_ITEMS:
        report("done", 3, 3)  # nothing to cluster is a finished run with no clusters, not a failure
        return
    report("cluster", 1, 3)
    result = clustering.cluster_texts(items.texts, timestamps=items.received, recent_since=run.recent_since, seed=0)
    report("save", 2, 3)
    members: dict[int, list[int]] = {c.label: [] for c in result.clusters}
    for position, label in enumerate(result.labels.tolist()):
        if label >= 0:
            members[label].append(items.ids[position])  # stays newest first: the input was
    rows = [
        EmergingCluster(
            run=run,
            label=c.label,
            size=c.size,
            keywords=list(c.keywords),
            examples=[{"id": items.ids[i], "text": items.texts[i][:EXAMPLE_CHARS]} for i in c.example_indices],
            member_ids=members[c.label],
            recent_count=c.recent_count,
            earlier_count=c.earlier_count,
            recent_share=c.recent_share,
            earlier_share=c.earlier_share,
            growth=c.growth,
        )
        for c in result.clusters
    ]
    with transaction.atomic():
        EmergingCluster.objects.filter(run=run).delete()  # a retried task starts clean
        EmergingCluster.objects.bulk_create(rows)
    report("done", 3, 3)


def find_emerging_topics(*, user: Any = None, progress: Progress = _noop, **options: Any) -> EmergingRun:
    """Create and run one in this process (the command line's path)."""
    run = create_run(user=user, **options)
    finished = execute_run(run.pk, progress)
    assert finished is not None
    return finished


# --- adopting a cluster as a topic -----------------------------------------------------------------------

CODE_PART = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"^[a-z][a-z0-9 '-]*$")


@dataclass
class TopicProposal:
    code: str
    name_zh: str
    name_en: str
    phrases_zh: list[str] = field(default_factory=list)
    phrases_en: list[str] = field(default_factory=list)


def propose_topic(cluster: EmergingCluster, max_phrases: int = 5) -> TopicProposal:
    """A first draft of the topic for the admin to check: Chinese and English keywords become the phrases
    and names; the code comes from the English keywords, or from the run and cluster number."""
    zh = [w for w in cluster.keywords if _HAN.search(w)][:max_phrases]
    en = [w for w in cluster.keywords if _LATIN.match(w)][:max_phrases]
    code = "_".join(re.sub(r"[^a-z0-9]+", "_", w).strip("_") for w in en[:2]).strip("_")[:40]
    if not CODE_PART.match(code or ""):
        code = f"emerging_{cluster.run_id}_{cluster.label + 1}"
    if Topic.objects.filter(code=code).exists():
        code = f"{code[:30]}_{cluster.run_id}_{cluster.label + 1}"
    name_zh = "、".join(zh[:2]) or " / ".join(en[:2])
    name_en = " / ".join(en[:2]) or "、".join(zh[:2])
    return TopicProposal(code=code, name_zh=name_zh, name_en=name_en, phrases_zh=zh, phrases_en=en)


def full_code(code: str, parent: Topic | None) -> str:
    return f"{parent.code}.{code}" if parent else code


def adoption_errors(code: str, parent: Topic | None) -> list[str]:
    """Why this code cannot be a new topic (an empty list: it can). The code is one part (lower-case
    letters, digits, underscores); under a parent it becomes ``parent.code``."""
    errors = []
    if not CODE_PART.match(code):
        errors.append("code")
    elif Topic.objects.filter(code=full_code(code, parent)).exists():
        errors.append("taken")
    if parent is not None and (parent.parent_id is not None or not parent.is_active):
        errors.append("parent")
    return errors


def adopt_cluster(
    cluster: EmergingCluster, proposal: TopicProposal, *, parent: Topic | None = None, user: Any = None,
    reanalyze: bool = True,
) -> Topic:  # fmt: skip
    """Create the topic, mark the cluster adopted and (by default) re-analyse the cluster's items in the
    background so they get the topic too. New feedback gets it anyway: analysis reads the taxonomy from the
    database on every batch."""
    problems = adoption_errors(proposal.code, parent)
    if problems:
        raise EmergingError(
            _("Cannot create topic %(code)r: %(problems)s.") % {"code": proposal.code, "problems": ", ".join(problems)}
        )
    phrases_zh = _clean_phrases(proposal.phrases_zh)
    phrases_en = _clean_phrases(proposal.phrases_en, lower=True)
    if not phrases_zh and not phrases_en:
        raise EmergingError(_("A topic needs at least one phrase, or the analysis can never find it."))
    with transaction.atomic():
        if not Topic.objects.exists():
            # the stored taxonomy replaces the pipeline's default as a whole (services.current_taxonomy):
            # store the default first, so the new topic is added to it rather than becoming the only one
            seed_default_taxonomy()
        cluster = EmergingCluster.objects.select_for_update().get(pk=cluster.pk)
        if cluster.adopted_topic_id is not None:
            raise EmergingError(
                _("This cluster was already adopted as topic #%(topic)s.") % {"topic": cluster.adopted_topic_id}
            )
        siblings = Topic.objects.filter(parent=parent).order_by("-sort_order").first()
        topic = Topic.objects.create(
            code=full_code(proposal.code, parent),
            parent=parent,
            name_zh=proposal.name_zh.strip()[:100],
            name_en=proposal.name_en.strip()[:100],
            description=f"From emerging-topics run #{cluster.run_id}, cluster {cluster.label + 1}.",
            phrases_zh=phrases_zh,
            phrases_en=phrases_en,
            sort_order=(siblings.sort_order + 1) if siblings else 0,
        )
        cluster.adopted_topic = topic
        cluster.adopted_at = timezone.now()
        cluster.adopted_by = user if user and user.pk else None
        cluster.save(update_fields=["adopted_topic", "adopted_at", "adopted_by"])
        if reanalyze and cluster.member_ids:
            queue_reanalysis(list(cluster.member_ids))
    return topic


def _clean_phrases(phrases: list[str], lower: bool = False) -> list[str]:
    out: list[str] = []
    for phrase in phrases:
        phrase = " ".join(phrase.split())[:100]
        phrase = phrase.lower() if lower else phrase
        if phrase and phrase not in out:
            out.append(phrase)
    return out[:50]


def queue_reanalysis(feedback_ids: list[int]) -> None:
    """Mark the items pending and hand them to the analysis task after the commit, in the pipeline's chunks
    (the same task new feedback goes through; a crash part-way leaves them to the catch-up task)."""
    mark_pending(feedback_ids)

    def send() -> None:
        for start in range(0, len(feedback_ids), ANALYSIS_CHUNK):
            analyze_feedback_task.delay(feedback_ids[start : start + ANALYSIS_CHUNK])

    transaction.on_commit(send)
