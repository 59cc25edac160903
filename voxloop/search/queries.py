"""Searching the index: the word match per database, the top-bar results page and the inbox's text filter."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent
from voxloop.cases.queries import visible_cases
from voxloop.feedback.models import Customer, Feedback
from voxloop.search.models import DocKind, SearchDocument
from voxloop.search.text import digits_of, query_tokens
from voxloop_nlp.components.normalize import to_half_width, to_simplified

SECTION_SIZE = 20
# Counts stop here ("1000+"): counting every match of a common word over millions of rows costs more
# than the number is worth.
COUNT_CAP = 1_000
SNIPPET_CHARS = 160
_TSVECTOR = "array_to_tsvector(string_to_array(body, ' '))"  # the expression the GIN index is built on


def _match_sql(tokens: list[str], table: str = "search_searchdocument") -> tuple[str, list[str]]:
    """A WHERE condition on ``table`` (the index table or its alias) matching rows with every token.
    Only constants go into the SQL text; the query words travel as parameters."""
    if connection.vendor == "postgresql":
        # A tsquery literal: each token quoted, so PostgreSQL takes it as one lexeme as it is.
        query = " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)
        return f"array_to_tsvector(string_to_array({table}.body, ' ')) @@ %s::tsquery", [query]  # noqa: S608
    query = " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    return f"{table}.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH %s)", [query]  # noqa: S608


def matching_documents(kind: str | tuple[str, ...], tokens: list[str]) -> QuerySet[SearchDocument]:
    where, params = _match_sql(tokens)
    kinds = [kind] if isinstance(kind, str) else list(kind)
    # extra(): the match is vendor SQL on the model's own table, no self-join needed.
    return SearchDocument.objects.filter(kind__in=kinds).extra(where=[where], params=params)  # noqa: S610


def _object_ids_sql(kind: str, tokens: list[str]) -> RawSQL:
    where, params = _match_sql(tokens, "d")
    sql = f"SELECT d.object_id FROM search_searchdocument d WHERE d.kind = %s AND {where}"  # noqa: S608
    return RawSQL(sql, [kind, *params])  # noqa: S611


def feedback_text_filter(items: QuerySet[Feedback], q: str) -> QuerySet[Feedback]:
    """The inbox's text filter: feedback containing every word of ``q`` (the other filters stay as they are)."""
    tokens = query_tokens(q)
    if not tokens:
        return items.none()
    return items.filter(pk__in=_object_ids_sql(DocKind.FEEDBACK, tokens))


# --- highlighting --------------------------------------------------------------------------------------


def _folded(text: str) -> str:
    """``text`` as the index saw it, character for character where the folding keeps lengths."""
    folded = to_simplified(to_half_width(text)).lower()
    return folded if len(folded) == len(text) else text.lower()


def _spans(folded: str, tokens: list[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for token in tokens:
        if token.isascii():
            # Stemmed English ("bill") marks the whole word it came from ("billing").
            pattern = re.compile(r"(?<![a-z0-9])" + re.escape(token) + r"\w*")
        else:
            pattern = re.compile(re.escape(token))
        spans.extend(m.span() for m in pattern.finditer(folded))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, tokens: list[str], width: int = SNIPPET_CHARS) -> SafeString:
    """An escaped excerpt of ``text`` around its first match, each match in <mark>."""
    text = text or ""
    spans = _spans(_folded(text), tokens)
    start = max(0, spans[0][0] - width // 3) if spans else 0
    end = min(len(text), start + width)
    out = ["…" if start else ""]
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(escape(text[pos:s]))
        out.append("<mark>" + escape(text[s:e]) + "</mark>")
        pos = e
    out.append(escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    # Every piece of user text above went through escape(); only our <mark> tags are markup.
    return mark_safe("".join(out))  # noqa: S308


# --- the results page ----------------------------------------------------------------------------------


@dataclass
class Hit:
    url: str
    title: str
    snippet: SafeString
    at: datetime | None = None
    extra: str = ""


@dataclass
class Section:
    key: str
    hits: list[Hit] = field(default_factory=list)
    count: int = 0

    @property
    def capped(self) -> bool:
        return self.count > COUNT_CAP

    @property
    def shown_count(self) -> str:
        return f"{COUNT_CAP}+" if self.capped else str(self.count)


@dataclass
class Results:
    q: str
    tokens: list[str]
    cases: Section = field(default_factory=lambda: Section("cases"))
    customers: Section = field(default_factory=lambda: Section("customers"))
    feedback: Section = field(default_factory=lambda: Section("feedback"))
    case_text: Section = field(default_factory=lambda: Section("case_text"))

    @property
    def sections(self) -> list[Section]:
        return [self.cases, self.customers, self.feedback, self.case_text]

    @property
    def total(self) -> int:
        return sum(s.count for s in self.sections)


def _capped_count(qs: QuerySet) -> int:
    return qs[: COUNT_CAP + 1].count()


def _mask(value: str, user: User) -> str:
    # The one masking rule (moving to accounts/privacy.py; the template tag is its current home).
    from voxloop.core.templatetags.voxloop import mask_contact

    return mask_contact(value, user)


def phone_variants(digits: str) -> list[str]:
    """Stored phones are digits with a leading + for international numbers: try the usual spellings."""
    variants = {digits, "+" + digits}
    if digits.startswith("86") and len(digits) == 13:
        variants |= {digits[2:], "+" + digits[2:]}
    if digits.startswith("0086"):
        variants |= {digits[4:], "+86" + digits[4:]}
    if len(digits) == 11 and digits.startswith("1"):
        variants |= {"+86" + digits, "86" + digits}
    return sorted(variants)


def find_customers(q: str, tokens: list[str]) -> tuple[list[Customer], int]:
    digits = digits_of(q)
    if digits:
        # A phone number: an exact lookup on the normalised digits (the customer_phone btree index).
        found = Customer.objects.filter(phone__in=phone_variants(digits))
        return list(found.order_by("-updated_at")[:SECTION_SIZE]), found.count()
    exact = list(Customer.objects.filter(email__iexact=q.strip())[:1]) if "@" in q else []
    if not tokens:
        return exact, len(exact)
    docs = matching_documents(DocKind.CUSTOMER, tokens)
    count = _capped_count(docs)
    ids = list(docs.order_by("-at").values_list("object_id", flat=True)[:SECTION_SIZE])
    by_id = Customer.objects.in_bulk(ids)
    customers = exact + [by_id[i] for i in ids if i in by_id and all(c.pk != i for c in exact)]
    return customers, max(count, len(customers))


def _customer_hit(customer: Customer, user: User, tokens: list[str]) -> Hit:
    contacts = [customer.phone, customer.email, *[str(v) for v in (customer.handles or {}).values() if v]]
    masked = " · ".join(_mask(c, user) for c in contacts if c)
    name = customer.name or customer.external_id or f"#{customer.pk}"
    if not getattr(user, "may_see_personal_data", False):
        name = _mask(name, user)
    return Hit(
        url=reverse("feedback:customer", args=[customer.pk]),
        title=name,
        snippet=highlight(masked, tokens) if getattr(user, "may_see_personal_data", False) else escape(masked),
        at=customer.updated_at,
        extra=customer.external_id,
    )


def search(user: User, q: str) -> Results:
    q = q.strip()[:200]
    tokens = query_tokens(q)
    results = Results(q=q, tokens=tokens)
    if not q:
        return results
    visible = visible_cases(user)

    # Cases by number, exactly ("c0002375" too).
    number = q.replace(" ", "").upper()
    if re.fullmatch(r"[A-Z]{0,4}\d{1,12}", number):
        cases = list(visible.filter(number=number)[:SECTION_SIZE])
        results.cases.count = len(cases)
        results.cases.hits = [
            Hit(url=reverse("cases:detail", args=[c.pk]), title=c.number, snippet=escape(c.title), at=c.created_at)
            for c in cases
        ]

    customers, results.customers.count = find_customers(q, tokens)
    results.customers.hits = [_customer_hit(c, user, tokens) for c in customers]

    if not tokens:
        return results

    docs = matching_documents(DocKind.FEEDBACK, tokens)
    results.feedback.count = _capped_count(docs)
    ids = list(docs.order_by("-at").values_list("object_id", flat=True)[:SECTION_SIZE])
    items = Feedback.objects.in_bulk(ids)
    results.feedback.hits = [
        Hit(
            url=reverse("feedback:detail", args=[pk]),
            title=items[pk].title or items[pk].get_channel_display(),
            snippet=highlight(f"{items[pk].title} {items[pk].text}".strip(), tokens),
            at=items[pk].received_at,
        )
        for pk in ids
        if pk in items
    ]

    # Case text: titles, resolutions and timeline messages, only of cases the user may see.
    text_docs = matching_documents((DocKind.CASE, DocKind.EVENT), tokens).filter(case_id__in=visible.values("pk"))
    results.case_text.count = _capped_count(text_docs.values("case_id").distinct())
    case_order: dict[int, tuple[str, int]] = {}
    for kind, object_id, case_id in text_docs.order_by("-at").values_list("kind", "object_id", "case_id")[:200]:
        if case_id not in case_order:
            case_order[case_id] = (kind, object_id)
        if len(case_order) >= SECTION_SIZE:
            break
    case_rows = Case.objects.in_bulk(list(case_order))
    events = CaseEvent.objects.in_bulk([oid for kind, oid in case_order.values() if kind == DocKind.EVENT])
    for case_id, (kind, object_id) in case_order.items():
        case = case_rows.get(case_id)
        if case is None:
            continue
        if kind == DocKind.EVENT and object_id in events:
            source = str(events[object_id].payload.get("text") or "")
        else:
            source = f"{case.title} {case.resolution}".strip()
        results.case_text.hits.append(
            Hit(
                url=reverse("cases:detail", args=[case.pk]),
                title=f"{case.number} {case.title}".strip(),
                snippet=highlight(source, tokens),
                at=case.updated_at,
                extra=case.get_status_display(),
            )
        )
    return results
