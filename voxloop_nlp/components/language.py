"""Language identification by script and function words: zh, zh-Hant, en, other, or mixed (zh + en).

Cheap and deterministic on purpose: customer feedback is short, and a statistical detector over 75
languages costs over a gigabyte of memory for no gain on the languages the product serves.
"""

from __future__ import annotations

import re

from voxloop_nlp.doc import FeedbackDoc
from voxloop_nlp.registry import component

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")
_OTHER_SCRIPT = re.compile(r"[\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u0900-\u097f]")
_EN_WORDS = frozenset(
    "the a an and or but is are was were be been it this that i you we they he she my your our their not no "
    "to of in on for with at by from very so too can could would should will have has had do does did what "
    "why how when where please thanks thank good bad great service product order delivery refund app".split()
)


_NON_EN_WORDS = frozenset(
    "le la les des est et pas une je vous nous très el los las es muy por para pero con del der die das und ist "
    "nicht ich sie mit sehr il che non sono della com não uma para".split()
)
_DIACRITIC = re.compile(r"[àâäçéèêëîïôöùûüÿñãõßáíóúœ]")


def detect_language(original: str, normalized: str) -> str:
    han = len(_HAN.findall(original))
    if _KANA.search(original) and han < 4 * len(_KANA.findall(original)):
        return "other"
    if _HANGUL.search(original):
        return "other"
    words = [w.lower() for w in _LATIN_WORD.findall(original)]
    english = sum(1 for w in words if w in _EN_WORDS)
    if han:
        # Latin words that are brand names or units ("iPhone", "App") do not make a text mixed.
        if len(words) >= 3 and english >= 2 and len(" ".join(words)) >= han:
            return "mixed"
        changed = sum(1 for a, b in zip(original, normalized, strict=False) if a != b and _HAN.match(a))
        if len(original) == len(normalized) and changed >= max(1, han // 25):
            return "zh-Hant"
        return "zh"
    if _OTHER_SCRIPT.search(original):
        return "other"
    if not words:
        return "other"
    foreign = sum(1 for w in words if w in _NON_EN_WORDS) + len(_DIACRITIC.findall(original))
    # Latin text is English unless it reads as another Latin-script language.
    return "en" if english >= foreign else "other"


@component("language", requires=["normalized"], assigns=["language"])
def language(doc: FeedbackDoc) -> FeedbackDoc:
    doc.language = detect_language(doc.text, doc.normalized)
    return doc
