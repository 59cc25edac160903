"""Read models for the inbox, the feedback page and the customer pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date

from voxloop.feedback.bands import UNHAPPY_RATING_MAX
from voxloop.feedback.hooks import text_search_provider, topic_directory
from voxloop.feedback.models import Customer, Feedback

PAGE_SIZE = 50
# What the inbox's aspect filter accepts: a complaint about the topic (as the Pareto counts them) or the topic's
# own polarity (as the journey map and the topic charts count them).
ASPECT_FILTERS = ("complaint", "negative", "neutral", "positive")


@dataclass
class InboxFilters:
    channel: str = ""
    date_from: str = ""
    date_to: str = ""
    customer: str = ""
    product: str = ""
    product_id: str = ""
    segment: str = ""
    language: str = ""
    rating: str = ""
    sentiment: str = ""
    kind: str = ""
    urgency: str = ""
    topic: str = ""
    aspect: str = ""  # the topic's own polarity: negative/neutral/positive, or "complaint" (ASPECT_FILTERS)
    q: str = ""
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_params(cls, params: Any) -> InboxFilters:
        values: dict[str, Any] = {
            name: (params.get(name) or "").strip()[:200] for name in cls.__dataclass_fields__ if name != "errors"
        }
        return cls(**values)

    def active(self) -> bool:
        return any(getattr(self, n) for n in self.__dataclass_fields__ if n != "errors")


def _day_start(value: str) -> datetime | None:
    day = parse_date(value) if value else None
    return timezone.make_aware(datetime.combine(day, time.min)) if day else None


def filter_feedback(filters: InboxFilters) -> QuerySet[Feedback]:
    return search_text(_filter_fields(filters), filters.q)


def _filter_fields(filters: InboxFilters) -> QuerySet[Feedback]:
    """Every filter but the text search."""
    items = Feedback.objects.all()
    if filters.channel:
        items = items.filter(channel=filters.channel)
    start = _day_start(filters.date_from)
    if filters.date_from and start is None:
        filters.errors.append("date_from")
    if start:
        items = items.filter(received_at__gte=start)
    end = _day_start(filters.date_to)
    if filters.date_to and end is None:
        filters.errors.append("date_to")
    if end:
        items = items.filter(received_at__lt=end + timedelta(days=1))
    if filters.customer:
        if filters.customer.isdigit():
            items = items.filter(customer_id=int(filters.customer))
        else:
            items = items.filter(
                Q(customer__name__icontains=filters.customer)
                | Q(contact_name__icontains=filters.customer)
                | Q(customer__external_id=filters.customer)
            )
    if filters.product:
        items = items.filter(Q(product__code=filters.product) | Q(product__name__icontains=filters.product))
    if filters.product_id:
        if filters.product_id.isdigit():
            items = items.filter(product_id=int(filters.product_id))
        else:
            filters.errors.append("product_id")
    if filters.segment:
        items = items.filter(customer__segment=filters.segment)
    if filters.language:
        items = items.filter(language=filters.language)
    if filters.rating:
        if filters.rating == "none":
            items = items.filter(rating__isnull=True)
        elif filters.rating == "low":
            low = Q(pk__in=[])
            for scale, highest in UNHAPPY_RATING_MAX.items():
                low |= Q(rating__isnull=False, rating__lte=highest, rating_scale=scale)
            items = items.filter(low)
        elif filters.rating.isdigit():
            items = items.filter(rating=int(filters.rating))
    for name in ("sentiment", "kind", "urgency"):
        if getattr(filters, name):
            items = items.filter(**{name: getattr(filters, name)})
    directory = topic_directory()
    if filters.aspect and filters.aspect not in ASPECT_FILTERS:
        filters.errors.append("aspect")
    elif (filters.topic or filters.aspect) and directory is not None:
        items = directory.with_topic(items, filters.topic, filters.aspect)
    return items


def search_text(items: QuerySet[Feedback], q: str) -> QuerySet[Feedback]:
    provider = text_search_provider()
    if provider is not None and q.strip():
        # The search app's word index (segmented, Traditional/Simplified folded, stemmed).
        return provider(items, q)
    for term in q.split()[:5]:
        # Substring match works for Chinese without segmentation ("物流" finds "物流太慢").
        items = items.filter(Q(text__icontains=term) | Q(title__icontains=term))
    return items


# A text search first looks among the newest rows that pass the other filters. A common term fills the page
# there at once; without the window, PostgreSQL, which cannot estimate how many rows a substring matches,
# often read and sorted the whole table instead (0.12 s at 100,000 rows, ten times that at a million). The
# window costs two index range scans (about 25 ms at a million rows; four times that for 20,000 rows).
SEARCH_WINDOW = 5_000


def match_count(filters: InboxFilters) -> int:
    """How many items the filters find (all pages): shown when searching, so the count says what a word finds."""
    return search_text(_filter_fields(filters), filters.q).count()


def inbox_page(filters: InboxFilters, before: str = "") -> tuple[list[Feedback], str]:
    """One page, newest first, with a keyset cursor for the next page (no COUNT over the whole table)."""
    items = _filter_fields(filters)
    if before and "_" in before:
        stamp, _, pk = before.partition("_")
        try:
            moment = datetime.fromisoformat(stamp)
            items = items.filter(Q(received_at__lt=moment) | Q(received_at=moment, pk__lt=int(pk)))
        except ValueError:
            pass
    page: list[Feedback] | None = None
    if filters.q.split():
        # The window is bounded by time (the received_at of its oldest row), which the planner estimates well.
        # Its newest matches are the newest overall when they fill the page: every row outside is older.
        oldest = list(
            items.order_by("-received_at", "-id").values_list("received_at", flat=True)[
                SEARCH_WINDOW - 1 : SEARCH_WINDOW
            ]
        )
        if oldest:
            page = _first_page(search_text(items.filter(received_at__gte=oldest[0]), filters.q))
            if len(page) <= PAGE_SIZE:
                page = None  # too few matches in the window: search everything
    if page is None:
        page = _first_page(search_text(items, filters.q))
    cursor = ""
    if len(page) > PAGE_SIZE:
        page = page[:PAGE_SIZE]
        last = page[-1]
        cursor = f"{last.received_at.isoformat()}_{last.pk}"
    return page, cursor


def _first_page(items: QuerySet[Feedback]) -> list[Feedback]:
    page = list(items.select_related("customer", "product").order_by("-received_at", "-id")[: PAGE_SIZE + 1])
    # Each row's topic codes (``topic_codes``, for the page only), in one query of two columns: prefetching
    # topic_links built a model instance per topic and a manager per row, 1.6 ms of the page's CPU.
    links = Feedback.topic_links.field.model  # the analysis app's model: feedback sits below it and never imports it
    codes: dict[int, list[str]] = {}
    for feedback_id, code in links._default_manager.filter(feedback_id__in=[f.pk for f in page]).values_list(
        "feedback_id", "code"
    ):
        codes.setdefault(feedback_id, []).append(code)
    for f in page:
        f.topic_codes = codes.get(f.pk, [])  # type: ignore[attr-defined]  # read by the inbox rows only
    return page


def customer_history(feedback: Feedback, limit: int = 20) -> list[Feedback]:
    if not feedback.customer_id:
        return []
    return list(
        Feedback.objects.filter(customer_id=feedback.customer_id)
        .exclude(pk=feedback.pk)
        .order_by("-received_at")[:limit]
    )


def thread(feedback: Feedback) -> list[Feedback]:
    if not feedback.thread_key:
        return []
    return list(Feedback.objects.filter(thread_key=feedback.thread_key).order_by("received_at", "id")[:100])


def search_customers(q: str, limit: int = 50) -> QuerySet[Customer]:
    customers = Customer.objects.all()
    if q:
        customers = customers.filter(
            Q(name__icontains=q) | Q(external_id=q) | Q(email__icontains=q.lower()) | Q(phone__contains=q)
        )
    return customers.order_by("-updated_at")[:limit]


def top_level_topics() -> list[tuple[str, str]]:
    directory = topic_directory()
    return directory.top_level() if directory is not None else []


def topic_names() -> dict[str, str]:
    directory = topic_directory()
    return directory.names() if directory is not None else {}
