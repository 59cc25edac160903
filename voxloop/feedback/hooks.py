"""What the feedback layer announces to higher layers, which subscribe here (they are never imported).

- ``feedback_stored(ids)``: after the commit that stored new feedback (single items, API batches and file
  imports alike, all through ingest.ingest_feedback).
- ``feedback_storing(ids)``: the same ids inside the storing transaction, for work that must commit (or
  roll back) with the rows themselves.
- A text-search provider: the inbox's text filter, replaced by the search app's word index when it is
  installed; without one the inbox falls back to substring matching.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

StoredHandler = Callable[[list[int]], None]
TextSearch = Callable[[QuerySet, str], QuerySet]

_stored_handlers: list[StoredHandler] = []
_storing_handlers: list[StoredHandler] = []
_text_search: list[TextSearch] = []


def register_stored_handler(handler: StoredHandler, *, in_transaction: bool = False) -> StoredHandler:
    handlers = _storing_handlers if in_transaction else _stored_handlers
    if handler not in handlers:
        handlers.append(handler)
    return handler


def unregister_stored_handler(handler: StoredHandler) -> None:
    for handlers in (_stored_handlers, _storing_handlers):
        if handler in handlers:
            handlers.remove(handler)


def feedback_stored(feedback_ids: list[int]) -> None:
    for handler in list(_stored_handlers):
        handler(feedback_ids)


def feedback_storing(feedback_ids: list[int]) -> None:
    for handler in list(_storing_handlers):
        handler(feedback_ids)


def register_text_search(provider: TextSearch) -> None:
    _text_search[:] = [provider]


def text_search_provider() -> TextSearch | None:
    return _text_search[0] if _text_search else None
