"""No raw code, `None` or wrong-language word reaches a person: every page, both languages, every role, demo data.

One test loads a compact demo (the real generators and loop, fewer items), then, for each demo login and each
language, follows every link of the product from its home page (one page per URL shape: /cases/12/ and
/cases/13/ are the same page) and reads what a person sees: text, button labels, placeholders, titles, and the
headers of every export. It fails on codes shown as they are stored (`account.login`, `no_address`, `zh-hans`,
`cases.case #12`), on `None`, on English words in the Chinese pages and on Chinese in the English pages, that
are not the data itself (a customer's English message is not an untranslated label).
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections import Counter, deque
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit

import openpyxl
import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.test import Client

from voxloop.accounts.models import User

pytestmark = [pytest.mark.django_db(transaction=False), pytest.mark.xdist_group("demo-sweep"), pytest.mark.slow]

ROLES = ["admin", "manager", "agent", "analyst"]
LANGUAGES = ["zh-hans", "en"]
# Not pages a person reads: the API, Django's own admin (its translations are Django's), logging out, the
# language switch, and server-sent streams.
SKIP_PREFIXES = ("/api/", "/admin/", "/accounts/logout", "/i18n/", "/static/", "/media/", "/notifications/stream")
VIEW_KEYS = {"tab", "kind", "view", "format", "export", "by", "dimension", "mode", "status", "step", "table", "chart"}
PAGE_LIMIT = 400
INSTANCES = 3  # detail pages read per URL shape, for the first login (the others read one of each)
TIMES: dict[str, float] = {}  # per login and language; the product has far fewer page shapes

# Words that are the same in both languages: the product's name, standard abbreviations, file formats.
ALLOWED_LATIN = {
    "voxloop", "csat", "nps", "ces", "api", "csv", "excel", "xlsx", "json", "sla", "url", "id", "imap", "smtp",
    "http", "https", "pop3", "ip", "utf", "gbk", "gb18030", "ok", "kpi", "faq", "vip", "top", "sku", "webhook",
    "webhooks", "hmac", "sha256", "token", "email", "e", "mail", "pdf", "html", "ssl", "tls", "starttls", "app",
    "ai", "nlp", "bert", "onnx", "cpu", "gpu", "tsv", "jsonl", "xls", "so", "c", "min", "max", "p",
    "am", "pm", "h", "d", "s", "ms", "x", "n", "q", "r", "a", "b", "vs", "tf", "idf", "bm25", "lda", "nmf",
    "utc", "gmt", "rfc", "iso", "dkim", "spf", "mime", "pii",
}  # fmt: skip
IDENTIFIER = re.compile(r"^[a-z0-9_.\-]+$")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
# Shapes of stored codes: snake_case words, dotted codes (topic account.login, model cases.case), language tags.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")
DOTTED = re.compile(r"\b[a-z]+\.[a-z_]+\b")
LANG_TAG = re.compile(r"\bzh-hans\b|\bzh-hant\b", re.I)
NONE = re.compile(r"\bNone\b(?!\s+[a-z])")  # Python's None; "None offered." is English
COMMAND = re.compile(r"\bvoxloop [a-z_]+")  # a command the operator types, e.g. "voxloop rebuild_rollups"
BRACED = re.compile(r"\{[a-z_]+\}")  # template variables a person types in a canned reply: {customer_name}
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|local|org|net|cn|txt|csv|xlsx|json)\b")


class _Reader(HTMLParser):
    """The text a person sees or hears: text nodes and the labelling attributes, not scripts or styles.

    An element marked translate="no" holds data as received (an imported record's original fields): it is not
    read. One marked with its own lang (the language menu's "English" / "简体中文") is not held to the page's
    language.
    """

    LABEL_ATTRS = ("title", "placeholder", "aria-label", "alt")
    HIDDEN = ("script", "style", "template", "textarea")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.marked: list[list] = []  # [tag, depth, kind] of the marked elements we are inside
        self.chunks: list[tuple[str, bool]] = []  # (text, held to the page's language)
        self.links: list[str] = []

    def _own_language(self) -> bool:
        return not any(kind == "lang" for _, _, kind in self.marked)

    def _reading(self) -> bool:
        return not self.skip and not any(kind == "data" for _, _, kind in self.marked)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self.skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for mark in self.marked:
            if mark[0] == tag:
                mark[1] += 1
        if attrs.get("translate") == "no":
            self.marked.append([tag, 1, "data"])
        elif attrs.get("lang"):
            self.marked.append([tag, 1, "lang"])
        if not self._reading():
            return
        for name in self.LABEL_ATTRS:
            if attrs.get(name):
                self.chunks.append((attrs[name], self._own_language()))
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.chunks.append((attrs["value"], self._own_language()))

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.skip:
            self.skip -= 1
        for mark in list(self.marked):
            if mark[0] == tag:
                mark[1] -= 1
                if mark[1] == 0:
                    self.marked.remove(mark)

    def handle_data(self, data):
        if self._reading() and data.strip():
            self.chunks.append((data.strip(), self._own_language()))


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _data_text(*, with_json: bool) -> str:
    """Everything people typed or imported (messages, names, survey questions, notes): allowed in any language.

    Names with a translation beside them (`name` and `name_en`) are left out: those must follow the page's language.
    """
    parts: list[str] = []
    for model in apps.get_models():
        if model._meta.app_label in ("auth", "admin", "contenttypes", "sessions", "django_celery_beat", "axes"):
            continue
        names = {f.name for f in model._meta.concrete_fields}
        fields = [
            f.name
            for f in model._meta.concrete_fields
            if (isinstance(f, (models.CharField, models.TextField)) or (with_json and isinstance(f, models.JSONField)))
            and not f.choices
            and f"{f.name}_en" not in names
            and not f.name.endswith("_en")
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields)[:5000]:
            # A lone identifier (a topic code, a status) is a code, not typed text: it must not excuse itself.
            parts.extend(s for v in row for s in _strings(v) if s and not IDENTIFIER.match(s))
    return "\n".join(parts)


def _shape(url: str) -> str:
    """One visit per page shape: ids become N, and query values are ignored (one filter value stands for all)."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=/|$)", "/N", parts.path)
    path = re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}(?=/|$)", "/U", path)
    path = re.sub(r"/[A-Za-z0-9_-]{20,}(?=/|$)", "/T", path)
    # Values that pick another view of the page count; the rest (filters, cursors, search words) do not.
    picked = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k in VIEW_KEYS)
    return path + ("?" + urlencode(picked) if picked else "")


def _problems(text: str, language: str, data: str, typed: str, data_words: set[str]) -> list[str]:
    found = []
    clean = COMMAND.sub(" ", BRACED.sub(" ", EMAIL_OR_URL.sub(" ", text))).replace("e.g.", " ").replace("i.e.", " ")
    if NONE.search(clean):
        found.append("None")
    for pattern in (SNAKE, DOTTED, LANG_TAG):
        for match in pattern.findall(clean):
            if match not in data:
                found.append(f"code {match!r}")
    if re.search(r"\b[a-z]+\.[a-z]+ #\d+", clean):
        found.append("model reference like 'cases.case #1'")
    if language == "zh-hans":
        for word in LATIN_WORD.findall(clean):
            if word.lower() not in ALLOWED_LATIN and word.lower() not in data_words:
                found.append(f"English {word!r}")
    elif language == "en":
        for run in CJK.findall(clean):
            if run not in typed:
                found.append(f"Chinese {run!r}")
    return found


def _export_text(response) -> str | None:
    """The header row (and first rows) of a CSV or Excel export, as a person opening the file reads it."""
    kind = response.get("Content-Type", "")
    if "csv" in kind:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig", errors="replace"))))[:4]
        return "\n".join(" | ".join(r) for r in rows)
    if "spreadsheet" in kind:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        lines = []
        for sheet in book.worksheets:
            lines.append(sheet.title)
            for row in sheet.iter_rows(max_row=4, values_only=True):
                lines.append(" | ".join("" if v is None else str(v) for v in row))
        return "\n".join(lines)
    return None


def _sweep(client: Client, language: str, data: str, typed: str, data_words: set[str], *, first: bool,
           exports: bool) -> tuple[dict[str, list[str]], int]:  # fmt: skip
    """Every page shape once; detail pages a few times on the first sweep; the exports in each language once."""
    seen: Counter[str] = Counter()
    queue = deque(["/"])
    report: dict[str, list[str]] = {}
    visited = 0
    while queue and visited < PAGE_LIMIT:
        url = queue.popleft()
        shape = _shape(url)
        # Detail pages differ by their data (a resolved case shows its root cause, an open one its clock): a few of
        # each are read.
        if seen[shape] >= (INSTANCES if first and "/N" in shape else 1):
            continue
        if not first and "export" in url and not exports:
            continue
        seen[shape] += 1
        response = client.get(url, follow=True)
        visited += 1
        if response.status_code >= 500:
            report[url] = [f"status {response.status_code}"]
            continue
        exported = _export_text(response)
        if exported is not None:
            # A document with a language of its own (an archived zh report downloaded from the English interface)
            # is read in that language; everything else in the reader's.
            written_in = response.get("Content-Language") or language
            problems = _problems(exported, written_in, data, typed, data_words)
        elif "html" in response.get("Content-Type", ""):
            reader = _Reader()
            reader.feed(response.content.decode())
            problems = []
            for chunk, held in reader.chunks:
                found = _problems(chunk, language if held else "", data, typed, data_words)
                problems.extend(f"{p} in {chunk[:80]!r}" for p in found)
            base = response.request["PATH_INFO"]
            for href in reader.links:
                parts = urlsplit(href)
                if parts.scheme or parts.netloc or href.startswith(("#", "mailto:", "javascript:")):
                    continue
                path = parts.path if parts.path.startswith("/") else base.rsplit("/", 1)[0] + "/" + parts.path
                if path.startswith(SKIP_PREFIXES):
                    continue
                queue.append(path + (f"?{parts.query}" if parts.query else ""))
        else:
            continue
        if problems:
            report[url] = sorted(set(problems))
    return report, visited


def test_every_page_reads_in_the_persons_language_without_codes():
    started = time.monotonic()
    call_command("load_demo", "--items", "120", "--days", "60", verbosity=0)
    # Codes are looked for outside the typed text only; JSON (tags, notes' details) counts as data for languages.
    data = _data_text(with_json=False)
    typed = _data_text(with_json=True)
    data_words = {w.lower() for w in LATIN_WORD.findall(typed)}
    failures: dict[str, list[str]] = {}
    pages = 0
    for username in ROLES:
        user = User.objects.get(username=username)
        for language in LANGUAGES:
            client = Client()
            client.force_login(user)
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
            report, visited = _sweep(
                client,
                language,
                data,
                typed,
                data_words,
                first=username == ROLES[0] and language == LANGUAGES[0],
                exports=username == ROLES[0],
            )
            pages += visited
            for url, problems in report.items():
                failures[f"{username} {language} {url}"] = problems
    print(f"{pages} pages in {time.monotonic() - started:.0f} s")
    assert pages > 100, pages
    assert not failures, "\n".join(f"{where}: {'; '.join(p[:6])}" for where, p in sorted(failures.items()))
