"""How the index follows the records: the feedback layer's stored hook (imports included) and model
signals for the rows edited one at a time (cases, case messages, customers), plus removals."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models.signals import post_delete, post_save

from voxloop.cases import hooks as case_hooks
from voxloop.cases.models import Case, CaseEvent
from voxloop.feedback import hooks
from voxloop.feedback.models import Customer, Feedback
from voxloop.privacy.services import Erased, subject_erased
from voxloop.search import services
from voxloop.search.models import DocKind
from voxloop.search.queries import case_text_filter, feedback_text_filter, highlight_query
from voxloop.search.tasks import index_feedback_task

# Feedback arrives by the thousand in imports; segmenting it is the costly part (about 0.2 ms an item), so
# large batches are indexed by a worker after the commit. A few items (a form, a staff entry, a small API
# call) are indexed in the storing transaction: findable the moment they are stored, and only ever together
# with their rows.
INLINE_LIMIT = 50
INDEX_CHUNK = 2_000
_CASE_FIELDS = {"number", "title", "resolution"}
_FEEDBACK_FIELDS = {"title", "text", "contact_name", "contact_phone", "contact_email"}
_CUSTOMER_FIELDS = {"name", "external_id", "email", "phone", "handles"}


def _enabled() -> bool:
    return getattr(settings, "SEARCH_INDEX_ON_INGEST", True)


def index_few_now(feedback_ids: list[int]) -> None:
    if _enabled() and len(feedback_ids) <= INLINE_LIMIT:
        services.index_feedback(feedback_ids)


def queue_feedback_indexing(feedback_ids: list[int]) -> None:
    if not _enabled() or len(feedback_ids) <= INLINE_LIMIT:
        return
    for start in range(0, len(feedback_ids), INDEX_CHUNK):
        ids = feedback_ids[start : start + INDEX_CHUNK]
        index_feedback_task.apply_async((ids,), argsrepr=f"[{len(ids)} feedback ids from #{ids[0]}]")


def _touches(update_fields: Any, fields: set[str]) -> bool:
    return update_fields is None or bool(fields & set(update_fields))


def _case_saved(sender: type, instance: Case, update_fields: Any = None, **kwargs: Any) -> None:
    if _touches(update_fields, _CASE_FIELDS):
        services.index_cases([instance.pk])


def _event_saved(sender: type, instance: CaseEvent, created: bool = False, **kwargs: Any) -> None:
    if created and services.event_text(instance.kind, instance.payload):
        services.index_events([instance.pk])


def _feedback_saved(sender: type, instance: Feedback, update_fields: Any = None, **kwargs: Any) -> None:
    # Ingest stores in bulk (no signal) and announces through feedback's hooks; this catches the texts and
    # contacts changed one by one afterwards (an edit, a correction of the contact), so the index follows them.
    if _touches(update_fields, _FEEDBACK_FIELDS):
        services.index_feedback([instance.pk], with_customers=False)


def _customer_saved(sender: type, instance: Customer, update_fields: Any = None, **kwargs: Any) -> None:
    if _touches(update_fields, _CUSTOMER_FIELDS):
        services.index_customers([instance.pk])


def _remover(kind: str) -> Any:
    def removed(sender: type, instance: Any, **kwargs: Any) -> None:
        services.remove(kind, instance.pk)

    return removed


_REMOVERS = {model: _remover(kind) for model, kind in (
    (Feedback, DocKind.FEEDBACK), (Customer, DocKind.CUSTOMER), (Case, DocKind.CASE), (CaseEvent, DocKind.EVENT)
)}  # fmt: skip


def _reindex_erased(erased: Erased) -> None:
    # Erasure rewrites texts and contacts in bulk (no model signals): index the rewritten records again.
    services.index_feedback(erased.feedback_ids, with_customers=False)
    services.index_customers(erased.customer_ids)
    services.index_events(erased.case_event_ids)


def _index_written_cases(case_ids: list[int]) -> None:
    services.index_cases(case_ids)  # a hook's handler returns nothing: the count is for the index command


def connect() -> None:
    hooks.feedback_storing.register(index_few_now)
    hooks.feedback_stored.register(queue_feedback_indexing)
    hooks.register_text_search(feedback_text_filter)
    hooks.register_text_highlighter(highlight_query)
    case_hooks.register_case_search(case_text_filter)
    subject_erased.register(_reindex_erased)
    case_hooks.cases_written.register(_index_written_cases)  # cases opened in bulk send no post_save
    post_save.connect(_case_saved, sender=Case, dispatch_uid="search_case_saved")
    post_save.connect(_event_saved, sender=CaseEvent, dispatch_uid="search_event_saved")
    post_save.connect(_feedback_saved, sender=Feedback, dispatch_uid="search_feedback_saved")
    post_save.connect(_customer_saved, sender=Customer, dispatch_uid="search_customer_saved")
    for model, handler in _REMOVERS.items():
        post_delete.connect(handler, sender=model, dispatch_uid=f"search_removed_{model.__name__}", weak=False)
