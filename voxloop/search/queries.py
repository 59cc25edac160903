"""Searching the index: the word match per database, the top-bar results page and the inbox's text filter."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from voxloop.accounts import privacy
from voxloop.accounts.models import User
from voxloop.cases.models import Case, CaseEvent
from voxloop.cases.queries import visible_cases
from voxloop.feedback.models import Customer, Feedback
from voxloop.search.models import DocKind
from voxloop.search.text import digits_of, query_tokens
from voxloop_nlp.components.normalize import to_half_width, to_simplified

SECTION_SIZE = 20
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


def _window_match_sql(tokens: list[str], table: str) -> tuple[str, list[str]]:
    """The same test as ``_match_sql`` for the rows of a probe's window (a few thousand at most, no index to
    use). On PostgreSQL, building a tsvector per row to test it cost most of a probe's time; a body is its
    distinct words joined by single spaces, so a word is in it exactly when " word " is in " body "."""
    if connection.vendor != "postgresql":
        return _match_sql(tokens, table)
    padded = f"(' ' || {table}.body || ' ')"
    return " AND ".join([f"strpos({padded}, %s) > 0"] * len(tokens)), [f" {t} " for t in tokens]


def _rare(tokens: list[str]) -> bool:
    """Tokens a probe of the newest documents would not fill a page with: a long number (a phone, an order
    number) is in few documents, so the word index answers at once and a probe is a wasted read."""
    return any(t.isdigit() and len(t) >= 5 for t in tokens)


def _matches(kinds: tuple[str, ...], tokens: list[str], scope: QuerySet[Case] | None = None) -> tuple[str, list[Any]]:
    """A CTE ``m`` (kind, object_id, case_id, at) of the documents of ``kinds`` with every token; ``scope``:
    only documents of these cases. MATERIALIZED keeps the planner on the word index: otherwise it may walk
    the (kind, at) index newest first and test every row's words, fine for a common word and a full scan for
    a rare one."""
    where, params = _match_sql(tokens, "d")
    kind_where, kind_params = _kind_sql(kinds, "d")
    # Only constants and placeholders go into the SQL text (here and below).
    sql = f"SELECT d.kind, d.object_id, d.case_id, d.at FROM search_searchdocument d WHERE {kind_where} AND {where}"  # noqa: S608
    scope_where, scope_params = _scope_sql(scope, "d")
    return f"WITH m AS MATERIALIZED ({sql}{scope_where})", [*kind_params, *params, *scope_params]


# A common word matches a large share of the index: reading all its matches to pick the newest 20 (and count
# them) took 0.85 s at a million items. The newest WINDOW documents are tried first; when they hold a full
# page of matches, those are the newest overall, and the count is estimated from the share that matched.
WINDOW = 1_000
CASE_WINDOW = 5_000  # an agent sees a tenth of the cases, say: a larger window still holds a page
TOTALS_SECONDS = 600
_TOTALS: dict[str, tuple[int, float]] = {}  # key -> (total, monotonic expiry)


def _kind_sql(kinds: tuple[str, ...], table: str) -> tuple[str, list[Any]]:
    """The condition for documents of ``kinds``, written as the partial indexes of the migration are."""
    if set(kinds) == {DocKind.CASE, DocKind.EVENT}:
        return f"{table}.case_id IS NOT NULL", []
    return f"{table}.kind IN ({', '.join(['%s'] * len(kinds))})", list(kinds)


def _scope_sql(scope: QuerySet[Case] | None, table: str) -> tuple[str, list[Any]]:
    if scope is None:
        return "", []
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    return f" AND {table}.case_id IN ({scope_sql})", list(scope_params)


def _probe(
    kinds: tuple[str, ...], tokens: list[str], scope: QuerySet[Case] | None
) -> tuple[list[tuple[Any, ...]], int]:
    """(matches among the newest WINDOW documents of ``kinds``, newest first, as (kind, object_id, case_id);
    how many documents the window held)."""
    where, params = _window_match_sql(tokens, "w")
    kind_where, kind_params = _kind_sql(kinds, "d")
    scope_where, scope_params = _scope_sql(scope, "d")
    sql = (
        "WITH w AS MATERIALIZED (SELECT d.id, d.kind, d.object_id, d.case_id, d.at, d.body"  # noqa: S608
        f" FROM search_searchdocument d WHERE {kind_where}{scope_where} ORDER BY d.at DESC LIMIT %s)"
        f" SELECT w.kind, w.object_id, w.case_id, (SELECT count(*) FROM w) FROM w WHERE {where} ORDER BY w.at DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*kind_params, *scope_params, WINDOW, *params])
        rows = cursor.fetchall()
    return [row[:3] for row in rows], (rows[0][3] if rows else WINDOW)


def _total(kinds: tuple[str, ...], scope: QuerySet[Case] | None) -> int:
    """How many documents of ``kinds`` (in ``scope``) there are, remembered for a while: it only scales an
    estimate."""
    scope_where, scope_params = _scope_sql(scope, "d")
    kind_where, kind_params = _kind_sql(kinds, "d")
    sql = f"SELECT count(*) FROM search_searchdocument d WHERE {kind_where}{scope_where}"  # noqa: S608
    key = "search-total:" + hashlib.sha256(repr((sql, kind_params, scope_params)).encode()).hexdigest()
    # Kept in this process first: the shared cache is a database query of its own on a default install.
    now = time.monotonic()
    local = _TOTALS.get(key)
    if local is not None and local[1] > now:
        return local[0]
    total: int | None = cache.get(key)
    if total is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*kind_params, *scope_params])
            total = cursor.fetchone()[0]
        cache.set(key, total, TOTALS_SECONDS)
    if len(_TOTALS) > 1_000:
        _TOTALS.clear()
    _TOTALS[key] = (total, now + TOTALS_SECONDS)
    return total


def _estimate(found: int, window: int, kinds: tuple[str, ...], scope: QuerySet[Case] | None) -> int:
    return max(found, round(found / max(window, 1) * _total(kinds, scope)))


def _newest(kind: str, tokens: list[str]) -> tuple[int, list[int], bool]:
    """(how many documents of ``kind`` match, the object ids of the newest ``limit``, whether the count is
    an estimate)."""
    limit = SECTION_SIZE
    matches, window = _probe((kind,), tokens, None) if not _rare(tokens) else ([], 0)
    if len(matches) >= limit:
        return _estimate(len(matches), window, (kind,), None), [m[1] for m in matches[:limit]], True
    cte, params = _matches((kind,), tokens)
    with connection.cursor() as cursor:
        sql = f"{cte} SELECT object_id, (SELECT count(*) FROM m) FROM m ORDER BY at DESC LIMIT %s"  # noqa: S608
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    return (rows[0][1] if rows else 0), [row[0] for row in rows], False


def _visible_among(scope: QuerySet[Case], ids: set[int]) -> set[int]:
    """Which of ``ids`` (up to CASE_WINDOW of them) ``scope`` holds. On PostgreSQL the ids travel as one array
    parameter: as an IN list of a thousand placeholders, building, hashing, sending and planning the query cost
    more than running it."""
    if connection.vendor != "postgresql":
        return set(scope.order_by().filter(pk__in=ids).values_list("pk", flat=True))
    scope_sql, scope_params = scope.order_by().values("pk").query.sql_with_params()
    # Only the scope's own SQL (Django's) and placeholders go into the text.
    sql = f"SELECT v.pk FROM ({scope_sql}) v WHERE v.pk = ANY(%s)"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*scope_params, sorted(ids)])
        return {row[0] for row in cursor.fetchall()}


def _case_probe(tokens: list[str], scope: QuerySet[Case]) -> tuple[list[tuple[Any, ...]], int]:
    """Like _probe, for case text: the newest CASE_WINDOW case documents of all teams, each with whether it
    matches; the user's scope is then checked for those few cases by primary key. Joining the scope inside
    the query made PostgreSQL read every case document (0.2 s at 200k cases)."""
    where, params = _window_match_sql(tokens, "w")
    sql = (
        "WITH w AS MATERIALIZED (SELECT d.id, d.kind, d.object_id, d.case_id, d.at, d.body"  # noqa: S608
        " FROM search_searchdocument d WHERE d.case_id IS NOT NULL ORDER BY d.at DESC LIMIT %s)"
        f" SELECT w.kind, w.object_id, w.case_id, CASE WHEN {where} THEN 1 ELSE 0 END FROM w ORDER BY w.at DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [CASE_WINDOW, *params])
        rows = cursor.fetchall()
    candidates = {row[2] for row in rows if row[3]}
    visible = _visible_among(scope, candidates) if candidates else set()
    matches = [row[:3] for row in rows if row[3] and row[2] in visible]
    # The estimate scales by all case documents: the window's share already reflects the user's scope.
    return matches, (len(rows) or CASE_WINDOW)


def _newest_cases(tokens: list[str], scope: QuerySet[Case]) -> tuple[int, dict[int, tuple[str, int]], bool]:
    """(how many cases in ``scope`` match by title, resolution or a message; for the newest ``limit`` of them
    the newest matching document as {case_id: (kind, object_id)}; whether the count is an estimate)."""
    kinds, limit = (DocKind.CASE, DocKind.EVENT), SECTION_SIZE
    matches, window = _case_probe(tokens, scope) if not _rare(tokens) else ([], 0)
    found: dict[int, tuple[str, int]] = {}
    for kind, object_id, case_id in matches:
        found.setdefault(case_id, (kind, object_id))
    if len(found) >= limit:
        newest = dict(list(found.items())[:limit])
        return _estimate(len(found), window, kinds, None), newest, True
    cte, params = _matches(kinds, tokens, scope)
    sql = (
        f"{cte}, top AS (SELECT case_id, max(at) AS last FROM m GROUP BY case_id ORDER BY last DESC LIMIT %s)"  # noqa: S608
        " SELECT m.kind, m.object_id, m.case_id, (SELECT count(DISTINCT case_id) FROM m)"
        " FROM m JOIN top ON top.case_id = m.case_id ORDER BY top.last DESC, m.at DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        rows = cursor.fetchall()
    found = {}
    for kind, object_id, case_id, _count in rows:
        found.setdefault(case_id, (kind, object_id))
    return (rows[0][3] if rows else 0), found, False


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


def case_text_filter(cases: QuerySet[Case], q: str) -> QuerySet[Case]:
    """The case inbox's search box: the case with this number, or the cases whose number, title or resolution
    holds every word of ``q`` (the inbox's other filters and its user's scope stay as they are)."""
    number = q.strip().upper()
    tokens = query_tokens(q)
    match = Q(number=number) if number else Q()
    if tokens:
        match |= Q(pk__in=_object_ids_sql(DocKind.CASE, tokens))
    return cases.filter(match) if number or tokens else cases.none()


# --- highlighting --------------------------------------------------------------------------------------

INBOX_SNIPPET_CHARS = 140  # the inbox row's excerpt, as long as its unmarked one


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


def highlight_query(text: str, q: str) -> SafeString:
    """``highlight`` for a query as typed (the feedback inbox's rows)."""
    return highlight(text, query_tokens(q), INBOX_SNIPPET_CHARS)


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
    approximate: bool = False  # estimated from the newest matches (a common word)


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

    @property
    def approximate(self) -> bool:
        return any(s.approximate for s in self.sections)


def _mask(value: str, user: User) -> str:
    masked: str = privacy.contact_for(value, user)
    return masked


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


def national_number(digits: str) -> str:
    """A Chinese mobile number without its country code ("8613800138000" -> "13800138000"), as texts write it."""
    for prefix in ("0086", "86"):
        rest = digits[len(prefix) :]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits


def find_customers(q: str, tokens: list[str]) -> tuple[list[Customer], int, bool]:
    digits = digits_of(q)
    if digits:
        # A phone number: an exact lookup on the normalised digits (the customer_phone btree index).
        found = Customer.objects.filter(phone__in=phone_variants(digits))
        return list(found.order_by("-updated_at")[:SECTION_SIZE]), found.count(), False
    exact = list(Customer.objects.filter(email__iexact=q.strip())[:1]) if "@" in q else []
    if not tokens:
        return exact, len(exact), False
    count, ids, approximate = _newest(DocKind.CUSTOMER, tokens)
    by_id = Customer.objects.in_bulk(ids)
    customers = exact + [by_id[i] for i in ids if i in by_id and all(c.pk != i for c in exact)]
    return customers, max(count, len(customers)), approximate


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
    digits = digits_of(q)
    if digits:
        # A phone typed with spaces or +86 is one number: the texts are searched for it as they write it
        # ("138 0013 8000" finds "13800138000"), not for its pieces, which no text holds as words.
        tokens = [national_number(digits)]
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

    customers, results.customers.count, results.customers.approximate = find_customers(q, tokens)
    results.customers.hits = [_customer_hit(c, user, tokens) for c in customers]

    if not tokens:
        return results

    results.feedback.count, ids, results.feedback.approximate = _newest(DocKind.FEEDBACK, tokens)
    items = Feedback.objects.in_bulk(ids)
    # The channel's name for untitled items, looked up once: get_channel_display() rebuilds the whole choice
    # table, translating every label, on each call (a fifth of the page's Python time for 20 untitled items).
    channels = dict(Feedback._meta.get_field("channel").flatchoices)
    results.feedback.hits = [
        Hit(
            url=reverse("feedback:detail", args=[pk]),
            title=items[pk].title or str(channels.get(items[pk].channel, items[pk].channel)),
            snippet=highlight(f"{items[pk].title} {items[pk].text}".strip(), tokens),
            at=items[pk].received_at,
        )
        for pk in ids
        if pk in items
    ]

    # Case text: titles, resolutions and timeline messages, only of cases the user may see.
    results.case_text.count, case_order, results.case_text.approximate = _newest_cases(tokens, visible)
    case_rows = Case.objects.in_bulk(list(case_order))
    events = CaseEvent.objects.in_bulk([oid for kind, oid in case_order.values() if kind == DocKind.EVENT])
    statuses = dict(Case._meta.get_field("status").flatchoices)  # as the channels above
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
                extra=str(statuses.get(case.status, case.status)),
            )
        )
    return results
