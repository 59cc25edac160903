from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import floatformat, truncatechars
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from voxloop.accounts import privacy
from voxloop.accounts.audit import record_access
from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, has, require
from voxloop.accounts.templatetags.voxloop import feedback_text, feedback_title
from voxloop.core.http import HtmxHttpRequest
from voxloop.feedback import queries
from voxloop.feedback.hooks import text_highlighter
from voxloop.feedback.models import Channel, Customer, Feedback, Kind, Product, Sentiment, Urgency
from voxloop.feedback.normalize import RowError
from voxloop.feedback.panels import customer_panels, feedback_page_context, feedback_panels
from voxloop.feedback.services import STAFF_CHANNELS, record_staff_feedback


@login_required
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    filters = queries.InboxFilters.from_params(request.GET)
    items, cursor = queries.inbox_page(filters, request.GET.get("before", ""))
    # Names and texts shown unmasked are personal-data access, one entry per item (none for masked roles).
    privacy.record_shown(request.user, Feedback, [(f.pk, f.customer_id) for f in items], request=request)
    params = request.GET.copy()
    params.pop("before", None)
    q = filters.q.strip()
    highlighter = text_highlighter() if q else None
    if highlighter is not None:
        # The matched words marked in the text as this reader may see it (masked for masked roles).
        for item in items:
            # Attributes the rows partial reads, set on the row's instance for the template only (not fields).
            item.snippet = highlighter(str(feedback_text(item, request.user)), q)  # type: ignore[attr-defined]
            title = highlighter(str(feedback_title(item, request.user)), q) if item.title else ""
            item.title_snippet = title  # type: ignore[attr-defined]  # as above
    user = cast(User, request.user)  # login_required: never the anonymous user
    context = {
        "match_count": queries.match_count(filters) if q and not request.GET.get("before") else None,
        "rows": _inbox_rows(items, user, queries.topic_names()),
        # The bulk actions are the case app's (its urls); its last result is shown here after the redirect.
        "bulk_summary": request.session.pop("bulk_summary", None),
        "bulk_actions": [("tag", _("Add a tag")), ("link", _("Link to a case"))],
        "may_bulk": has(request.user, Capability.CORRECT_ANALYSIS) or has(request.user, Capability.WORK_ON_CASES),
        "filters": filters,
        # Set by drill-downs from the insight pages; kept when the filter form is submitted again.
        "hidden_filters": [
            (n, getattr(filters, n)) for n in ("product_id", "segment", "language") if getattr(filters, n)
        ],
        "next_cursor": cursor,
        "query_string": params.urlencode(),
        "channels": Channel.choices,
        "sentiments": Sentiment.choices,
        "kinds": Kind.choices,
        "urgencies": Urgency.choices,
        "topics": queries.top_level_topics(),
        "aspects": [
            ("complaint", _("Complaints about the topic")),
            ("negative", _("Topic negative")),
            ("neutral", _("Topic neutral")),
            ("positive", _("Topic positive")),
        ],
        "other_errors": [e for e in filters.errors if e != "aspect"],
        "active_nav": "feedback",
    }
    template = "feedback/_inbox_rows.html" if request.htmx and request.GET.get("before") else "feedback/inbox.html"
    return render(request, template, context)


def _id_url(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for the many rows of a page at the price of one reverse: the URL around the id
    is the same for every row (a reverse costs about 40 µs; a page made a hundred)."""
    marker = 918273645
    head, _marker, tail = reverse(name, args=[marker]).partition(str(marker))
    return lambda pk: f"{head}{pk}{tail}"


def _labels(choices: list[tuple[str, Any]]) -> dict[str, str]:
    """value -> label in the current language, as ``get_FOO_display`` tells it (which rebuilds this on each call)."""
    return {value: str(label) for value, label in choices}


def _local_minute(moment: datetime) -> str:
    """``{{ moment|date:"Y-m-d H:i" }}`` as a template shows it: in the current time zone (the date filter called
    from Python formats the moment in the zone it carries, UTC from the database)."""
    local = timezone.localtime(moment)
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


def _inbox_rows(items: list[Feedback], user: User, topic_names: dict[str, str]) -> list[dict[str, Any]]:
    """What each inbox row shows, worked out here rather than in the template: the template engine resolving
    some thirty lookups, filters and URLs on each of fifty rows was most of the page's CPU (benchmarks/load.py
    --profile). Masking follows the same rule as the template filters (voxloop.accounts.privacy)."""
    unmasked = privacy.may_see(user)
    detail_url, customer_url = _id_url("feedback:detail"), _id_url("feedback:customer")
    channels, sentiments = _labels(Channel.choices), _labels(Sentiment.choices)
    kinds, urgencies = _labels(Kind.choices), _labels(Urgency.choices)
    # The checkbox's label as {% blocktrans %} gave it, translated once for the page instead of once a row.
    select_label = _("Select feedback #%(id)s")
    rows = []
    for f in items:
        known = [] if unmasked else privacy.known_values(f)
        urgent = f.urgency and f.urgency != "normal"
        row: dict[str, Any] = {
            "pk": f.pk,
            "select_label": select_label % {"id": f.pk},
            "received": _local_minute(f.received_at),
            "channel": channels.get(f.channel, f.channel),
            "url": detail_url(f.pk),
            "product": f.product.name if f.product_id and f.product else "",
            "rating": f"{floatformat(f.rating, '-1')}/{f.rating_scale}" if f.rating is not None else "",
            "sentiment": f.sentiment,
            "sentiment_label": sentiments.get(f.sentiment, f.sentiment) if f.sentiment else "",
            "kind_label": kinds.get(f.kind, f.kind) if f.kind else "",
            "urgency": f.urgency if urgent else "",
            "urgency_label": urgencies.get(f.urgency, f.urgency) if urgent else "",
            "topics": [topic_names.get(code) or code for code in f.topic_codes],  # type: ignore[attr-defined]
            "pending": f.analysis_status == "pending",
            "snippet": getattr(f, "snippet", ""),
            "title_snippet": getattr(f, "title_snippet", ""),
        }
        if f.customer_id and f.customer:
            row["customer_url"] = customer_url(f.customer_id)
            name = f.customer.name or f.customer.external_id or _("customer")
            row["customer"] = name if unmasked else privacy.mask_name(name)
        else:
            row["customer_url"] = ""
            row["customer"] = (f.contact_name if unmasked else privacy.mask_name(f.contact_name)) or _("anonymous")
        if not row["snippet"]:
            title = f.title if unmasked else privacy.mask_text(f.title, known)
            text = f.text if unmasked else privacy.mask_text(f.text, known)
            row["title"] = truncatechars(title, 60) if f.title else ""
            row["text"] = truncatechars(text, 140)
        rows.append(row)
    return rows


@login_required
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Feedback.objects.select_related("customer", "product", "order", "batch", "created_by"), pk=pk
    )
    user = cast(User, request.user)  # login_required: never the anonymous user
    if (
        item.customer_id
        or item.contact_name
        or item.contact_email
        or item.contact_phone
        or privacy.holds_personal_data(item.text, item.title, item.raw_payload)
    ):
        record_access(user, item, customer_id=item.customer_id, request=request)
    context = {
        "item": item,
        "history": queries.customer_history(item),
        "thread": queries.thread(item),
        "panels": feedback_panels(item, user),
        "active_nav": "feedback",
        **feedback_page_context(item, user),
    }
    return render(request, "feedback/detail.html", context)


@login_required
def staff_entry(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ENTER_FEEDBACK)
    channels = [(c, label) for c, label in Channel.choices if c in STAFF_CHANNELS]
    context = {"channels": channels, "data": {}, "active_nav": "staff_entry", "products": Product.objects.all()[:500]}
    if request.method == "POST":
        fields = [
            "channel",
            "text",
            "rating",
            "customer_name",
            "phone",
            "email",
            "customer_id",
            "product_name",
            "order_ref",
        ]
        data = {f: request.POST.get(f, "").strip() for f in fields}
        if data["channel"] not in STAFF_CHANNELS:
            data["channel"] = Channel.STAFF
        try:
            item = record_staff_feedback(data, user=request.user)
        except RowError as exc:
            context.update({"data": data, "error": exc.message, "error_field": exc.field})
            return render(request, "feedback/staff_entry.html", context, status=400)
        messages.success(request, _("Feedback #%(id)s recorded.") % {"id": item.pk})
        return redirect("feedback:detail", pk=item.pk)
    return render(request, "feedback/staff_entry.html", context)


@login_required
def customers(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    found = list(queries.search_customers(q))
    privacy.record_shown(request.user, Customer, [(c.pk, c.pk) for c in found], request=request)
    return render(request, "feedback/customers.html", {"customers": found, "q": q, "active_nav": "customers"})


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    user = cast(User, request.user)  # login_required: never the anonymous user
    record_access(user, customer, customer_id=customer.pk, request=request)
    context = {
        "customer": customer,
        "orders": customer.orders.select_related("product").order_by("-ordered_at")[:100],
        "feedback_items": customer.feedback_items.select_related("product").order_by("-received_at")[:200],
        "panels": customer_panels(customer, user),
        "active_nav": "customers",
    }
    return render(request, "feedback/customer.html", context)
