"""Keywords: content words by TF × inverse word frequency (from jieba's dictionary, already in memory:
jieba's separate IDF table would cost another ~130 MB per worker), with zh/en stoplists."""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache

from voxloop_nlp.components.segment import _jieba
from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

MAX_KEYWORDS = 6
_CONTENT = re.compile(r"^(?:[\u4e00-\u9fff]{2,}|[a-z][a-z'-]{2,})$")
EN_STOP = frozenset(
    "the and for are was were but not you your with this that have has had they them their there here from "
    "what when where which who why how all any can could would should will just very really too also than then "
    "been being its it's i'm i've don't didn't doesn't isn't wasn't won't can't our ours we us my me mine his her "
    "she he him about into out over only some such more most other again once does did doing get got one".split()
)
ZH_STOP = frozenset(
    "我们 你们 他们 这个 那个 就是 还是 但是 因为 所以 而且 然后 已经 可以 没有 一个 什么 自己 这样 那样 这里 那里 "
    "觉得 感觉 真的 非常 特别 比较 有点 还有 如果 虽然 不过 一下 一些 时候 现在 之后 以后 之前 的话 这么 那么 怎么 "
    "东西 知道 我要 你们的 我的 希望 请问 谢谢 不是 不会 不能 还是 一直 一次 几天 今天 昨天".split()
)


@lru_cache(maxsize=1)
def _frequencies() -> tuple[dict[str, int], float]:
    tokenizer = _jieba()
    return tokenizer.FREQ, math.log(tokenizer.total)


def _idf(word: str, freq: dict[str, int], log_total: float) -> float:
    # Words missing from the dictionary (English, new product names) count as rare: they are distinctive.
    return log_total - math.log(freq.get(word, 0) + 10)


def extract_keywords(tokens: list[str]) -> list[str]:
    freq, log_total = _frequencies()
    counts = Counter(t for t in tokens if _CONTENT.match(t) and t not in EN_STOP and t not in ZH_STOP)
    scored = sorted(counts.items(), key=lambda kv: (-kv[1] * _idf(kv[0], freq, log_total), kv[0]))
    return [w for w, _ in scored[:MAX_KEYWORDS]]


@component("keywords", requires=["tokens"], assigns=["keywords"])
def keywords(doc: FeedbackDoc) -> FeedbackDoc:
    doc.keywords = extract_keywords(doc.tokens)
    return doc
