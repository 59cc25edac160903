"""Cue matching over normalised text with negation and degree: shared by emotions, urgency and kind.

A cue found right after a negator ("不失望", "not disappointed") is negated; a degree word right before
it ("非常失望" vs "有点失望", "very happy") scales its intensity.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_ZH = re.compile(r"[\u4e00-\u9fff]")
ZH_NEGATORS = (
    "不是很",
    "不是",
    "不太",
    "不怎么",
    "不算",
    "一点也不",
    "一点都不",
    "并不",
    "毫不",
    "从不",
    "从来不",
    "没有",
    "没",
    "不",
    "别",
    "无",
    "未",
)
ZH_DEGREE = {
    "非常": 1.8,
    "特别": 1.8,
    "十分": 1.8,
    "极其": 2.0,
    "无比": 1.9,
    "超级": 1.8,
    "太": 1.6,
    "真的": 1.5,
    "相当": 1.6,
    "很": 1.4,
    "挺": 1.2,
    "巨": 1.8,
    "实在": 1.6,
    "好": 1.3,
    "超": 1.6,
    "最": 1.8,
    "极": 1.9,
    "有点": 0.6,
    "有些": 0.6,
    "稍微": 0.5,
    "略": 0.5,
    "有一点": 0.5,
    "一点": 0.6,
    "比较": 0.8,
}
EN_NEGATORS = frozenset(
    "not no never n't dont don't didn't doesn't isn't wasn't aren't won't can't cannot hardly".split()
)
EN_DEGREE = {
    "very": 1.6,
    "really": 1.5,
    "so": 1.5,
    "extremely": 1.9,
    "super": 1.7,
    "totally": 1.7,
    "absolutely": 1.8,
    "incredibly": 1.8,
    "too": 1.4,
    "most": 1.7,
    "deeply": 1.7,
    "somewhat": 0.6,
    "slightly": 0.5,
    "bit": 0.6,
    "little": 0.6,
    "kinda": 0.6,
    "fairly": 0.7,
    "rather": 0.8,
}
# Words that end in a negator's character but negate nothing: "特别失望" is very disappointed.
_ZH_NOT_NEGATION = ("特别", "无比", "分别", "区别", "差别", "个别", "级别", "类别", "识别", "告别")
_EN_WORD = re.compile(r"[a-z']+")
_ZH_DEGREE_LONGEST_FIRST = sorted(ZH_DEGREE.items(), key=lambda kv: -len(kv[0]))
_ZH_CLAUSE = re.compile(r"[,.!?;，。！？；\n]")
_SUFFIXES = ("es", "ed", "ing", "s", "d")


@dataclass(frozen=True)
class Hit:
    cue: str
    start: int
    negated: bool
    degree: float


def trie_pattern(words: Iterable[str]) -> str:
    """One regex for many literals, shaped as a trie: far faster than a flat alternation in `re`,
    and greedy, so the longest cue at a position wins."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        end = "" in node
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = (
            alts[0] if len(alts) == 1 and len(alts[0]) == len(re.escape(alts[0][:1])) else "(?:" + "|".join(alts) + ")"
        )
        return f"(?:{body})?" if end else body

    return build(trie)


class CueMatcher:
    def __init__(self, cues: Iterable[str]):
        self.cues = sorted({c.lower() for c in cues if c}, key=len, reverse=True)
        self._set = frozenset(self.cues)
        zh = [c for c in self.cues if _ZH.search(c) or not c[0].isalnum()]
        en = [c for c in self.cues if c not in set(zh)]
        parts = []
        if zh:
            parts.append(trie_pattern(zh))
        if en:
            # English cues match whole words (and their -s/-ed/-ing forms); Chinese cues anywhere.
            parts.append(rf"\b{trie_pattern(en)}(?:s|es|ed|d|ing)?\b")
        self._re = re.compile("|".join(parts)) if parts else None

    def occurs_in(self, lower: str) -> bool:
        """Whether any cue occurs at all: one regex search, for a cheap test before `find`."""
        return self._re is not None and self._re.search(lower) is not None

    def find(self, lower: str) -> list[Hit]:
        if self._re is None:
            return []
        hits = []
        for m in self._re.finditer(lower):
            token = m.group(0)
            cue = self._canonical(token)
            negated, degree = _context(lower, m.start(), zh=bool(_ZH.search(token)))
            hits.append(Hit(cue, m.start(), negated, degree))
        return hits

    def _canonical(self, token: str) -> str:
        if token in self._set:
            return token
        for suffix in _SUFFIXES:
            if token.endswith(suffix) and token[: -len(suffix)] in self._set:
                return token[: -len(suffix)]
        return token


def _context(lower: str, start: int, *, zh: bool) -> tuple[bool, float]:
    """Negation and degree from the few characters/words before a cue, within its clause."""
    if zh:
        before = lower[max(0, start - 6) : start]
        before = _ZH_CLAUSE.split(before)[-1]
        negated = False
        degree = 1.0
        # Look at what directly precedes: "不失望" / "非常失望" / "不是很失望" / "有点不满意".
        for neg in () if before.endswith(_ZH_NOT_NEGATION) else ZH_NEGATORS:
            if before.endswith(neg):
                negated = True
                before = before[: -len(neg)]
                break
        # Degree words, repeated ones included ("特别特别慢" is stronger than "特别慢", not negated by 别).
        for _ in range(3):
            for deg, val in _ZH_DEGREE_LONGEST_FIRST:
                if before.endswith(deg) or before.endswith(deg + "的"):
                    degree = val if degree == 1.0 else min(2.0, max(degree, val) * 1.1)
                    before = before[: -len(deg) - (0 if before.endswith(deg) else 1)]
                    break
            else:
                break
        if not negated and not before.endswith(_ZH_NOT_NEGATION):
            for neg in ZH_NEGATORS:
                if before.endswith(neg):
                    negated = True
                    break
        return negated, degree
    before = lower[max(0, start - 40) : start]
    before = re.split(r"[,.!?;\n]", before)[-1]
    words = _EN_WORD.findall(before)[-3:]
    negated = any(w in EN_NEGATORS or w.endswith("n't") for w in words)
    degree = 1.0
    for w in reversed(words):
        if w in EN_DEGREE:
            degree = EN_DEGREE[w]
            break
    return negated, degree
