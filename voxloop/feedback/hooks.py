"""Points where a higher layer plugs into feedback without feedback importing it (DESIGN §8: a lower layer never
imports a higher one; the higher one registers a callable in its ``AppConfig.ready``).

- ``feedback_stored``: announced with the new ids after the commit that stored them (single items, API batches
  and file imports alike); analysis queues them, search indexes them.
- ``feedback_storing``: the same ids inside the storing transaction, for work that must commit (or roll back)
  with the rows themselves (search indexes small batches at once).
- A text-search provider: the inbox's text filter, replaced by the search app's word index when it is
  installed; without one the inbox falls back to substring matching. The search app also registers the
  highlighter that marks the matched words in the inbox's rows.
- A topic directory: the topics the inbox filters by and names, which voxloop.analysis owns (it registers
  one); without it the inbox has no topic filter.

- Ingest screens see every batch of validated feedback (and record screens every batch of customers and
  orders) before it is stored, and may rewrite items in place (voxloop.privacy de-identifies the items of an
  erased person, so a re-import cannot bring them back).
- Contact checks answer whether a customer may be sent a message for a purpose (voxloop.privacy's consent
  ledger); every sender of surveys, follow-ups and notices asks ``may_contact`` before it queues a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db.models import QuerySet

from voxloop.core.hooks import Hook
from voxloop.feedback.models import Customer, Feedback

feedback_stored: Hook[list[int]] = Hook("feedback stored")
feedback_storing: Hook[list[int]] = Hook("feedback storing")

TextSearch = Callable[[QuerySet[Feedback], str], QuerySet[Feedback]]
_text_search: list[TextSearch] = []


def register_text_search(provider: TextSearch) -> None:
    _text_search[:] = [provider]


def text_search_provider() -> TextSearch | None:
    return _text_search[0] if _text_search else None


@dataclass(frozen=True)
class TopicDirectory:
    """What the inbox needs from the owner of the topic taxonomy; names are in the active language."""

    top_level: Callable[[], list[tuple[str, str]]]  # (code, name) of the active top-level topics
    names: Callable[[], dict[str, str]]  # code -> name, every topic
    # The items with a topic whose code starts with the given code (a top-level code takes in its children),
    # and, when the aspect (one of feedback.queries.ASPECT_FILTERS) is given, whose own polarity matches it.
    with_topic: Callable[[QuerySet[Feedback], str, str], QuerySet[Feedback]]


_topic_directory: list[TopicDirectory] = []


def register_topic_directory(directory: TopicDirectory) -> None:
    _topic_directory[:] = [directory]


def topic_directory() -> TopicDirectory | None:
    return _topic_directory[0] if _topic_directory else None


# (text, query) -> the text's excerpt around its matches, escaped, the matches marked (<mark>); the search app's.
TextHighlighter = Callable[[str, str], Any]
_highlighter: list[TextHighlighter] = []


def register_text_highlighter(highlighter: TextHighlighter) -> None:
    _highlighter[:] = [highlighter]


def text_highlighter() -> TextHighlighter | None:
    return _highlighter[0] if _highlighter else None


class ContactPurpose(StrEnum):
    """Why we would write to a customer; consent is given and withdrawn per purpose."""

    SURVEYS = "surveys"
    FOLLOW_UPS = "follow_ups"
    NOTICES = "notices"


# (inputs) -> None; items are FeedbackInput (voxloop.feedback.ingest), typed loosely: ingest imports this module.
IngestScreen = Callable[[Sequence[Any]], None]
# (kind, items) -> None; items are CustomerInput or OrderInput (voxloop.feedback.records), rewritten in place.
RecordScreen = Callable[[str, Sequence[Any]], None]
# (customer ids, purpose) -> the ids that must not be contacted for that purpose.
ContactCheck = Callable[[Iterable[int], str], set[int]]

_ingest_screens: list[IngestScreen] = []
_contact_checks: list[ContactCheck] = []
_record_screens: list[RecordScreen] = []


def register_ingest_screen(screen: IngestScreen) -> IngestScreen:
    if screen not in _ingest_screens:
        _ingest_screens.append(screen)
    return screen


def screen_feedback(inputs: Sequence[Any]) -> None:
    """Called by ``ingest_feedback`` before anything is stored."""
    for screen in _ingest_screens:
        screen(inputs)


def register_record_screen(screen: RecordScreen) -> RecordScreen:
    if screen not in _record_screens:
        _record_screens.append(screen)
    return screen


def screen_records(kind: str, items: Sequence[Any]) -> None:
    """Called by ``upsert_customers`` ("customers") and ``upsert_orders`` ("orders") before anything is stored."""
    for screen in _record_screens:
        screen(kind, items)


def register_contact_check(check: ContactCheck) -> ContactCheck:
    if check not in _contact_checks:
        _contact_checks.append(check)
    return check


def blocked_customer_ids(customer_ids: Iterable[int], purpose: str) -> set[int]:
    """The customers among these who withdrew consent for ``purpose`` (one query per check, for batches)."""
    ids = list(customer_ids)
    blocked: set[int] = set()
    if not ids:
        return blocked
    for check in _contact_checks:
        blocked |= check(ids, purpose)
    return blocked


def may_contact(customer: Customer | None, purpose: str) -> bool:
    """False when there is no customer, they opted out of all contact, or withdrew consent for ``purpose``."""
    if customer is None or customer.pk is None or customer.opted_out:
        return False
    return customer.pk not in blocked_customer_ids([customer.pk], purpose)
