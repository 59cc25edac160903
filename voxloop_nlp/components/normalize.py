"""Normalisation: full-width → half-width, Traditional → Simplified (for analysis only), whitespace.

The original text is kept on the doc; emoji are kept as signal.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

import opencc

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_SPACE = re.compile(r"[ \t\u3000\u00a0]+")
_LINES = re.compile(r"\s*\n\s*")
# Full-width ASCII block (！ to ～) maps onto ASCII by a fixed offset; keep Chinese punctuation as is.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_ZERO_WIDTH = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)


@lru_cache(maxsize=1)
def _t2s() -> Any:
    return opencc.OpenCC("t2s")


def to_half_width(text: str) -> str:
    return text.translate(_FULLWIDTH)


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = to_half_width(text)
    text = _LINES.sub("\n", _SPACE.sub(" ", text)).strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        text = to_simplified(text)
    return text


@component("normalize", assigns=["normalized"])
def normalize(doc: FeedbackDoc) -> FeedbackDoc:
    doc.normalized = normalize_text(doc.text)
    doc.lower = doc.normalized.lower()
    return doc
