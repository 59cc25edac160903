"""Word segmentation as a swappable strategy: jieba by default, character bigrams as a light fallback."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import Any

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9']+(?:[.-][a-z0-9']+)*|[^\sa-z0-9\u4e00-\u9fff]")
_EN_TOKEN = re.compile(r"[a-z0-9']+(?:[.-][a-z0-9']+)*|[^\sa-z0-9]")


class Segmenter(StrEnum):
    JIEBA = "jieba"
    BIGRAM = "bigram"


@lru_cache(maxsize=1)
def _jieba() -> Any:
    # imported here: jieba takes about 0.3 s to import; a process pays for it when it first segments
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _jieba_cut(text: str) -> list[str]:
    return [t for t in _jieba().lcut(text) if not t.isspace()]


def _bigram_cut(text: str) -> list[str]:
    out: list[str] = []
    for run in _HAN_RUN.findall(text):
        if "\u4e00" <= run[0] <= "\u9fff" and len(run) > 1:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def english_tokens(text: str) -> list[str]:
    return _EN_TOKEN.findall(text)


_STRATEGIES: dict[str, Callable[[str], list[str]]] = {Segmenter.JIEBA: _jieba_cut, Segmenter.BIGRAM: _bigram_cut}
_current = os.environ.get("VOXLOOP_SEGMENTER", Segmenter.JIEBA)


def set_segmenter(name: str) -> None:
    global _current
    if name not in _STRATEGIES:
        raise ValueError(f"Unknown segmenter '{name}'; choose one of {', '.join(_STRATEGIES)}.")
    _current = Segmenter(name)


def tokenize(lower_text: str) -> list[str]:
    """Tokens of lower-cased, normalised text: segmenter for Chinese, a regex for everything else."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in lower_text):
        return _STRATEGIES[_current](lower_text)
    return english_tokens(lower_text)


@component("segment", requires=["normalized"], assigns=["tokens"])
def segment(doc: FeedbackDoc) -> FeedbackDoc:
    doc.tokens = tokenize(doc.lower)
    return doc
