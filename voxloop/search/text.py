"""The one tokenizer of the search index, used for stored text and for queries alike, so both agree.

Text is normalised the way the analysis pipeline does it (voxloop_nlp: NFC, full-width → half-width,
Traditional → Simplified), lower-cased, segmented into words by jieba, and English words are stemmed
(Snowball), so "賬單" finds "账单", "配网失败" finds "App配网总是失败" and "billing" finds "billed".
The tokens are plain words joined by spaces: SQLite's FTS5 and PostgreSQL's tsvector then only split on
the spaces, and neither vendor's own parser decides what a word is.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import _jieba

# Word characters only: punctuation, e-mail "@" and dots separate words on both sides alike.
_WORD = re.compile(r"\w+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_ASCII_WORD = re.compile(r"[a-z]+")
_DIGITS = re.compile(r"\d")
# A bound on what one document contributes: a pasted log or e-mail thread must not bloat the index.
MAX_TOKENS = 2_000


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word) if _ASCII_WORD.fullmatch(word) else word


def _words(text: str, for_query: bool) -> list[str]:
    tokenizer = _jieba()
    # Without HMM, jieba keeps to its dictionary, so the same words segment the same way wherever they
    # stand; the stored side also gets the shorter words inside long ones ("手机号" -> "手机", "手机号").
    if for_query:
        words: list[str] = tokenizer.lcut(text, HMM=False)  # jieba ships no types
        return words
    return list(tokenizer.cut_for_search(text, HMM=False))


def _merge_single_han(words: list[str]) -> list[str]:
    """Words jieba does not know come out as single characters ("配网" -> "配", "网"); a run of them
    becomes its character pairs, so a query for the unknown word matches it as a word, not as two
    very common characters anywhere in the text."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) == 1:
            out.append(run[0])
        else:
            out.extend(run[i] + run[i + 1] for i in range(len(run) - 1))
        run.clear()

    for word in words:
        if len(word) == 1 and _HAN.match(word):
            run.append(word)
            continue
        if run:
            flush()
        out.append(word)
    if run:
        flush()
    return out


def tokenize(text: str, *, for_query: bool = False) -> list[str]:
    if not text:
        return []
    normal = normalize_text(text).lower()
    words = [w for chunk in _words(normal, for_query) for w in _WORD.findall(chunk)]
    return [_stem(w) for w in _merge_single_han(words)][:MAX_TOKENS]


def index_body(*texts: str) -> str:
    """The stored form of a document: its distinct tokens, space-separated (order does not matter: the
    search is by words, not by phrases)."""
    seen: dict[str, None] = {}
    for text in texts:
        for token in tokenize(text):
            seen.setdefault(token, None)
    return " ".join(seen)[:100_000]


def query_tokens(q: str) -> list[str]:
    """Distinct query words, at most eight; single Chinese characters are dropped when the query has
    longer words (they are mostly particles such as "的" or "了" that would only narrow by accident)."""
    tokens = list(dict.fromkeys(tokenize(q, for_query=True)))
    longer = [t for t in tokens if not (len(t) == 1 and _HAN.match(t))]
    return (longer or tokens)[:8]


def digits_of(q: str) -> str:
    """The digits of a phone-like query ("+86 138-0013-8000" -> "8613800138000"), or "" if it is not one."""
    stripped = q.strip()
    if not stripped or not re.fullmatch(r"[+\d\s()\-.]+", stripped):
        return ""
    digits = "".join(_DIGITS.findall(stripped))
    return digits if len(digits) >= 5 else ""
