"""Needs and suggestions as phrases: "希望提供视频教程", "would be nice if it came with a charger"."""

from __future__ import annotations

import re

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_ZH = re.compile(
    r"((?:希望|建议|要是|如果能|能不能|能否|可不可以|可以考虑|最好能?|期待|盼望|请尽快|请务必|麻烦尽快)[^,.!?;，。！？；\n]{2,40})"
)
_EN = re.compile(
    r"((?:it )?would be (?:nice|great|good|better) if|i wish|please (?:add|make|provide|consider|fix|improve)|"
    r"(?:you )?should (?:add|make|provide|offer|have|improve)|i (?:would )?suggest|my suggestion is|"
    r"could you (?:please )?(?:add|make|provide)|it would help if|hope (?:you|they) (?:can|will))[^,.!?;\n]{2,80}",
    re.IGNORECASE,
)


def extract_needs(normalized: str) -> list[str]:
    out: list[str] = []
    for m in _ZH.finditer(normalized):
        phrase = m.group(1).strip()
        if phrase not in out:
            out.append(phrase)
    for m in _EN.finditer(normalized):
        phrase = m.group(0).strip()
        if phrase not in out:
            out.append(phrase)
    return out[:5]


@component("needs", requires=["normalized"], assigns=["needs"])
def needs(doc: FeedbackDoc) -> FeedbackDoc:
    doc.needs = extract_needs(doc.normalized)
    return doc
