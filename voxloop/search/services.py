"""Keeping the search index in step with the records: (re)index feedback, cases, case messages, customers.

Every function takes ids and reads the current rows, so calling it twice, late or for a deleted row is
harmless (a missing row removes its entry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from django.db import transaction

from voxloop.cases.models import Case, CaseEvent, EventKind
from voxloop.feedback.models import Customer, Feedback
from voxloop.search.models import DocKind, SearchDocument
from voxloop.search.text import index_body

# The case timeline's kinds that carry words somebody wrote (replies, notes, the customer's messages).
TEXT_EVENT_KINDS = (EventKind.PUBLIC_REPLY, EventKind.INTERNAL_NOTE, EventKind.CUSTOMER_MESSAGE, EventKind.CREATED)
CHUNK = 1_000


def _store(kind: str, ids: list[int], docs: list[SearchDocument]) -> int:
    """Replace the entries of ``ids`` by ``docs`` (those whose row is gone simply disappear)."""
    with transaction.atomic():
        SearchDocument.objects.filter(kind=kind, object_id__in=ids).delete()
        SearchDocument.objects.bulk_create(docs, batch_size=500)
    return len(docs)


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = list(dict.fromkeys(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def index_feedback(feedback_ids: Iterable[int], *, with_customers: bool = True) -> int:
    done = 0
    for ids in _chunks(feedback_ids):
        rows = list(
            Feedback.objects.filter(pk__in=ids).values_list(
                "pk", "received_at", "title", "text", "contact_name", "contact_phone", "contact_email", "customer_id"
            )
        )
        docs = [
            SearchDocument(kind=DocKind.FEEDBACK, object_id=pk, at=at, body=index_body(title, text, name, phone, email))
            for pk, at, title, text, name, phone, email, _customer in rows
        ]
        done += _store(DocKind.FEEDBACK, ids, docs)
        if with_customers:
            # Imports create customers in bulk (no signals): their entries come with their feedback.
            customer_ids = {row[-1] for row in rows if row[-1]}
            fresh = customer_ids - set(
                SearchDocument.objects.filter(kind=DocKind.CUSTOMER, object_id__in=customer_ids).values_list(
                    "object_id", flat=True
                )
            )
            index_customers(fresh)
    return done


def _handles_text(handles: object) -> str:
    if isinstance(handles, dict):
        return " ".join(str(v) for v in handles.values() if v)
    return ""


def index_customers(customer_ids: Iterable[int]) -> int:
    done = 0
    for ids in _chunks(customer_ids):
        rows = Customer.objects.filter(pk__in=ids).values_list(
            "pk", "updated_at", "name", "external_id", "email", "phone", "handles"
        )
        docs = [
            SearchDocument(
                kind=DocKind.CUSTOMER,
                object_id=pk,
                at=at,
                body=index_body(name, external_id, email, phone, _handles_text(handles)),
            )
            for pk, at, name, external_id, email, phone, handles in rows
        ]
        done += _store(DocKind.CUSTOMER, ids, docs)
    return done


def index_cases(case_ids: Iterable[int]) -> int:
    done = 0
    for ids in _chunks(case_ids):
        rows = Case.objects.filter(pk__in=ids).values_list("pk", "created_at", "number", "title", "resolution")
        docs = [
            SearchDocument(
                kind=DocKind.CASE, object_id=pk, case_id=pk, at=at, body=index_body(number, title, resolution)
            )
            for pk, at, number, title, resolution in rows
        ]
        done += _store(DocKind.CASE, ids, docs)
    return done


def event_text(kind: str, payload: object) -> str:
    if kind not in TEXT_EVENT_KINDS or not isinstance(payload, dict):
        return ""
    text = payload.get("text") or payload.get("summary") or ""
    return text if isinstance(text, str) else ""


def index_events(event_ids: Iterable[int]) -> int:
    done = 0
    for ids in _chunks(event_ids):
        rows = CaseEvent.objects.filter(pk__in=ids, kind__in=TEXT_EVENT_KINDS).values_list(
            "pk", "case_id", "created_at", "kind", "payload"
        )
        docs = []
        for pk, case_id, at, kind, payload in rows:
            body = index_body(event_text(kind, payload))
            if body:
                docs.append(SearchDocument(kind=DocKind.EVENT, object_id=pk, case_id=case_id, at=at, body=body))
        done += _store(DocKind.EVENT, ids, docs)
    return done


def remove(kind: str, object_id: int) -> None:
    SearchDocument.objects.filter(kind=kind, object_id=object_id).delete()


Progress = Callable[[str, int, int], None]


def rebuild(kinds: Iterable[str] = tuple(DocKind.values), progress: Progress | None = None) -> dict[str, int]:
    """Index every row of the given kinds again, in id order, chunk by chunk; entries whose row is gone go."""
    sources: dict[str, tuple[object, Callable[[list[int]], int]]] = {
        DocKind.FEEDBACK: (Feedback.objects, lambda ids: index_feedback(ids, with_customers=False)),
        DocKind.CUSTOMER: (Customer.objects, index_customers),
        DocKind.CASE: (Case.objects, index_cases),
        DocKind.EVENT: (CaseEvent.objects.filter(kind__in=TEXT_EVENT_KINDS), index_events),
    }
    counts: dict[str, int] = {}
    for kind in kinds:
        manager, index = sources[kind]
        total = manager.count()  # type: ignore[attr-defined]
        done, last = 0, 0
        while True:
            ids = list(
                manager.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]  # type: ignore[attr-defined]
            )
            if not ids:
                break
            index(ids)
            # Entries of rows deleted in this id range since they were indexed.
            SearchDocument.objects.filter(kind=kind, object_id__gt=last, object_id__lte=ids[-1]).exclude(
                object_id__in=ids
            ).delete()
            last = ids[-1]
            done += len(ids)
            if progress:
                progress(kind, done, total)
        SearchDocument.objects.filter(kind=kind, object_id__gt=last).delete()
        counts[kind] = done
    return counts
